"""Built-in config text: what `logwatch replay` decides with when it is given no -c.

Plain text, no import of the config package: replay reads it before that
package is loaded (``headstart``).
"""

# SPEC: without -c, replay alerts on every traceback and every ERROR/CRITICAL record.
DEFAULT_REPLAY_YAML = """\
rules:
  - name: traceback
    match: {traceback: true}
    notify: [console]
  - name: error
    match: {level: [ERROR, CRITICAL]}
    notify: [console]
notifiers:
  console: {type: console}
"""
