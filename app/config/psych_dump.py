"""Ruby values written as YAML exactly as Kamal writes them (`to_yaml`: Psych 5.3 on libyaml 0.2.2).

Psych decides each scalar's style (`YAMLTree#visit_String` and friends) and libyaml's emitter lays it
out; PyYAML's emitter is a port of libyaml's, so this module makes Psych's decisions and hands PyYAML
the same events. Symbols print as `:name`, nil as an empty value (with libyaml 0.2.2's trailing
space), floats as Ruby prints them, dates and times as Psych formats them, and a Date or Time object
met twice as an anchor and an alias. `RubyObject` stands for the few Ruby objects `kamal config`
prints (`!ruby/object:Net::SSH::Proxy::Jump`).
"""

from __future__ import annotations

import datetime
import io
import math
import re
from dataclasses import dataclass

import yaml
from yaml.emitter import Emitter
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)

from app.config.scalars import Symbol, tokenize
from app.rubyish import float_to_s


@dataclass(frozen=True)
class RubyObject:
    """A Ruby object Psych dumps as a tagged mapping of its instance variables."""

    class_name: str
    ivars: tuple[tuple[str, object], ...]


class _Libyaml022Emitter(Emitter):
    """PyYAML's emitter, writing `key: ` (with a space) for an empty plain value as libyaml 0.2.2 does."""

    def write_plain(self, text: str, split: bool = True) -> None:
        if not text and not self.whitespace:
            self.stream.write(" ")
            self.column += 1
            self.whitespace = False
            return
        super().write_plain(text, split)


_MULTILINE = re.compile(r"\n(?!\Z)")
_NON_WORD_START = re.compile(r'^\W[^"]*$', re.MULTILINE)
_OCTAL_LOOKING = re.compile(r"\A0[0-7]*[89]")
_PLAIN = (True, False)


def _string(text: str, anchor: str | None = None) -> ScalarEvent:
    """Psych's visit_String: the style it asks libyaml for."""
    style: str | None = None  # Psych's PLAIN: libyaml keeps it plain where the text allows
    tag = None
    implicit = (True, True)
    if _MULTILINE.search(text):
        style = "|"
    elif text == "<<":
        style, tag, implicit = "'", "tag:yaml.org,2002:str", (False, False)
    elif text in ("y", "Y", "n", "N") or _NON_WORD_START.search(text):
        style = '"'
    elif type(tokenize(text)) is not str or _OCTAL_LOOKING.match(text):
        style = "'"
    return ScalarEvent(anchor, tag, implicit, text, style=style)


def _format_time(value: datetime.datetime) -> str:
    if value.tzinfo is None:
        value = value.astimezone()
    elif value.tzinfo is datetime.UTC:
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond * 1000:09d} Z"
    offset = value.strftime("%z")
    return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond * 1000:09d} {offset[:3]}:{offset[3:]}"


def _scalar_text(value: object) -> str | None:
    """The text of a scalar Psych writes plain (`visit_Integer`, `visit_Float`, ...), or None."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return float_to_s(value)
    if isinstance(value, datetime.datetime):
        return _format_time(value)
    if isinstance(value, datetime.date):
        return value.strftime("%Y-%m-%d")
    return None


class _Events:
    """Psych's YAMLTree walk, without recursion (configs may nest deeply)."""

    def __init__(self, root: object) -> None:
        self.root = root
        self.anchors: dict[int, str] = {}
        self.seen: set[int] = set()
        self.events: list[yaml.Event] = []

    def plan_anchors(self) -> None:
        """Psych aliases a Date or Time object it meets again; number them in the order of those repeats."""
        pending = [self.root]
        while pending:
            value = pending.pop()
            if isinstance(value, dict):
                for key, item in reversed(list(value.items())):
                    pending.append(item)
                    pending.append(key)
            elif isinstance(value, list | tuple):
                pending.extend(reversed(value))
            elif isinstance(value, RubyObject):
                pending.extend(reversed([item for _, item in value.ivars]))
            elif isinstance(value, datetime.date):
                if id(value) in self.seen and id(value) not in self.anchors:
                    self.anchors[id(value)] = str(len(self.anchors) + 1)
                self.seen.add(id(value))
        self.seen.clear()

    def walk(self) -> list[yaml.Event]:
        self.plan_anchors()
        emit = self.events.append
        emit(StreamStartEvent(encoding="utf-8"))
        emit(DocumentStartEvent(explicit=True))
        stack: list[object] = [self.root]
        while stack:
            value = stack.pop()
            if isinstance(value, _End):
                emit(value.event)
            elif isinstance(value, dict):
                emit(MappingStartEvent(None, None, True, flow_style=False))
                stack.append(_End(MappingEndEvent()))
                for key, item in reversed(list(value.items())):
                    stack.append(item)
                    stack.append(key)
            elif isinstance(value, list | tuple):
                emit(SequenceStartEvent(None, None, True, flow_style=False))
                stack.append(_End(SequenceEndEvent()))
                stack.extend(reversed(value))
            elif isinstance(value, RubyObject):
                emit(MappingStartEvent(None, f"!ruby/object:{value.class_name}", False, flow_style=False))
                stack.append(_End(MappingEndEvent()))
                for name, item in reversed(value.ivars):
                    stack.append(item)
                    stack.append(name)
            else:
                emit(self.scalar(value))
        emit(DocumentEndEvent(explicit=False))
        emit(StreamEndEvent())
        return self.events

    def scalar(self, value: object) -> yaml.Event:
        if value is None:
            return ScalarEvent(None, "tag:yaml.org,2002:null", _PLAIN, "")
        if type(value) is Symbol:
            if not value:
                return ScalarEvent(None, "!ruby/symbol", (False, False), "")
            return ScalarEvent(None, None, _PLAIN, f":{value}")
        if isinstance(value, str):
            return _string(value)
        anchor = self.anchors.get(id(value)) if isinstance(value, datetime.date) else None
        if anchor is not None:
            if id(value) in self.seen:
                return AliasEvent(anchor)
            self.seen.add(id(value))
        text = _scalar_text(value)
        if text is None:
            raise TypeError(f"cannot write a {type(value).__name__} as Kamal would")
        return ScalarEvent(anchor, None, _PLAIN, text)


class _End:
    __slots__ = ("event",)

    def __init__(self, event: yaml.Event) -> None:
        self.event = event


def dump(value: object) -> str:
    """`value.to_yaml` as Kamal 2.11 prints it."""
    stream = io.StringIO()
    emitter = _Libyaml022Emitter(stream, allow_unicode=True, width=80, indent=2)
    for event in _Events(value).walk():
        emitter.emit(event)
    return stream.getvalue()
