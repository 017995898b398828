"""ERB as Kamal renders deploy.yml (`ERB.new(template, trim_mode: "-").result`), for the Ruby real configs use.

Tags: `<%= expr %>`, `<% code %>`, `<%# comment %>`, `<%%` for a literal `<%`, and the `<%-`/`-%>` trim
markers. Code: `if/elsif/else/unless/end`, `LIST.each do |x|` (and `each_with_index`, `for x in LIST`)
... `end`, local variables, `ENV["X"] = ...`, `require "dotenv"` with `Dotenv.load(...)`, and the
expressions of `app.config.ruby_expr`. Anything else is refused with `file:line` rather than
half-evaluated. Like Ruby, ERB inside YAML comments runs too (so `kamal init`'s commented
`RUBY_VERSION: <%= ENV["RBENV_VERSION"] || ... %>` line renders, and a `Rails...` line fails in both).

Rendering also returns, for each line of the output, the template line it came from, so that YAML
errors and validation errors point at the line the operator wrote.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field

from app.config.ruby_expr import (
    Expr,
    RubyError,
    Scope,
    Unsupported,
    compile_expression,
    compile_statement,
    ruby_to_s,
    split_statements,
)
from app.config.ruby_values import UNKNOWABLE_CONSTANTS
from app.errors import ConfigError
from app.rubyish import truthy

SUPPORTED = (
    "shipdeck evaluates ENV lookups, string literals and interpolation, ||, &&, ==, ?:, if/unless, each loops, "
    "local variables, Dotenv.load, a few String and Array methods, and %x(...) or backtick shell-outs"
)


@dataclass
class Rendered:
    text: str
    origins: list[int]  # origins[i] = template line (1-based) of rendered line i (0-based)
    mapped: bool = True  # False when the text is the template itself (no ERB): lines map one to one
    unknowns: dict[str, tuple[str, int]] = field(default_factory=dict)  # placeholder -> (constant, line)
    env_changes: dict[str, str] = field(default_factory=dict)  # ENV set by the template (Dotenv.load, ENV[]=)
    file: str = ""

    def line_of(self, rendered_line: int) -> int:
        if not self.mapped:
            return rendered_line + 1
        if not self.origins:
            return 1
        return self.origins[min(rendered_line, len(self.origins) - 1)]

    def check_unknowns(self, value: object) -> None:
        """Refuse a value of the Ruby that runs Kamal (RUBY_VERSION) that reached the parsed YAML."""
        if not self.unknowns or not any(placeholder in self.text for placeholder in self.unknowns):
            return
        pending = [value]
        seen: set[int] = set()  # aliases share containers: visit each once
        while pending:
            item = pending.pop()
            if isinstance(item, dict | list):
                if id(item) in seen:
                    continue
                seen.add(id(item))
            if isinstance(item, dict):
                pending.extend(item.keys())
                pending.extend(item.values())
            elif isinstance(item, list):
                pending.extend(item)
            elif isinstance(item, str):
                for placeholder, (name, line) in self.unknowns.items():
                    if placeholder in item:
                        raise ConfigError(f"{name} is {UNKNOWABLE_CONSTANTS[name]}, which shipdeck cannot know; "
                                          "it may only appear where YAML ignores it (a comment)",
                                          file=self.file, line=line)


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

    def flush() -> None:
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
            flush()
            return tokens
        marker = match.group(1)
        if marker == "%":  # `<%%` is a literal `<%`
            text += "<%"
            position = match.end()
            continue
        close = template.find("%>", match.end())
        if close < 0:  # Ruby's ERB drops the opening marker and keeps the rest as text
            text += template[match.end():]
            flush()
            return tokens
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
        flush()
        line = line_at(match.start())
        if marker == "=":
            tokens.append(_Token("expr", body, line))
        elif marker != "#":
            tokens.append(_Token("code", body, line))
        position = close + 2


# ---------------------------------------------------------------- template structure

@dataclass
class _Text:
    text: str
    line: int


@dataclass
class _Output:
    expression: Expr
    line: int


@dataclass
class _Statement:
    statement: Expr
    line: int


@dataclass
class _Branch:
    condition: Expr | None  # None: else
    line: int
    body: list = field(default_factory=list)


@dataclass
class _If:
    branches: list[_Branch]
    line: int


@dataclass
class _Loop:
    items: Expr
    names: tuple[str, ...]
    with_index: bool
    line: int
    body: list = field(default_factory=list)


_CONDITIONAL = re.compile(r"^\s*(if|elsif|unless)\b(.*?)(?:\bthen)?\s*$", re.DOTALL)
_KEYWORD = re.compile(r"^\s*(else|end)\s*$")
_EACH = re.compile(r"^\s*(.+?)\.(each|each_with_index)\s+do\s*\|\s*(\w+)\s*(?:,\s*(\w+)\s*)?\|\s*$", re.DOTALL)
_FOR = re.compile(r"^\s*for\s+(\w+)\s+in\s+(.+?)(?:\s+do)?\s*$", re.DOTALL)


class _Structure:
    def __init__(self, file: str, load_dotenv: Callable[[Scope, bool, bool, list[str]], None]) -> None:
        self.file = file
        self.load_dotenv = load_dotenv
        self.required: set[str] = set()
        self.root: list = []
        self.stack: list[tuple[_If | _Loop, list]] = []  # open blocks and the body that contains them
        self.body = self.root

    def compile(self, compile_: Callable[[], Expr], code: str, line: int) -> Expr:
        try:
            return compile_()
        except Unsupported as error:
            detail = f" ({error.detail})" if error.detail else ""
            raise ConfigError(f"unsupported ERB `{_shown(code)}`{detail}: {SUPPORTED}", file=self.file,
                              line=line) from None
        except RubyError as error:
            raise ConfigError(f"{error} in ERB `{_shown(code)}`", file=self.file, line=line) from None
        except RecursionError:
            raise ConfigError(f"ERB `{_shown(code)}` is nested too deeply", file=self.file, line=line) from None

    def add(self, token: _Token) -> None:
        if token.kind == "text":
            self.body.append(_Text(token.content, token.line))
        elif token.kind == "expr":
            expression = self.compile(lambda: compile_expression(token.content), token.content, token.line)
            self.body.append(_Output(expression, token.line))
        else:
            for statement in split_statements(token.content):
                self.statement(statement, token.line)

    def statement(self, code: str, line: int) -> None:
        conditional = _CONDITIONAL.match(code)
        keyword = _KEYWORD.match(code)
        each = _EACH.match(code)
        loop = _FOR.match(code)
        if conditional and conditional.group(1) in ("if", "unless"):
            condition = self.compile(lambda: compile_expression(conditional.group(2)), code, line)
            if conditional.group(1) == "unless":
                condition = (lambda inner: lambda scope: not truthy(inner(scope)))(condition)
            self.open(_If([_Branch(condition, line)], line), lambda block: block.branches[0].body)
        elif conditional or (keyword and keyword.group(1) == "else"):
            name = conditional.group(1) if conditional else "else"
            if not self.stack or not isinstance(self.stack[-1][0], _If) \
                    or self.stack[-1][0].branches[-1].condition is None:
                raise ConfigError(f"ERB `{name}` without a matching `if`", file=self.file, line=line)
            condition = self.compile(lambda: compile_expression(conditional.group(2)), code, line) \
                if conditional else None
            branch = _Branch(condition, line)
            self.stack[-1][0].branches.append(branch)  # type: ignore[union-attr]
            self.body = branch.body
        elif keyword:  # end
            if not self.stack:
                raise ConfigError("ERB `end` without a matching `if` or loop", file=self.file, line=line)
            _, self.body = self.stack.pop()
        elif each or loop:
            source = each.group(1) if each else loop.group(2)  # type: ignore[union-attr]
            items = self.compile(lambda: compile_expression(source), code, line)
            if each:
                names = tuple(name for name in (each.group(3), each.group(4)) if name)
                block = _Loop(items, names, each.group(2) == "each_with_index", line)
            else:
                block = _Loop(items, (loop.group(1),), False, line)  # type: ignore[union-attr]
            self.open(block, lambda opened: opened.body)
        else:
            self.body.append(_Statement(self.compile(
                lambda: compile_statement(code, self.required, self.load_dotenv), code, line), line))

    def open(self, block: _If | _Loop, body_of: Callable) -> None:
        self.body.append(block)
        self.stack.append((block, self.body))
        self.body = body_of(block)

    def finish(self) -> list:
        if self.stack:
            block = self.stack[-1][0]
            kind = "if" if isinstance(block, _If) else "loop"
            raise ConfigError(f"ERB `{kind}` is never closed with `end`", file=self.file, line=block.line)
        return self.root


def _shown(code: str) -> str:
    text = " ".join(code.split())
    return text if len(text) <= 80 else text[:77] + "..."


# ---------------------------------------------------------------- evaluation

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


class _Renderer:
    def __init__(self, scope: Scope, file: str, writer: _Writer, current_line: list[int]) -> None:
        self.scope = scope
        self.file = file
        self.writer = writer
        self.current_line = current_line  # shared with the shell-out and Dotenv helpers, for their errors
        self.unknown_lines: dict[str, int] = {}

    def evaluate(self, expression: Expr, line: int) -> object:
        self.current_line[0] = line
        known = set(self.scope.unknowns)
        try:
            value = expression(self.scope)
        except RubyError as error:
            raise ConfigError(str(error), file=self.file, line=line) from None
        except Unsupported as error:
            raise ConfigError(f"unsupported ERB: {error.detail}", file=self.file, line=line) from None
        except RecursionError:
            raise ConfigError("an ERB expression nested too deeply", file=self.file, line=line) from None
        for placeholder in set(self.scope.unknowns) - known:
            self.unknown_lines[placeholder] = line
        return value

    def run(self, nodes: list) -> None:
        # A stack of iterators instead of recursion: templates may nest blocks deeply.
        stack = [iter(nodes)]
        while stack:
            node = next(stack[-1], None)
            if node is None:
                stack.pop()
                continue
            if isinstance(node, _Text):
                self.writer.write(node.text, node.line, advance=True)
            elif isinstance(node, _Output):
                self.writer.write(ruby_to_s(self.evaluate(node.expression, node.line)), node.line, advance=False)
            elif isinstance(node, _Statement):
                self.evaluate(node.statement, node.line)
            elif isinstance(node, _If):
                for branch in node.branches:
                    if branch.condition is None or truthy(self.evaluate(branch.condition, branch.line)):
                        stack.append(iter(branch.body))
                        break
            else:
                stack.append(self.loop_bodies(node))

    def loop_bodies(self, loop: _Loop):
        """Each iteration's body, with the loop variables set (Ruby keeps them visible after a `for`)."""
        items = self.evaluate(loop.items, loop.line)
        if not isinstance(items, list):
            if items is None:
                raise ConfigError("undefined method 'each' for nil", file=self.file, line=loop.line)
            raise ConfigError("unsupported ERB: a loop over something other than an Array", file=self.file,
                              line=loop.line)
        for index, item in enumerate(list(items)):
            values: list[object] = [item, index] if loop.with_index else [item]
            for name, value in zip(loop.names, values, strict=False):
                self.scope.locals[name] = value
            yield from loop.body


def _shell(cwd: str | None, environ: Mapping[str, str], file: str, line: Callable[[], int]) -> Callable[[str], str]:
    def run(command: str) -> str:
        try:
            result = subprocess.run(["/bin/sh", "-c", command], cwd=cwd, env=dict(environ), capture_output=True,
                                    stdin=subprocess.DEVNULL, check=False)
        except OSError as error:
            raise ConfigError(f"shell-out failed: {error.strerror}", file=file, line=line()) from None
        if result.returncode == 127:
            raise ConfigError(f"shell-out `{command}`: command not found", file=file, line=line())
        if result.stderr:  # the command's own messages, as Ruby lets them through
            sys.stderr.write(result.stderr.decode("utf-8", errors="replace"))
        return result.stdout.decode("utf-8", errors="replace")

    return run


def _dotenv_loader(cwd: str | None, file: str, line: Callable[[], int]):
    def load(scope: Scope, overwrite: bool, strict: bool, names: list[str]) -> None:
        from app.secrets import dotenv, inline, shell

        environ = scope.environ
        context = dotenv.Context(environ=environ, run_shell=lambda command: shell.backticks(command, environ),
                                 run_kamal=lambda argv: inline.run(argv, environ))
        for name in names:
            path = os.path.join(cwd or ".", name)
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except FileNotFoundError:
                if strict:
                    raise ConfigError(f"Dotenv.load!: No such file or directory @ rb_sysopen - {name}", file=file,
                                      line=line()) from None
                continue
            except (OSError, UnicodeDecodeError) as error:
                raise ConfigError(f"Dotenv.load: cannot read {name}: {error}", file=file, line=line()) from None
            for key, value in dotenv.parse(text, context, file=name).items():
                if overwrite or key not in environ:
                    scope.set_env(key, value)

    return load


def render(template: str, *, file: str, environ: Mapping[str, str], cwd: str | None = None) -> Rendered:
    """Render `template`; `file` names it in errors; shell-outs run in `cwd` with the ERB's ENV, which
    starts as a copy of `environ` (what the template sets is in `Rendered.env_changes`)."""
    if "<%" not in template:
        return Rendered(template, [], mapped=False, file=file)
    current_line = [0]
    structure = _Structure(file, _dotenv_loader(cwd, file, lambda: current_line[0]))
    for token in _tokenize(template, file):
        structure.add(token)
    tree = structure.finish()
    env: MutableMapping[str, str] = dict(environ)
    scope = Scope(environ=env, shell=_shell(cwd, env, file, lambda: current_line[0]))
    writer = _Writer()
    renderer = _Renderer(scope, file, writer, current_line)
    renderer.run(tree)
    unknowns = {placeholder: (name, renderer.unknown_lines.get(placeholder, 1))
                for placeholder, name in scope.unknowns.items()}
    return Rendered("".join(writer.parts), writer.origins or [1], unknowns=unknowns,
                    env_changes=dict(scope.env_changes), file=file)
