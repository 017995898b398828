"""Ruby source text in ERB tags as tokens: literals (with Ruby's escapes and `#{...}` compiled), names, operators."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.config.ruby_values import Unsupported


@dataclass
class Token:
    kind: str  # str, shell, words, int, float, sym, ident, const, op
    value: object


_OPERATORS = ("&&", "||", "==", "!=", "&.", "&:", "!", "(", ")", "[", "]", ".", ",", "?", ":", "+", "{", "}",
              "|")
_CLOSERS = {"(": ")", "{": "}", "[": "]", "<": ">"}
_NUMBER = re.compile(r"\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][-+]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_]\w*[?!]?")
_ESCAPES = {"n": "\n", "t": "\t", "s": " ", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "v": "\v"}


class Lexer:
    def __init__(self, code: str) -> None:
        self.code = code
        self.index = 0

    def tokens(self) -> list[Token]:
        found: list[Token] = []
        code = self.code
        while self.index < len(code):
            char = code[self.index]
            if char in " \t\r\n" or (char == "\\" and code.startswith("\\\n", self.index)):
                self.index += 1 if char != "\\" else 2
            elif char == "#":
                end = code.find("\n", self.index)
                self.index = len(code) if end < 0 else end
            elif char == '"':
                self.index += 1
                found.append(Token("str", self.double_quoted('"', None)))
            elif char == "'":
                self.index += 1
                found.append(Token("str", [self.single_quoted("'", None)]))
            elif char == "`":
                self.index += 1
                found.append(Token("shell", self.double_quoted("`", None)))
            elif char == "%" and self.index + 1 < len(code) and (code[self.index + 1] in "xqQw"
                                                                 or code[self.index + 1] in "({[<|!/"):
                found.append(self.percent_literal())
            elif char.isdigit():
                match = _NUMBER.match(code, self.index)
                assert match
                text = match.group().replace("_", "")
                self.index = match.end()
                found.append(Token("float", float(text)) if "." in text or "e" in text.lower()
                             else Token("int", int(text)))
            elif char == ":" and self.index + 1 < len(code) and (code[self.index + 1].isalpha()
                                                                 or code[self.index + 1] == "_"):
                match = _IDENT.match(code, self.index + 1)
                assert match
                self.index = match.end()
                found.append(Token("sym", match.group()))
            elif char.isalpha() or char == "_":
                match = _IDENT.match(code, self.index)
                assert match
                word = match.group()
                self.index += len(word)
                found.append(Token("const" if word[0].isupper() else "ident", word))
            else:
                for operator in _OPERATORS:
                    if code.startswith(operator, self.index):
                        found.append(Token("op", operator))
                        self.index += len(operator)
                        break
                else:
                    raise Unsupported(f"the character {char!r}")
        return found

    def percent_literal(self) -> Token:
        code = self.code
        kind = code[self.index + 1]
        self.index += 2 if kind in "xqQw" else 1
        if kind not in "xqQw":
            kind = "Q"
        if self.index >= len(code):
            raise Unsupported("an unterminated % literal")
        opener = code[self.index]
        if opener.isalnum() or opener.isspace():
            raise Unsupported(f"%{kind} with the delimiter {opener!r}")
        self.index += 1
        closer = _CLOSERS.get(opener, opener)
        nest = opener if closer != opener else None
        if kind == "x":
            return Token("shell", self.double_quoted(closer, nest))
        if kind == "Q":
            return Token("str", self.double_quoted(closer, nest))
        text = self.single_quoted(closer, nest)
        if kind == "q":
            return Token("str", [text])
        return Token("words", text.split())

    def single_quoted(self, closer: str, nest: str | None) -> str:
        code = self.code
        out: list[str] = []
        depth = 0
        while self.index < len(code):
            char = code[self.index]
            if char == "\\" and self.index + 1 < len(code) and code[self.index + 1] in ("\\", closer, nest or closer):
                out.append(code[self.index + 1])
                self.index += 2
                continue
            self.index += 1
            if nest and char == nest:
                depth += 1
            elif char == closer:
                if depth == 0:
                    return "".join(out)
                depth -= 1
            out.append(char)
        raise Unsupported("an unterminated string")

    def double_quoted(self, closer: str, nest: str | None) -> list[object]:
        """Ruby's double-quoted string body: escapes applied, `#{...}` compiled; parts are str or Expr."""
        code = self.code
        parts: list[object] = []
        out: list[str] = []
        depth = 0
        while self.index < len(code):
            char = code[self.index]
            if char == "\\":
                self.index += 1
                out.append(self.escape(closer, nest))
                continue
            if char == "#" and code.startswith("#{", self.index):
                end = _matching_brace(code, self.index + 1)
                if end < 0:
                    raise Unsupported("an unterminated #{")
                if out:
                    parts.append("".join(out))
                    out = []
                from app.config.ruby_expr import compile_expression  # interpolation is an expression again

                parts.append(compile_expression(code[self.index + 2:end]))
                self.index = end + 1
                continue
            if char == "#" and self.index + 1 < len(code) and code[self.index + 1] in "@$":
                raise Unsupported("#@ or #$ interpolation")
            self.index += 1
            if nest and char == nest:
                depth += 1
            elif char == closer:
                if depth == 0:
                    if out:
                        parts.append("".join(out))
                    return parts
                depth -= 1
            out.append(char)
        raise Unsupported("an unterminated string")

    def escape(self, closer: str, nest: str | None) -> str:
        code = self.code
        if self.index >= len(code):
            raise Unsupported("a trailing backslash")
        char = code[self.index]
        self.index += 1
        if char in _ESCAPES:
            return _ESCAPES[char]
        if char == "\n":
            return ""
        if char in "01234567":
            match = re.match(r"[0-7]{1,3}", code[self.index - 1:])
            assert match
            self.index += len(match.group()) - 1
            return chr(int(match.group(), 8))
        if char == "x":
            match = re.match(r"[0-9a-fA-F]{1,2}", code[self.index:])
            if not match:
                raise Unsupported("an invalid \\x escape")
            self.index += len(match.group())
            return chr(int(match.group(), 16))
        if char == "u":
            if code.startswith("{", self.index):
                end = code.find("}", self.index)
                if end < 0:
                    raise Unsupported("an invalid \\u escape")
                points = code[self.index + 1:end].split()
                self.index = end + 1
                return "".join(chr(int(point, 16)) for point in points)
            match = re.match(r"[0-9a-fA-F]{4}", code[self.index:])
            if not match:
                raise Unsupported("an invalid \\u escape")
            self.index += 4
            return chr(int(match.group(), 16))
        if char in "cCM":
            raise Unsupported("control and meta escapes")
        return char  # `\"` is `"`, `\\` is `\`, `\$` is `$`, and any other `\c` is `c`


def _matching_brace(code: str, open_index: int) -> int:
    depth = 0
    index = open_index
    quote: str | None = None
    while index < len(code):
        char = code[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


