"""Getting ready to connect before the run starts: a face that knows it will open a Fleet calls
`start_imports()` first, and the network clients load while the face loads the rest of the engine."""

from __future__ import annotations


def start_imports() -> None:
    from app.remote.preload import preload_network_clients

    preload_network_clients()
