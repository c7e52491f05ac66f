"""What the host allows the tailer: which log directories inotify can see, and its limits.

Read once at start. /proc/self/mountinfo says which filesystem holds each log
directory: inotify reports nothing that another NFS or SMB client writes, so
those directories are polled. /proc/sys/fs/inotify/* and RLIMIT_NOFILE say
how many directories we may watch and files we may hold open. Parsing and
deciding are pure; ``read_host`` is the only part that reads /proc.
"""

from __future__ import annotations

import re
import resource
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# nfs* too (nfs, nfs4), except the nfsd control filesystem
NETWORK_FSTYPES = frozenset({"cifs", "smb3", "fuse.sshfs", "9p"})
# descriptors besides log files: stdio, the store (db, wal, shm), notifier
# sockets, the inotify instance, rotated files still being drained
FD_RESERVE = 64
SUGGESTED_NOFILE = 65536  # what systemd/logwatch.service sets

_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True, slots=True)
class Mount:
    point: str
    fstype: str


@dataclass(frozen=True, slots=True)
class HostFacts:
    """None: unknown (not Linux, or /proc unreadable), so nothing is checked."""

    mounts: tuple[Mount, ...] = ()
    max_user_watches: int | None = None
    max_user_instances: int | None = None
    open_files: int | None = None  # the soft RLIMIT_NOFILE


def parse_mountinfo(text: str) -> tuple[Mount, ...]:
    """Mount points and filesystem types from /proc/self/mountinfo (see proc(5)).

    ``36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw``: the
    fifth field is the mount point (octal escapes for space, tab, newline and
    backslash); optional fields end at ``-``, which the type follows.
    """
    mounts = []
    for line in text.splitlines():
        fields = line.split(" ")
        try:
            separator = fields.index("-", 6)
        except ValueError:
            continue  # not a mountinfo line
        if separator + 1 < len(fields) and fields[separator + 1]:
            point = _ESCAPE.sub(lambda m: chr(int(m[1], 8)), fields[4])
            mounts.append(Mount(point, fields[separator + 1]))
    return tuple(mounts)


def filesystem_of(path: str, mounts: Sequence[Mount]) -> str | None:
    """The type of the filesystem that holds ``path`` (absolute, symlinks resolved)."""
    best: Mount | None = None
    for mount in mounts:
        inside = path == mount.point or path.startswith(mount.point.rstrip("/") + "/")
        # >=: a later mount on the same point hides the earlier one
        if inside and (best is None or len(mount.point) >= len(best.point)):
            best = mount
    return None if best is None else best.fstype


def is_network(fstype: str | None) -> bool:
    """Does inotify miss changes to this filesystem made elsewhere?"""
    if fstype is None:
        return False
    return (fstype.startswith("nfs") and fstype != "nfsd") or fstype in NETWORK_FSTYPES


def network_filesystem(directory: str, mounts: Sequence[Mount]) -> str | None:
    """The filesystem type if ``directory`` is on a network filesystem, else None."""
    fstype = filesystem_of(str(Path(directory).resolve()), mounts)
    return fstype if is_network(fstype) else None


def limit_warnings(facts: HostFacts, *, dirs: int, files: int) -> list[str]:
    """What is too low for ``dirs`` watched directories and ``files`` open logs, with the fix."""
    warnings = []
    if facts.max_user_instances is not None and facts.max_user_instances < 1:
        warnings.append(
            f"fs.inotify.max_user_instances is {facts.max_user_instances}: no directory can "
            "be watched, all are polled every tick; raise it with "
            "`sysctl fs.inotify.max_user_instances=128` (persist it in /etc/sysctl.d/)"
        )
    if facts.max_user_watches is not None and facts.max_user_watches < dirs:
        warnings.append(
            f"fs.inotify.max_user_watches is {facts.max_user_watches} but the globs need "
            f"{dirs} directories watched (more if other programs of this user watch files); "
            f"the rest are polled every tick; raise it with "
            f"`sysctl fs.inotify.max_user_watches={max(2 * dirs, 65536)}` "
            "(persist it in /etc/sysctl.d/)"
        )
    needed = files + FD_RESERVE
    if facts.open_files is not None and facts.open_files < needed:
        warnings.append(
            f"the open-file limit is {facts.open_files} but the globs match {files} files "
            f"(about {needed} descriptors with the rest); files past it wait until quiet "
            "ones give theirs back; "
            f"raise it with LimitNOFILE={max(needed, SUGGESTED_NOFILE)} in the systemd unit "
            "(ulimit -n in a shell)"
        )
    return warnings


def _read_text(path: str) -> str:
    return Path(path).read_text(encoding="utf-8", errors="surrogateescape")


def _open_files() -> int | None:
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


def read_host(
    read_text: Callable[[str], str] = _read_text,
    open_files: Callable[[], int | None] = _open_files,
) -> HostFacts:
    """Read the mount table and the limits; what cannot be read stays unknown."""

    def number(path: str) -> int | None:
        try:
            return int(read_text(path).strip())
        except (OSError, ValueError):
            return None

    try:
        mounts = parse_mountinfo(read_text("/proc/self/mountinfo"))
    except OSError:
        mounts = ()
    return HostFacts(
        mounts=mounts,
        max_user_watches=number("/proc/sys/fs/inotify/max_user_watches"),
        max_user_instances=number("/proc/sys/fs/inotify/max_user_instances"),
        open_files=open_files(),
    )
