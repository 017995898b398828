"""Go-style durations ("30s", "1m30s", "500ms"): parsed into seconds, printed the way Go prints them."""

from __future__ import annotations

_UNITS_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
             "m": 60_000_000_000, "h": 3_600_000_000_000}
_DIGITS = "0123456789"


def parse(text: str) -> float:
    """Seconds in a Go duration string, with Go's time.ParseDuration's errors.

    Scanned by hand rather than with `re`: the command line imports this, and the real kamal-proxy's
    (Go) command line starts in a few milliseconds."""
    value = text
    sign = 1
    if value[:1] in ("-", "+"):
        sign = -1 if value[0] == "-" else 1
        value = value[1:]
    if value == "0":
        return 0.0
    if not value:
        raise ValueError(f'time: invalid duration "{text}"')
    total = 0.0
    while value:
        if value[0] != "." and value[0] not in _DIGITS:
            raise ValueError(f'time: invalid duration "{text}"')
        end = 0
        while end < len(value) and value[end] in _DIGITS:
            end += 1
        if end < len(value) and value[end] == ".":
            end += 1
            while end < len(value) and value[end] in _DIGITS:
                end += 1
        number = value[:end]
        if number == ".":  # no digit before or after the point
            raise ValueError(f'time: invalid duration "{text}"')
        unit_end = end
        while unit_end < len(value) and value[unit_end] != "." and value[unit_end] not in _DIGITS:
            unit_end += 1
        unit = value[end:unit_end]
        if not unit:
            raise ValueError(f'time: missing unit in duration "{text}"')
        if unit not in _UNITS_NS:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{text}"')
        total += float(number) * _UNITS_NS[unit]
        value = value[unit_end:]
    return sign * total / 1e9


def _trim(number: float) -> str:
    return f"{number:.9f}".rstrip("0").rstrip(".")


def format(seconds: float) -> str:
    """Go's Duration.String(): 30s, 1m0s, 1.5s, 500ms, 1h0m0s."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_trim(ns / 1_000)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_trim(ns / 1_000_000)}ms"
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    secs = _trim(rest / 1e9)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"
