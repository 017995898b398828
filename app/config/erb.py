"""The part of ERB that real Kamal configs use, rendered the way Ruby's `ERB.new(t, trim_mode: "-")` does.

Supported: `<%= expr %>`, `<% if/elsif/else/unless/end %>`, `<%# comments %>`, `<%%` escapes and the
`<%-`/`-%>` trim markers. An expression is built from `ENV["X"]`, `ENV.fetch("X"[, "default"])`,
`ENV.key?("X")`, string/integer/nil/true/false literals, `%x(...)` or backtick shell-outs (run locally
with /bin/sh, as Ruby does), `==`, `!=`, `!`, `&&`, `||`, parentheses and a few string methods
(`strip`, `chomp`, `to_s`, `downcase`, `upcase`, `present?`, `blank?`, `nil?`, `empty?`, `presence`).
Anything else is refused with `file:line`, rather than half-evaluated.

Rendering also returns, for each line of the output, the template line it came from, so that YAML
errors and validation errors point at the line the operator wrote.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from app.errors import ConfigError
from app.rubyish import blank, to_s, truthy

SUPPORTED = (
    "shipdeck's ERB understands ENV[...], ENV.fetch(...), if/elsif/else/unless/end on them, "
    "and %x(...) or backtick shell-outs"
)


@dataclass
class Rendered:
    text: str
    origins: list[int]  # origins[i] = template line (1-based) of rendered line i (0-based)

    def line_of(self, rendered_line: int) -> int:
        if not self.origins:
            return 1
        return self.origins[min(rendered_line, len(self.origins) - 1)]


# ---------------------------------------------------------------- template tokens

@dataclass
class _Token:
    kind: str  # "text", "expr", "code"
    content: str
    line: int


_TAG = re.compile(r"<%(%|#|=|-)?")


def _tokenize(template: str, file: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    text = ""
    text_start = 0
    trim_next_newline = False

    def line_at(offset: int) -> int:
        return template.count("\n", 0, offset) + 1

    def flush(end: int) -> None:
        nonlocal text
        if text:
            tokens.append(_Token("text", text, line_at(text_start)))
        text = ""

    while True:
        if trim_next_newline:
            for newline in ("\n", "\r\n"):
                if template.startswith(newline, position):
                    position += len(newline)
                    break
            trim_next_newline = False
        match = _TAG.search(template, position)
        chunk_end = match.start() if match else len(template)
        if not text:
            text_start = position
        text += template[position:chunk_end]
        if not match:
            flush(len(template))
            return tokens
        marker = match.group(1)
        if marker == "%":  # `<%%` is a literal `<%`
            text += "<%"
            position = match.end()
            continue
        close = template.find("%>", match.end())
        if close < 0:
            raise ConfigError("ERB tag `<%` is never closed with `%>`", file=file, line=line_at(match.start()))
        body = template[match.end():close]
        trim_next_newline = body.endswith("-")
        if trim_next_newline:
            body = body[:-1]
        if marker == "-":
            # `<%-` drops the indentation before the tag when only blanks precede it on its line.
            head, newline, tail = text.rpartition("\n")
            candidate = tail if newline else text
            at_line_start = bool(newline) or text_start == 0 or template[text_start - 1] == "\n"
            if at_line_start and candidate.strip(" \t") == "":
                text = head + newline
        flush(match.start())
        line = line_at(match.start())
        if marker == "#":
            pass
        elif marker == "=":
            tokens.append(_Token("expr", body, line))
        else:
            tokens.append(_Token("code", body, line))
        position = close + 2


# ---------------------------------------------------------------- Ruby expression subset

@dataclass
class _Lexeme:
    kind: str  # "str", "int", "name", "op", "shell"
    value: str


_OPERATORS = ("==", "!=", "&&", "||", "!", "(", ")", "[", "]", ".", ",")
_SHELL_CLOSERS = {"(": ")", "{": "}", "[": "]", "<": ">"}


class _Unsupported(Exception):
    pass


def _lex(code: str) -> list[_Lexeme]:
    lexemes: list[_Lexeme] = []
    index = 0
    while index < len(code):
        char = code[index]
        if char.isspace():
            index += 1
        elif code.startswith("%x", index):
            body, index = _delimited_shell(code, index + 2)
            lexemes.append(_Lexeme("shell", body))
        elif char == "`":
            end = code.find("`", index + 1)
            if end < 0:
                raise _Unsupported
            lexemes.append(_Lexeme("shell", _no_interpolation(code[index + 1:end])))
            index = end + 1
        elif char in "\"'":
            value, index = _string_literal(code, index)
            lexemes.append(_Lexeme("str", value))
        elif char.isdigit():
            match = re.match(r"\d[\d_]*", code[index:])
            lexemes.append(_Lexeme("int", match.group().replace("_", "")))
            index += match.end()
        elif char.isalpha() or char == "_":
            match = re.match(r"[A-Za-z_]\w*[?!]?", code[index:])
            lexemes.append(_Lexeme("name", match.group()))
            index += match.end()
        else:
            for operator in _OPERATORS:
                if code.startswith(operator, index):
                    lexemes.append(_Lexeme("op", operator))
                    index += len(operator)
                    break
            else:
                raise _Unsupported
    return lexemes


def _no_interpolation(text: str) -> str:
    if "#{" in text:
        raise _Unsupported
    return text


def _delimited_shell(code: str, index: int) -> tuple[str, int]:
    if index >= len(code):
        raise _Unsupported
    opener = code[index]
    closer = _SHELL_CLOSERS.get(opener, opener)
    if opener.isalnum() or opener.isspace():
        raise _Unsupported
    depth = 1
    position = index + 1
    while position < len(code):
        char = code[position]
        if char == "\\":
            position += 2
            continue
        if char == closer:
            depth -= 1
            if depth == 0:
                return _no_interpolation(code[index + 1:position]), position + 1
        elif char == opener and closer != opener:
            depth += 1
        position += 1
    raise _Unsupported


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "s": " ", "e": "\x1b", "a": "\a", "b": "\b",
            "f": "\f", "v": "\v"}


def _string_literal(code: str, index: int) -> tuple[str, int]:
    quote = code[index]
    out: list[str] = []
    position = index + 1
    while position < len(code):
        char = code[position]
        if char == quote:
            return "".join(out), position + 1
        if char == "\\" and position + 1 < len(code):
            escaped = code[position + 1]
            if quote == "'":
                out.append(escaped if escaped in "\\'" else "\\" + escaped)
            else:
                out.append(_ESCAPES.get(escaped, escaped))
            position += 2
            continue
        if quote == '"' and code.startswith("#{", position):
            raise _Unsupported
        out.append(char)
        position += 1
    raise _Unsupported


# An expression is compiled to a closure taking the evaluation context.
_Expr = Callable[["_Context"], object]

_STRING_METHODS: dict[str, Callable[[object], object]] = {
    "to_s": lambda value: to_s(value),
    "strip": lambda value: _str_only(value, "strip").strip(" \t\n\v\f\r\0"),
    "chomp": lambda value: _chomp(_str_only(value, "chomp")),
    "downcase": lambda value: _str_only(value, "downcase").lower(),
    "upcase": lambda value: _str_only(value, "upcase").upper(),
    "empty?": lambda value: _str_only(value, "empty?") == "",
    "nil?": lambda value: value is None,
    "blank?": lambda value: blank(value),
    "present?": lambda value: not blank(value),
    "presence": lambda value: None if blank(value) else value,
}


class _NoMethod(Exception):
    def __init__(self, method: str, value: object) -> None:
        super().__init__(f"undefined method '{method}' for {'nil' if value is None else type(value).__name__}")


def _str_only(value: object, method: str) -> str:
    if not isinstance(value, str):
        raise _NoMethod(method, value)
    return value


def _chomp(text: str) -> str:
    for ending in ("\r\n", "\n", "\r"):
        if text.endswith(ending):
            return text[: -len(ending)]
    return text


class _Parser:
    def __init__(self, lexemes: list[_Lexeme]) -> None:
        self.lexemes = lexemes
        self.index = 0

    def peek(self, kind: str | None = None, value: str | None = None) -> bool:
        if self.index >= len(self.lexemes):
            return False
        lexeme = self.lexemes[self.index]
        return (kind is None or lexeme.kind == kind) and (value is None or lexeme.value == value)

    def take(self, kind: str, value: str | None = None) -> _Lexeme:
        if not self.peek(kind, value):
            raise _Unsupported
        self.index += 1
        return self.lexemes[self.index - 1]

    def parse(self) -> _Expr:
        expression = self.or_expr()
        if self.index != len(self.lexemes):
            raise _Unsupported
        return expression

    def or_expr(self) -> _Expr:
        left = self.and_expr()
        while self.peek("op", "||"):
            self.index += 1
            right = self.and_expr()
            left = (lambda a, b: lambda ctx: a(ctx) if truthy(a(ctx)) else b(ctx))(left, right)
        return left

    def and_expr(self) -> _Expr:
        left = self.not_expr()
        while self.peek("op", "&&"):
            self.index += 1
            right = self.not_expr()
            left = (lambda a, b: lambda ctx: b(ctx) if truthy(value := a(ctx)) else value)(left, right)
        return left

    def not_expr(self) -> _Expr:
        if self.peek("op", "!"):
            self.index += 1
            inner = self.not_expr()
            return lambda ctx: not truthy(inner(ctx))
        return self.comparison()

    def comparison(self) -> _Expr:
        left = self.postfix()
        for operator in ("==", "!="):
            if self.peek("op", operator):
                self.index += 1
                right = self.postfix()
                if operator == "==":
                    return lambda ctx: left(ctx) == right(ctx)
                return lambda ctx: left(ctx) != right(ctx)
        return left

    def postfix(self) -> _Expr:
        expression = self.primary()
        while self.peek("op", "."):
            self.index += 1
            name = self.take("name").value
            method = _STRING_METHODS.get(name)
            if method is None:
                raise _Unsupported
            expression = (lambda inner, call: lambda ctx: call(inner(ctx)))(expression, method)
        return expression

    def primary(self) -> _Expr:
        if self.peek("op", "("):
            self.index += 1
            inner = self.or_expr()
            self.take("op", ")")
            return inner
        if self.peek("str"):
            value = self.take("str").value
            return lambda ctx: value
        if self.peek("int"):
            number = int(self.take("int").value)
            return lambda ctx: number
        if self.peek("shell"):
            command = self.take("shell").value
            return lambda ctx: ctx.shell(command)
        name = self.take("name").value
        if name in ("nil", "true", "false"):
            constant = {"nil": None, "true": True, "false": False}[name]
            return lambda ctx: constant
        if name == "ENV":
            return self.env_access()
        raise _Unsupported

    def env_access(self) -> _Expr:
        if self.peek("op", "["):
            self.index += 1
            key = self.take("str").value
            self.take("op", "]")
            return lambda ctx: ctx.environ.get(key)
        self.take("op", ".")
        method = self.take("name").value
        self.take("op", "(")
        key = self.take("str").value
        if method == "key?":
            self.take("op", ")")
            return lambda ctx: key in ctx.environ
        if method != "fetch":
            raise _Unsupported
        if self.peek("op", ","):
            self.index += 1
            default = self.or_expr()
            self.take("op", ")")
            return lambda ctx: ctx.environ[key] if key in ctx.environ else default(ctx)
        self.take("op", ")")
        return lambda ctx: ctx.fetch(key)


def _compile(code: str, file: str, line: int) -> _Expr:
    try:
        return _Parser(_lex(code)).parse()
    except _Unsupported:
        raise ConfigError(f"unsupported ERB `{code.strip()}`: {SUPPORTED}", file=file, line=line) from None


# ---------------------------------------------------------------- template structure

@dataclass
class _Text:
    text: str
    line: int


@dataclass
class _Output:
    expression: _Expr
    line: int


@dataclass
class _Branch:
    condition: _Expr | None  # None: else
    line: int
    body: list = field(default_factory=list)


@dataclass
class _If:
    branches: list[_Branch]
    line: int


_CONTROL = re.compile(r"^\s*(if|elsif|unless)\b(.*?)(?:\bthen)?\s*$|^\s*(else|end)\s*$", re.DOTALL)


def _structure(tokens: list[_Token], file: str) -> list:
    root: list = []
    stack: list[tuple[_If, list]] = []  # open ifs and the body being filled
    body = root
    for token in tokens:
        if token.kind == "text":
            body.append(_Text(token.content, token.line))
        elif token.kind == "expr":
            body.append(_Output(_compile(token.content, file, token.line), token.line))
        else:
            if token.content.strip() == "":
                continue
            match = _CONTROL.match(token.content)
            if not match:
                _compile_statement_error(token, file)
            keyword = match.group(1) or match.group(3)
            if keyword in ("if", "unless"):
                condition = _compile(match.group(2), file, token.line)
                if keyword == "unless":
                    condition = (lambda inner: lambda ctx: not truthy(inner(ctx)))(condition)
                statement = _If([_Branch(condition, token.line)], token.line)
                body.append(statement)
                stack.append((statement, body))
                body = statement.branches[0].body
            elif keyword in ("elsif", "else"):
                if not stack or stack[-1][0].branches[-1].condition is None:
                    raise ConfigError(f"ERB `{keyword}` without a matching `if`", file=file, line=token.line)
                condition = _compile(match.group(2), file, token.line) if keyword == "elsif" else None
                branch = _Branch(condition, token.line)
                stack[-1][0].branches.append(branch)
                body = branch.body
            else:  # end
                if not stack:
                    raise ConfigError("ERB `end` without a matching `if`", file=file, line=token.line)
                _, body = stack.pop()
    if stack:
        raise ConfigError("ERB `if` is never closed with `end`", file=file, line=stack[-1][0].line)
    return root


def _compile_statement_error(token: _Token, file: str) -> None:
    raise ConfigError(f"unsupported ERB `{token.content.strip()}`: {SUPPORTED}", file=file, line=token.line)


# ---------------------------------------------------------------- evaluation

class _Context:
    def __init__(self, environ: Mapping[str, str], cwd: str | None, file: str) -> None:
        self.environ = environ
        self.cwd = cwd
        self.file = file
        self.line = 0

    def fetch(self, key: str) -> str:
        if key not in self.environ:
            raise ConfigError(f'key not found: "{key}"', file=self.file, line=self.line)
        return self.environ[key]

    def shell(self, command: str) -> str:
        try:
            result = subprocess.run(["/bin/sh", "-c", command], cwd=self.cwd, env=dict(self.environ),
                                    stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, check=False)
        except OSError as error:
            raise ConfigError(f"shell-out failed: {error.strerror}", file=self.file, line=self.line) from None
        if result.returncode == 127:
            raise ConfigError(f"shell-out `{command}`: command not found", file=self.file, line=self.line)
        return result.stdout.decode("utf-8", errors="replace")


class _Writer:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.origins: list[int] = []
        self.line_has_content = False

    def write(self, text: str, line: int, advance: bool) -> None:
        """Append text; `advance` says whether its newlines are template newlines (literal text)."""
        if not self.origins:
            self.origins.append(line)
        pieces = text.split("\n")
        for index, piece in enumerate(pieces):
            if index:
                self.parts.append("\n")
                if advance:
                    line += 1
                self.origins.append(line)
                self.line_has_content = False
            if piece:
                if not self.line_has_content:
                    self.origins[-1] = line
                    self.line_has_content = True
                self.parts.append(piece)


def _run(nodes: list, context: _Context, writer: _Writer) -> None:
    for node in nodes:
        if isinstance(node, _Text):
            writer.write(node.text, node.line, advance=True)
        elif isinstance(node, _Output):
            context.line = node.line
            writer.write(to_s(_evaluate(node.expression, context)), node.line, advance=False)
        else:
            for branch in node.branches:
                context.line = branch.line
                if branch.condition is None or truthy(_evaluate(branch.condition, context)):
                    _run(branch.body, context, writer)
                    break


def _evaluate(expression: _Expr, context: _Context) -> object:
    try:
        return expression(context)
    except _NoMethod as error:
        raise ConfigError(str(error), file=context.file, line=context.line) from None


def render(template: str, *, file: str, environ: Mapping[str, str], cwd: str | None = None) -> Rendered:
    """Render `template`; `file` names it in errors; shell-outs run in `cwd` with `environ`."""
    tree = _structure(_tokenize(template, file), file)
    writer = _Writer()
    _run(tree, _Context(environ, cwd, file), writer)
    return Rendered("".join(writer.parts), writer.origins or [1])
