"""The SSL context of the shared HTTP client, its CA certificates read when first needed.

httpx's default context (``verify=True``) parses certifi's whole bundle, over
a hundred certificates and ~1.4 MiB of resident memory, when the client is
built. A daemon whose notifiers post only to http:// endpoints never makes a
TLS handshake, so this context reads the same certificates (the same choice of
file as httpx: ``SSL_CERT_FILE``, ``SSL_CERT_DIR``, else certifi) just before
its first one. Every other setting is that of httpx's own context;
tests/test_notifier_http.py compares the two.
"""

from __future__ import annotations

import os
import socket
import ssl
import sys
import threading
from pathlib import Path


class DeferredTrustContext(ssl.SSLContext):
    """A client context that verifies peers, loading its CA certificates at the first wrap."""

    _trust_lock: threading.Lock
    _trust_from: tuple[str | None, str | None] | None  # (cafile, capath); None once loaded

    def trust_now(self) -> None:
        """Load the CA certificates if not yet done; each TLS connection does it first."""
        with self._trust_lock:
            if self._trust_from is None:
                return
            cafile, capath = self._trust_from
            self.load_verify_locations(cafile=cafile, capath=capath)
            self._trust_from = None

    def wrap_socket(
        self,
        sock: socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLSocket:
        self.trust_now()
        return super().wrap_socket(
            sock,
            server_side=server_side,
            do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs,
            server_hostname=server_hostname,
            session=session,
        )

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        self.trust_now()
        return super().wrap_bio(
            incoming,
            outgoing,
            server_side=server_side,
            server_hostname=server_hostname,
            session=session,
        )


def trust_locations() -> tuple[str | None, str | None]:
    """(cafile, capath) as httpx picks them for ``verify=True`` with ``trust_env``."""
    if os.environ.get("SSL_CERT_FILE"):
        return os.environ["SSL_CERT_FILE"], None
    if os.environ.get("SSL_CERT_DIR"):
        return None, os.environ["SSL_CERT_DIR"]
    import certifi

    return certifi.where(), None


def deferred_trust_context() -> DeferredTrustContext:
    """What ``ssl.create_default_context()`` builds for a client, minus the certificates."""
    context = DeferredTrustContext(ssl.PROTOCOL_TLS_CLIENT)
    context._trust_lock = threading.Lock()
    # read now, as httpx reads SSL_CERT_FILE and SSL_CERT_DIR when the client is built
    context._trust_from = trust_locations()
    cafile = context._trust_from[0]
    if cafile is not None and not Path(cafile).is_file():
        # a missing bundle fails here, at start-up, with the error httpx gave
        context.trust_now()
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment:  # as create_default_context does
        context.keylog_filename = keylog
    return context
