"""YAML as Kamal (Ruby's Psych, `YAML.unsafe_load`) reads it, keeping where every key came from.

PyYAML parses; this module builds the values itself so that plain scalars resolve the way Psych's
`ScalarScanner` resolves them (`yes`/`on` are booleans in any case, `1,000` is 1000, `:name` is a
Symbol, `09` stays a string, ...) and so that every mapping key and sequence item remembers its
`file:line`. Merge keys (`<<`) follow Psych: the merged mapping is applied where `<<` appears.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import yaml

from app.errors import ConfigError


@dataclass(frozen=True)
class Location:
    file: str
    line: int


class Symbol(str):
    """A Ruby Symbol (`:verbose`): string-like for validation, printed without the colon."""

    __slots__ = ()


class LocatedDict(dict):
    """A mapping that remembers the location of each of its keys."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.key_locations: dict[object, Location] = {}
        self.location: Location | None = None


class LocatedList(list):
    """A sequence that remembers the location of each of its items."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.item_locations: list[Location] = []
        self.location: Location | None = None


_PLAIN = "tag:shipdeck:plain"
_TIME = re.compile(
    r"^-?\d{4}-\d{1,2}-\d{1,2}(?:[Tt]|\s+)\d{1,2}:\d\d:\d\d(?:\.\d*)?(?:\s*(?:Z|[-+]\d{1,2}:?(?:\d\d)?))?$"
)
_DATE = re.compile(r"^\d{4}-(?:1[012]|0\d|\d)-(?:[12]\d|3[01]|0\d|\d)$")
_SEXAGESIMAL_INT = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}$")
_SEXAGESIMAL_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}\.[0-9_]*$")
_FLOAT = re.compile(r"^(?:[-+]?([0-9][0-9_,]*)?\.[0-9]*([eE][-+][0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$")
_INTEGER = re.compile(
    r"^(?:[-+]?0b[0-1_,]+|[-+]?0[0-7_,]+|[-+]?(?:0|[1-9](?:[0-9]|,[0-9]|_[0-9])*)|[-+]?0x[0-9a-fA-F_,]+)$"
)


def _starts_like_a_word(text: str) -> bool:
    """Psych's "this is surely a string" test: `^[^\\d.:-]?[[:alpha:]_\\s!@#$%^&*(){}<>|/\\\\~;=]+`."""
    index = 0
    if text and not (text[0].isdigit() or text[0] in ".:-"):
        index = 1
    allowed = set("_ \t\n!@#$%^&*(){}<>|/\\~;=")

    def ok(char: str) -> bool:
        return char.isalpha() or char in allowed

    # The optional first character may itself be part of the run.
    return (len(text) > 0 and ok(text[0])) or (index < len(text) and ok(text[index]))


def _parse_int(text: str) -> int:
    cleaned = text.replace(",", "").replace("_", "")
    sign = -1 if cleaned.startswith("-") else 1
    digits = cleaned.lstrip("+-")
    if digits.startswith(("0x", "0X")):
        return sign * int(digits[2:], 16)
    if digits.startswith(("0b", "0B")):
        return sign * int(digits[2:], 2)
    if len(digits) > 1 and digits.startswith("0"):
        return sign * int(digits[1:], 8)
    return sign * int(digits)


def _sexagesimal(text: str, convert: Callable[[str], float]) -> float:
    """Psych's base-60 rule, quirks included: part i is weighted 60 ** |i - 2|."""
    return sum(convert(part.replace("_", "") or "0") * 60 ** abs(index - 2)
               for index, part in enumerate(text.split(":")))


def resolve_plain_scalar(text: str) -> object:
    """The Ruby value Psych gives an untagged plain scalar."""
    if text == "":
        return None
    if _starts_like_a_word(text) or "\n" in text:
        if len(text) > 5 or not re.match(r"^[ytonf~]", text, re.IGNORECASE):
            return text
        if text == "~" or re.fullmatch(r"null", text, re.IGNORECASE):
            return None
        if re.fullmatch(r"yes|true|on", text, re.IGNORECASE):
            return True
        if re.fullmatch(r"no|false|off", text, re.IGNORECASE):
            return False
        return text
    if _TIME.match(text):
        return _parse_time(text) or text
    if _DATE.match(text):
        try:
            return datetime.date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
        except ValueError:
            return text
    if re.fullmatch(r"\+?\.inf", text, re.IGNORECASE):
        return math.inf
    if re.fullmatch(r"-\.inf", text, re.IGNORECASE):
        return -math.inf
    if re.fullmatch(r"\.nan", text, re.IGNORECASE):
        return math.nan
    if text.startswith(":") and len(text) > 1:
        quoted = re.match(r"""^:(["'])(.*)\1""", text)
        return Symbol(quoted.group(2).removeprefix(":") if quoted else text[1:])
    if _SEXAGESIMAL_INT.match(text):
        return int(_sexagesimal(text, int))
    if _SEXAGESIMAL_FLOAT.match(text):
        return _sexagesimal(text, float)
    if _FLOAT.match(text):
        if re.fullmatch(r"[-+]?\.", text):
            return text
        return float(re.sub(r"\.([Ee]|$)", r"\1", text.replace(",", "").replace("_", "")))
    if _INTEGER.match(text):
        return _parse_int(text)
    return text


def _parse_time(text: str) -> datetime.datetime | None:
    match = re.match(
        r"^(-?\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt]|\s+)(\d{1,2}):(\d\d):(\d\d)(\.\d*)?\s*(Z|[-+]\d{1,2}:?(?:\d\d)?)?$",
        text,
    )
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or ".0")[1:7].ljust(6, "0") or 0)
    tz = datetime.UTC
    if zone and zone != "Z":
        sign = -1 if zone.startswith("-") else 1
        hours, _, minutes = zone[1:].partition(":")
        if not minutes and len(hours) > 2:
            hours, minutes = hours[:-2], hours[-2:]
        tz = datetime.timezone(sign * datetime.timedelta(hours=int(hours), minutes=int(minutes or 0)))
    try:
        return datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz)
    except ValueError:
        return None


class _Loader(yaml.SafeLoader):
    """A loader whose resolver marks untagged plain scalars instead of guessing their type."""

    def resolve(self, kind, value, implicit):  # type: ignore[override]
        if kind is yaml.ScalarNode and implicit[0]:
            return _PLAIN
        return super().resolve(kind, value, implicit)


# Only the YAML core tags are understood; Ruby object tags would let a config file build objects.
_EXPLICIT_SCALAR_TAGS: dict[str, Callable[[str], object]] = {
    "tag:yaml.org,2002:str": str,
    "tag:yaml.org,2002:int": _parse_int,
    "tag:yaml.org,2002:float": lambda text: float(text.replace("_", "").replace(",", "")),
    "tag:yaml.org,2002:bool": lambda text: bool(re.fullmatch(r"yes|true|on", text, re.IGNORECASE)),
    "tag:yaml.org,2002:null": lambda text: None,
}


class _Builder:
    def __init__(self, file: str, line_of: Callable[[int], int]) -> None:
        self.file = file
        self.line_of = line_of
        self.built: dict[int, object] = {}

    def location(self, node: yaml.Node) -> Location:
        return Location(self.file, self.line_of(node.start_mark.line))

    def build(self, node: yaml.Node) -> object:
        key = id(node)
        if key in self.built:
            return self.built[key]
        if isinstance(node, yaml.ScalarNode):
            value = self.scalar(node)
        elif node.tag not in ("tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"):
            raise ConfigError(f"unsupported YAML tag {node.tag}", file=self.file, line=self.location(node).line)
        elif isinstance(node, yaml.SequenceNode):
            value = LocatedList()
            value.location = self.location(node)
            self.built[key] = value
            for item in node.value:
                value.append(self.build(item))
                value.item_locations.append(self.location(item))
        else:
            value = LocatedDict()
            value.location = self.location(node)
            self.built[key] = value
            self.fill_mapping(value, node)
        self.built[key] = value
        return value

    def scalar(self, node: yaml.ScalarNode) -> object:
        if node.tag == _PLAIN:
            return resolve_plain_scalar(node.value)
        convert = _EXPLICIT_SCALAR_TAGS.get(node.tag)
        if convert is None:
            raise ConfigError(f"unsupported YAML tag {node.tag}", file=self.file, line=self.location(node).line)
        try:
            return convert(node.value)
        except ValueError as error:
            raise ConfigError(f"invalid {node.tag} value {node.value!r}", file=self.file,
                              line=self.location(node).line) from error

    def fill_mapping(self, mapping: LocatedDict, node: yaml.MappingNode) -> None:
        for key_node, value_node in node.value:
            if key_node.tag in (_PLAIN, "tag:yaml.org,2002:merge") and key_node.value == "<<" \
                    and isinstance(value_node, yaml.MappingNode | yaml.SequenceNode):
                self.merge_into(mapping, value_node)
                continue
            key = self.build(key_node)
            if isinstance(key, list | dict):
                raise ConfigError("a mapping key must be a scalar", file=self.file,
                                  line=self.location(key_node).line)
            mapping[key] = self.build(value_node)
            mapping.key_locations[key] = self.location(key_node)

    def merge_into(self, mapping: LocatedDict, value_node: yaml.Node) -> None:
        sources = [value_node] if isinstance(value_node, yaml.MappingNode) else list(reversed(value_node.value))
        merged = LocatedDict()
        for source in sources:
            built = self.build(source)
            if isinstance(built, LocatedDict):
                merged.update(built)
                merged.key_locations.update(built.key_locations)
        mapping.update(merged)
        mapping.key_locations.update(merged.key_locations)


def load(text: str, file: str, line_of: Callable[[int], int] | None = None) -> object:
    """Parse one YAML document. `line_of` maps a 0-based line of `text` to a 1-based source line."""
    line_of = line_of or (lambda index: index + 1)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = line_of(mark.line) if mark else None
        problem = " ".join(part for part in (error.problem, _context(error)) if part)
        raise ConfigError(f"YAML syntax error: {problem}", file=file, line=line) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"YAML error: {error}", file=file) from None
    finally:
        loader.dispose()
    if node is None:
        return None
    return _Builder(file, line_of).build(node)


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
