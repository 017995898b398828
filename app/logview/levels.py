"""Severity of a log line, read from the shapes the fleet's containers print.

Recognised, in order:
- Ruby Logger / Rails: `E, [2026-05-01T12:00:00.123456 #1] ERROR -- : message` (the letter and the word).
- JSON lines (kamal-proxy, structured loggers): `{"level": "warn", ...}` or `"severity"` / `"lvl"`.
- Rails tagged lines without a severity (`[request-id] ...`): `Completed 5xx` is an error, `Completed 4xx` a
  warning, an exception line (`[id] ActiveRecord::ConnectionNotEstablished (...)`) an error, the rest info.
- Postgres (`... [1] ERROR:  ...`, `FATAL:`, `WARNING:`, `LOG:`) and Redis (`1:M 01 May 2026 ... # ...`).
- A plain severity word near the start (`ERROR`, `WARN`, `WARNING`, `INFO`, `DEBUG`, `FATAL`, `CRITICAL`).
"""

from __future__ import annotations

import json
import re

from app.logview.model import Level

_WORDS = {
    "DEBUG": Level.DEBUG,
    "TRACE": Level.DEBUG,
    "INFO": Level.INFO,
    "NOTICE": Level.INFO,
    "LOG": Level.INFO,
    "WARN": Level.WARN,
    "WARNING": Level.WARN,
    "ERROR": Level.ERROR,
    "ERR": Level.ERROR,
    "FATAL": Level.ERROR,
    "CRITICAL": Level.ERROR,
    "CRIT": Level.ERROR,
    "PANIC": Level.ERROR,
    "ALERT": Level.ERROR,
    "EMERG": Level.ERROR,
}
_LETTERS = {"D": Level.DEBUG, "I": Level.INFO, "W": Level.WARN, "E": Level.ERROR, "F": Level.ERROR}

# `E, [2026-05-01T12:00:00.123456 #1] ERROR -- : boom`
_RUBY_LOGGER = re.compile(r"([DIWEFA]), \[[^\]]*\] +([A-Z]+) -- ")
# `[req-id] [tag] rest` -> rest
_TAGS = re.compile(r"(?:\[[^\]]{1,80}\] ?)+")
_COMPLETED = re.compile(r"Completed ([1-5])\d\d ")
# `ActiveRecord::ConnectionNotEstablished (could not connect)` or `NoMethodError (undefined method ...)`
_EXCEPTION = re.compile(r"(?:[A-Z]\w*::)+[A-Z]\w*(?: \(|:|$)|[A-Z]\w*(?:Error|Exception)(?: \(|:|$)")
# Postgres: `2026-05-01 12:00:00.123 UTC [1] ERROR:  relation "x" does not exist`; also `DEBUG1:`
_POSTGRES = re.compile(r"\b(DEBUG[1-5]?|INFO|NOTICE|WARNING|ERROR|LOG|FATAL|PANIC):  ")
# Redis: `1:M 01 May 2026 12:00:00.123 * Ready to accept connections`
_REDIS = re.compile(r"\d+:[XCSM] \d\d \w{3} \d{4} [\d:.]+ ([.\-*#]) ")
_REDIS_MARKS = {".": Level.DEBUG, "-": Level.DEBUG, "*": Level.INFO, "#": Level.WARN}
# A severity word within the first 40 characters: `ERROR something`, `[WARN]`, `Error: x` (not "error" in prose);
# spelled out letter by letter after a first-letter class so that the scan rejects most positions at once.
_WORD = re.compile(
    r"[DTINWEFCP](?:EBUG|RACE|NFO|OTICE|ARN(?:ING)?|RR(?:OR)?|ATAL|RIT(?:ICAL)?|ANIC"
    r"|ebug|race|nfo|otice|arn(?:ing)?|rror|atal|ritical|anic)\b"
)
_LEVEL_FIELD = re.compile(r"\blevel=(\w+)", re.IGNORECASE)
_HEAD = 40
_JSON_FIELDS = ("level", "severity", "lvl", "log.level", "levelname")


def detect_level(text: str) -> Level:
    """The severity `text` states or implies; Level.NONE when it has no recognisable one."""
    if not text:
        return Level.NONE
    first = text[0]
    if first == "{":
        level = _json_level(text)
        if level is not None:
            return level
    elif first in _LETTERS and text[1:3] == ", ":
        match = _RUBY_LOGGER.match(text)
        if match:
            return _WORDS.get(match.group(2), _LETTERS.get(match.group(1), Level.NONE))
    elif first == "[":
        level = _tagged_level(text)
        if level is not None:
            return level
    elif first.isdigit():
        match = _POSTGRES.search(text, 0, 80)
        if match:
            return _WORDS.get(match.group(1).rstrip("12345"), Level.DEBUG)
        match = _REDIS.match(text)
        if match:
            return _REDIS_MARKS[match.group(1)]
    return _word_level(text)


def _word_level(text: str) -> Level:
    match = _WORD.search(text, 0, _HEAD)
    while match is not None:
        start = match.start()
        if start == 0 or not (text[start - 1].isalnum() or text[start - 1] in "-_"):
            return _WORDS.get(match.group().upper(), Level.NONE)
        match = _WORD.search(text, match.end(), _HEAD)
    if "level=" in text[:_HEAD + 20]:
        field = _LEVEL_FIELD.search(text, 0, _HEAD + 20)
        if field:
            return _WORDS.get(field.group(1).upper(), Level.NONE)
    return Level.NONE


def _tagged_level(text: str) -> Level | None:
    tags = _TAGS.match(text)
    if not tags:
        return None
    rest = text[tags.end() :]
    completed = _COMPLETED.match(rest)
    if completed:
        return {"5": Level.ERROR, "4": Level.WARN}.get(completed.group(1), Level.INFO)
    if _EXCEPTION.match(rest):
        return Level.ERROR
    severity = _word_level(rest)
    return Level.INFO if severity is Level.NONE else severity


def _json_level(text: str) -> Level | None:
    if not text.rstrip().endswith("}"):
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    for name in _JSON_FIELDS:
        value = record.get(name)
        if isinstance(value, str):
            return _WORDS.get(value.strip().upper(), Level.NONE)
        if isinstance(value, int) and not isinstance(value, bool):
            return _numeric_level(value)
    return Level.NONE


def _numeric_level(value: int) -> Level:
    """pino/bunyan numbers: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal."""
    if value >= 50:
        return Level.ERROR
    if value >= 40:
        return Level.WARN
    if value >= 30:
        return Level.INFO
    return Level.DEBUG
