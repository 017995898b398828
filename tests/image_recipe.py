"""Tags for the images tests build, derived from everything that goes into them.

A test image tagged by a fixed name (`bb:1`) hides a broken recipe on any machine that still holds an
image built by an older one. Tagging by a hash of the recipe's inputs (the building function's source,
the binaries and files it copies) means a changed recipe always builds anew, and an unchanged one is
reused.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Iterable
from pathlib import Path


def recipe_tag(repository: str, builder: Callable[..., object], inputs: Iterable[Path | str | bytes]) -> str:
    """`repository:<16 hex>` hashing the builder's source and every input (file bytes, or text)."""
    digest = hashlib.sha256(inspect.getsource(builder).encode())
    for item in inputs:
        if isinstance(item, Path):
            digest.update(b"\0file\0" + str(item).encode() + b"\0" + item.read_bytes())
        elif isinstance(item, bytes):
            digest.update(b"\0bytes\0" + item)
        else:
            digest.update(b"\0text\0" + item.encode())
    return f"{repository}:{digest.hexdigest()[:16]}"
