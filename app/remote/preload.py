"""The network clients, imported on two threads at once, for a command that is about to reach servers.

Such a command imports asyncssh and aiohttp (through aiodocker); at one host they are about a third of a
command-line deploy's time. aiohttp builds two SSL contexts as it is imported, and parsing the system's CA
certificates for them releases the GIL, so aiohttp is imported on a second thread while this one imports
asyncssh and the engine (the README's Speed section has what it saved).
"""

from __future__ import annotations

import contextlib
import threading


def _import_aiohttp() -> None:
    with contextlib.suppress(Exception):  # the main thread's own import of it reports a failure
        import aiohttp  # noqa: F401


def preload_network_clients() -> None:
    """Start importing aiohttp on a second thread and import asyncssh on this one. The thread is not a
    daemon: a command that ends early waits for the import rather than leaving it half done at exit."""
    threading.Thread(target=_import_aiohttp, name="shipdeck-import-aiohttp").start()
    import asyncssh  # noqa: F401
