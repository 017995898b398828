"""One process-wide registry of secret values, and the function that hides them.

Every resolved secret value is registered here; every renderer (plain CLI, headless CI output,
the Textual app, exception messages printed by the CLI) passes text through `mask()` before it
reaches a terminal, a log or a file.
"""

from __future__ import annotations

import threading

MASK = "[REDACTED]"
_MIN_LENGTH = 3  # masking 1-2 character values would shred ordinary text

_lock = threading.Lock()
_values: set[str] = set()
_ordered: tuple[str, ...] = ()  # longest first; replaced whole (never changed in place), so read without the lock


def register(value: str | None) -> None:
    """Remember a secret value (and each of its lines) so that `mask` hides it."""
    global _ordered
    if not value:
        return
    candidates = {value, value.strip()}
    candidates.update(line.strip() for line in value.splitlines())
    with _lock:
        changed = False
        for candidate in candidates:
            if len(candidate) >= _MIN_LENGTH and candidate not in _values:
                _values.add(candidate)
                changed = True
        if changed:
            _ordered = tuple(sorted(_values, key=len, reverse=True))


def mask(text: str) -> str:
    """Replace every registered secret value in `text` with the mask."""
    if not text:
        return text
    for value in _ordered:
        if value in text:
            text = text.replace(value, MASK)
    return text


def registered() -> tuple[str, ...]:
    """Every value `mask` hides now (longest first), e.g. for a CI system's own masking."""
    return _ordered


def clear() -> None:
    """Forget every value (tests only)."""
    global _ordered
    with _lock:
        _values.clear()
        _ordered = ()
