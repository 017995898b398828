"""YAML as Kamal (Psych 5.3 on libyaml, `YAML.unsafe_load`) reads it, keeping where every key came from.

libyaml parses (PyYAML's C binding when it is there, which is the parser Psych uses; PyYAML's own
parser otherwise) and this module builds the values from the parser's events, the way Psych's
`ToRuby` visitor does:
- only the first document of a stream counts (Psych returns at its end; the rest is never read);
- plain scalars resolve with `app.config.scalars.tokenize`; a tagged scalar is tokenized too unless
  the tag is `!!str` (so `!!int 1:20` is 4800), `!!float` applies Ruby's `Float()`;
- an anchor may be defined again: an alias takes the latest definition before it;
- `<<` merges the mapping it names (a quoted `"<<"` too, but not `!!str <<`); when the value is not a
  mapping (an alias of a list, a scalar, a list holding a non-mapping) the key stays a literal `"<<"`;
- top-level keys become plain strings whether written `service:` or `:service:` (Kamal symbolizes
  them); a nested `:arch:` stays a `Symbol`, which Kamal's validator does not know.
Where Psych would build Ruby objects (`!ruby/...`, `!!binary`, `!!set`, `!!omap`) or Kamal would
crash (a recursive alias, `!!float abc`, nesting deeper than Ruby's stack), loading stops with a
`ConfigError` at `file:line`. Deviations of libyaml 0.2.5 from the 0.2.2 that Kamal 2.11 ships are
reproduced: a `%YAML` directive other than 1.1 and a `?` inside a plain scalar in a flow collection
are syntax errors there.

Every mapping and sequence remembers the location of its keys and items (`LocatedDict`,
`LocatedList`) so that later errors can name `file:line`. Nothing here recurses, so depth is bounded
by `MAX_DEPTH` only.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple

import yaml
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
)

from app.config.scalars import RubyConversionError, Symbol, ruby_float, tokenize
from app.errors import ConfigError

__all__ = ["MAX_DEPTH", "LocatedDict", "LocatedList", "Location", "Symbol", "load", "locate"]

MAX_DEPTH = 2000  # Kamal 2.11 (Ruby 3.3) overflows its stack at about 1,400 levels


class Location(NamedTuple):
    file: str
    line: int


class LocatedDict(dict):
    """A mapping that remembers the location of each of its keys."""

    __slots__ = ("key_locations", "location")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.key_locations: dict[object, Location] = {}
        self.location: Location | None = None


class LocatedList(list):
    """A sequence that remembers the location of each of its items."""

    __slots__ = ("item_locations", "location")

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.item_locations: list[Location] = []
        self.location: Location | None = None


_STR_TAG = "tag:yaml.org,2002:str"
_FLOAT_TAGS = ("tag:yaml.org,2002:float", "!float")
_STRING_TAG = re.compile(r"^!(?:str|ruby/string)(?::(.*))?$")
_SYMBOL_TAG = re.compile(r"^!ruby/sym(?:bol)?:?(.*)?$")
_REFUSED_TAGS = ("tag:yaml.org,2002:binary", "!binary", "tag:yaml.org,2002:omap", "!omap",
                 "tag:yaml.org,2002:set", "!set", "tag:yaml.org,2002:pairs")
_CLASS_TAG = re.compile(r"^!(?:ruby/|map:|seq:)")


def _parser(text: str):
    """libyaml's event parser when PyYAML has it (as Psych does), else PyYAML's own."""
    if getattr(yaml, "__with_libyaml__", False):
        from yaml._yaml import CParser

        return CParser(text)
    return yaml.BaseLoader(text)


class _Open:
    """A mapping or sequence whose end event has not come yet."""

    __slots__ = ("flow", "has_key", "key", "key_line", "key_literal", "mapping", "value")

    def __init__(self, value: LocatedDict | LocatedList, mapping: bool, flow: bool) -> None:
        self.value = value
        self.mapping = mapping
        self.flow = flow
        self.has_key = False
        self.key: object = None
        self.key_line = 0
        self.key_literal = False  # the key was tagged !!str: never a merge


class _Builder:
    def __init__(self, text: str, file: str, line_of: Callable[[int], int] | None) -> None:
        self.text = text
        self.file = file
        self.line_of = line_of
        self.max_depth = 0

    def line(self, mark: yaml.Mark | None) -> int:
        if mark is None:
            return 1
        return self.line_of(mark.line) if self.line_of else mark.line + 1

    def fail(self, message: str, mark: yaml.Mark | None) -> None:
        raise ConfigError(message, file=self.file, line=self.line(mark))

    # -- scalars and tags

    def scalar(self, event: ScalarEvent, in_flow: bool) -> object:
        value = event.value
        if event.implicit[1]:  # quoted or a block scalar, untagged
            return value
        tag = event.tag
        if tag is None:
            if in_flow and "?" in value:
                self.question_mark_in_flow(event)
            try:
                return tokenize(value)
            except RubyConversionError as error:
                self.fail(str(error), event.start_mark)
        if tag == _STR_TAG:
            return value
        if tag in _FLOAT_TAGS:
            try:
                return ruby_float(tokenize(value))
            except RubyConversionError as error:
                self.fail(f"{error} (the value of a !!float tag)", event.start_mark)
        symbol = _SYMBOL_TAG.match(tag)
        if symbol:
            return Symbol(value)
        string = _STRING_TAG.match(tag)
        if string and not string.group(1):
            return value
        if tag in _REFUSED_TAGS or _CLASS_TAG.match(tag):
            self.refuse_tag(tag, event.start_mark)
        try:
            return tokenize(value)  # Psych ignores other tags: `!!int 1:20` is 4800, `!foo 1` is 1
        except RubyConversionError as error:
            self.fail(str(error), event.start_mark)

    def collection_tag(self, tag: str | None, mark: yaml.Mark) -> None:
        if tag is None or tag in ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
            return
        if tag in _REFUSED_TAGS or _CLASS_TAG.match(tag) or tag == _STR_TAG or _STRING_TAG.match(tag):
            self.refuse_tag(tag, mark)

    def refuse_tag(self, tag: str, mark: yaml.Mark) -> None:
        shown = tag.replace("tag:yaml.org,2002:", "!!")
        self.fail(f"unsupported YAML tag {shown}: a deploy config holds strings, numbers, booleans, lists and "
                  "mappings, so shipdeck builds no other kind of value", mark)

    def question_mark_in_flow(self, event: ScalarEvent) -> None:
        source = self.text[event.start_mark.index:event.end_mark.index]
        offset = source.find("?")
        if offset < 0:
            return
        line = event.start_mark.line + source.count("\n", 0, offset)
        raise ConfigError("YAML syntax error: '?' inside an unquoted value in a [...] or {...} collection "
                          "(Kamal's libyaml rejects it; quote the value)", file=self.file,
                          line=self.line_of(line) if self.line_of else line + 1)

    # -- the event loop

    def build(self) -> object:
        parser = _parser(self.text)
        anchors: dict[str, object] = {}
        open_ids: set[int] = set()
        stack: list[_Open] = []
        result: object = None
        file = self.file
        line_of = self.line_of
        flow_level = 0
        try:
            while True:
                event = parser.get_event()
                kind = type(event)
                if kind is ScalarEvent:
                    if event.implicit[1]:  # quoted or a block scalar, untagged: a string
                        value = event.value
                    elif event.tag is None and not flow_level:
                        try:
                            value = tokenize(event.value)
                        except RubyConversionError as error:  # `.e+5`: Psych calls Float() and fails
                            self.fail(str(error), event.start_mark)
                    else:
                        value = self.scalar(event, flow_level > 0)
                    if event.anchor is not None:
                        anchors[event.anchor] = value
                    merge_source = False
                elif kind is MappingStartEvent or kind is SequenceStartEvent:
                    self.collection_tag(event.tag, event.start_mark)
                    if len(stack) >= MAX_DEPTH:
                        self.fail(f"the YAML is nested more than {MAX_DEPTH} levels deep (Kamal fails at about "
                                  "1,400)", event.start_mark)
                    mapping = kind is MappingStartEvent
                    container: LocatedDict | LocatedList = LocatedDict() if mapping else LocatedList()
                    container.location = Location(file, self.line(event.start_mark))
                    if event.anchor is not None:
                        anchors[event.anchor] = container
                    open_ids.add(id(container))
                    self.max_depth = max(self.max_depth, len(stack) + 1)
                    flow = bool(event.flow_style)
                    flow_level += flow
                    stack.append(_Open(container, mapping, flow))
                    continue
                elif kind is MappingEndEvent or kind is SequenceEndEvent:
                    closed = stack.pop()
                    flow_level -= closed.flow
                    open_ids.discard(id(closed.value))
                    value = closed.value
                    merge_source = closed.mapping
                elif kind is AliasEvent:
                    if event.anchor not in anchors:
                        self.fail(f"An alias referenced an unknown anchor: {event.anchor}", event.start_mark)
                    value = anchors[event.anchor]
                    if id(value) in open_ids:
                        self.fail(f"the alias *{event.anchor} refers to a mapping or list that contains it "
                                  "(a recursive structure)", event.start_mark)
                    merge_source = True
                elif kind is DocumentStartEvent:
                    if event.version is not None and tuple(event.version) != (1, 1):
                        self.fail("YAML syntax error: found incompatible YAML document (only %YAML 1.1 is "
                                  "accepted by Kamal's libyaml)", event.start_mark)
                    continue
                elif kind is DocumentEndEvent or kind is StreamEndEvent:
                    return result  # Psych reads the first document only
                else:
                    continue

                if not stack:
                    result = value
                    continue
                top = stack[-1]
                if not top.mapping:
                    items: LocatedList = top.value  # type: ignore[assignment]
                    items.append(value)
                    if kind is MappingEndEvent or kind is SequenceEndEvent:
                        items.item_locations.append(value.location)  # type: ignore[union-attr]
                    else:
                        items.item_locations.append(Location(file, line_of(event.start_mark.line) if line_of
                                                             else event.start_mark.line + 1))
                    continue
                if not top.has_key:
                    if isinstance(value, dict | list):
                        self.fail("a mapping or a list as a mapping key: shipdeck accepts scalar keys only",
                                  event.start_mark)
                    top.key = value
                    top.key_line = line_of(event.start_mark.line) if line_of else event.start_mark.line + 1
                    top.key_literal = kind is ScalarEvent and event.tag == _STR_TAG
                    top.has_key = True
                    continue
                top.has_key = False
                mapping_value: LocatedDict = top.value  # type: ignore[assignment]
                key = top.key
                if key == "<<" and type(key) is str and not top.key_literal \
                        and self.merge(mapping_value, value, merge_source):
                    continue
                mapping_value[key] = value
                mapping_value.key_locations[key] = Location(file, top.key_line)
        finally:
            dispose = getattr(parser, "dispose", None)
            if dispose:
                dispose()

    @staticmethod
    def merge(mapping: LocatedDict, value: object, from_mapping_or_alias: bool) -> bool:
        """Psych's `<<`: merge a mapping, or a list of mappings (earlier ones win); False: keep it as a key."""
        if from_mapping_or_alias:
            if not isinstance(value, dict):
                return False
            sources = [value]
        elif isinstance(value, list):
            if not all(isinstance(item, dict) for item in value):
                return False
            sources = list(reversed(value))
        else:
            return False
        merged: dict = {}
        locations: dict = {}
        for source in sources:
            merged.update(source)
            locations.update(getattr(source, "key_locations", {}))
        mapping.update(merged)
        mapping.key_locations.update(locations)
        return True


def load(text: str, file: str, line_of: Callable[[int], int] | None = None) -> object:
    """Parse the first YAML document of `text`. `line_of` maps a 0-based line of `text` to a 1-based
    source line (the ERB template's); without it lines are counted in `text` itself."""
    builder = _Builder(text, file, line_of)
    try:
        value = builder.build()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        if error.context_mark is not None and "flow" in (error.context or ""):
            mark = error.context_mark  # an unclosed [ or {: the line that opened it, as Psych reports
        line = (line_of(mark.line) if line_of else mark.line + 1) if mark else None
        problem = " ".join(part for part in (error.problem, _context(error)) if part)
        raise ConfigError(f"YAML syntax error: {problem}", file=file, line=line) from None
    except yaml.reader.ReaderError as error:
        line_index = text.encode("utf-8", "surrogatepass")[:error.position].count(b"\n")
        line = line_of(line_index) if line_of else line_index + 1
        raise ConfigError(f"YAML syntax error: {error.reason}", file=file, line=line) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"YAML error: {error}", file=file) from None
    if builder.max_depth > 100 and sys.getrecursionlimit() < 10_000:
        # Room for the recursive walks (copies, output) over a config nested up to MAX_DEPTH deep; pure-Python
        # recursion costs no C stack since Python 3.11, so this limit is safe.
        sys.setrecursionlimit(10_000)
    return value


def symbolize_top_level_keys(value: LocatedDict) -> LocatedDict:
    """Kamal's `symbolize_keys` on the loaded file: `:service:` and `service:` are the same key."""
    if not any(type(key) is Symbol for key in value):
        return value
    result = LocatedDict()
    result.location = value.location
    for key, item in value.items():
        name = str(key) if type(key) is Symbol else key
        result[name] = item
        result.key_locations[name] = value.key_locations.get(key, value.location)  # type: ignore[assignment]
    return result


def _context(error: yaml.MarkedYAMLError) -> str:
    if error.context and error.context_mark:
        return f"({error.context} at line {error.context_mark.line + 1})"
    return f"({error.context})" if error.context else ""


def locate(root: object, path: Sequence[object]) -> Location | None:
    """The location of the deepest key or item of `path` that exists in `root`."""
    found = getattr(root, "location", None)
    current = root
    for segment in path:
        if isinstance(current, LocatedDict) and segment in current:
            found = current.key_locations.get(segment, found)
            current = current[segment]
        elif isinstance(current, LocatedList) and isinstance(segment, int) and 0 <= segment < len(current):
            if segment < len(current.item_locations):
                found = current.item_locations[segment]
            current = current[segment]
        else:
            break
    return found
