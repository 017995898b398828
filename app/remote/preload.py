"""The network clients, imported on two threads at once, for a command that is about to reach servers.

Such a command imports asyncssh and aiohttp (through aiodocker); at one host they are about a third of a
command-line deploy's time. aiohttp builds two SSL contexts as it is imported, and parsing the system's CA
certificates for them releases the GIL, so aiohttp is imported on a second thread while this one imports
asyncssh and the engine (the README's Speed section has what it saved).
"""

from __future__ import annotations

import contextlib
import ctypes.util
import functools
import glob
import os
import sysconfig
import threading
from pathlib import Path


def _import_aiohttp() -> None:
    with contextlib.suppress(Exception):  # the main thread's own import of it reports a failure
        import aiohttp  # noqa: F401


# Where the dynamic loader looks for a library named without a path, besides LD_LIBRARY_PATH and its cache.
_LOADER_DIRECTORIES = ("/lib", "/usr/lib", "/lib64", "/usr/lib64")
_OQS_NAMES = ("oqs", "liboqs")


@functools.cache
def _loader_may_find(library: str) -> bool:
    """False only when the dynamic loader surely cannot load `library` (e.g. "liboqs"): no `library.so*`
    in its cache, on LD_LIBRARY_PATH or in its default directories. True when unsure."""
    try:
        if f"{library}.so".encode() in Path("/etc/ld.so.cache").read_bytes():
            return True
    except OSError:
        return True
    directories = [*os.environ.get("LD_LIBRARY_PATH", "").split(":"), *_LOADER_DIRECTORIES]
    multiarch = sysconfig.get_config_var("MULTIARCH")
    if multiarch:
        directories += [f"/lib/{multiarch}", f"/usr/lib/{multiarch}"]
    return any(glob.glob(os.path.join(directory, f"{library}.so*")) for directory in directories if directory)


def _import_asyncssh() -> None:
    """Import asyncssh, answering its search for liboqs at once when the library is not there.

    asyncssh looks for liboqs (for the sntrup761 key exchange) with `ctypes.util.find_library` as it is
    imported; on Linux that runs `ldconfig -p`, then gcc and ld, twice: about 20 ms, a tenth of a
    one-host deploy's own time. A library the dynamic loader cannot find could not be loaded anyway, so
    the answer is None then, and ctypes is asked as usual whenever liboqs may be there."""
    real_find_library = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        if name in _OQS_NAMES and not _loader_may_find("liboqs"):
            return None
        return real_find_library(name)

    ctypes.util.find_library = find_library
    try:
        import asyncssh  # noqa: F401
    finally:
        ctypes.util.find_library = real_find_library


def preload_network_clients() -> None:
    """Start importing aiohttp on a second thread and import asyncssh on this one. The thread is not a
    daemon: a command that ends early waits for the import rather than leaving it half done at exit."""
    threading.Thread(target=_import_aiohttp, name="shipdeck-import-aiohttp").start()
    _import_asyncssh()
