"""The ERB subset: what renders, what is refused (with file:line), and the line map."""

from __future__ import annotations

import pytest

from app.config.erb import render
from app.errors import ConfigError


def _render(template: str, **environ: str) -> str:
    return render(template, file="config/deploy.yml", environ=environ).text


def test_env_lookups_and_defaults() -> None:
    template = ('a: <%= ENV["A"] %>\nb: <%= ENV.fetch("B") %>\nc: <%= ENV.fetch("C", "dflt") %>\n'
                'd: <%= ENV["D"] || "fallback" %>\ne: <%= ENV[\'MISSING\'] %>|\n')
    assert _render(template, A="1", B="2") == "a: 1\nb: 2\nc: dflt\nd: fallback\ne: |\n"


def test_if_elsif_else_unless_on_env() -> None:
    template = ('<% if ENV["KAMAL_DESTINATION"] == "production" %>prod<% elsif ENV["KAMAL_DESTINATION"] != "qa" %>'
                'other<% else %>qa<% end %>|<% unless ENV["X"] %>no-x<% end %>|<% if !ENV.key?("Y") && ENV["Z"] %>'
                'z<% end %>')
    assert _render(template, KAMAL_DESTINATION="production") == "prod|no-x|"
    assert _render(template, KAMAL_DESTINATION="staging", X="1", Z="") == "other||z"
    assert _render(template, KAMAL_DESTINATION="qa", Y="1") == "qa|no-x|"


def test_trim_markers_drop_indentation_and_newline() -> None:
    template = "hosts:\n  - a\n  <%- if ENV['B'] -%>\n  - <%= ENV['B'] %>\n  <%- end -%>\n  - c\n"
    assert _render(template, B="b") == "hosts:\n  - a\n  - b\n  - c\n"
    assert _render(template) == "hosts:\n  - a\n  - c\n"


def test_without_trim_markers_newlines_stay() -> None:
    assert _render("<% if true %>\nx\n<% end %>\n") == "\nx\n\n"


def test_comments_and_escaped_tags() -> None:
    assert _render("a<%# ignored %>b <%% literal %>") == "ab <% literal %>"


def test_shell_outs_run_locally(tmp_path) -> None:
    (tmp_path / "v.txt").write_text("from-file\n")
    rendered = render('a: <%= %x(cat v.txt).strip %>\nb: <%= `printf "%s" "$WHO"` %>\nc: <%= %x{echo {x}} %>',
                      file="f", environ={"WHO": "me", "PATH": "/usr/bin:/bin"}, cwd=str(tmp_path)).text
    assert rendered == "a: from-file\nb: me\nc: {x}\n"


@pytest.mark.parametrize("code", [
    '<%= File.read("secrets") %>',
    "<% require 'json' %>",
    '<%= ENV["A"].gsub("a", "b") %>',
    "<%= Time.now %>",
    "<% while true do %><% end %>",
    "<%= ENV['A'] % 2 %>",
    "<%= `echo \\C-a` %>",
    "<%= hostname %>",
    "<% case ENV['A'] when 'a' %><% end %>",
])
def test_other_ruby_is_refused_with_file_and_line(code: str) -> None:
    with pytest.raises(ConfigError) as error:
        render(f"service: x\n\n{code}\n", file="config/deploy.yml", environ={"A": "a"})
    assert error.value.file == "config/deploy.yml"
    assert error.value.line == 3
    assert str(error.value).startswith("config/deploy.yml:3: unsupported ERB")


def test_fetch_of_a_missing_variable_fails_like_ruby() -> None:
    with pytest.raises(ConfigError, match=r'^f:2: key not found: "NOPE"$'):
        render('a: 1\nb: <%= ENV.fetch("NOPE") %>', file="f", environ={})


def test_unbalanced_blocks_are_errors() -> None:
    with pytest.raises(ConfigError, match="f:1: ERB `if` is never closed"):
        render("<% if ENV['A'] %>x", file="f", environ={})
    with pytest.raises(ConfigError, match="f:2: ERB `end` without"):
        render("x\n<% end %>", file="f", environ={})


@pytest.mark.parametrize(("template", "rendered"), [
    ("a: <%= ENV['A'] here\nb: 1\n", "a:  ENV['A'] here\nb: 1\n"),
    ("a: <% code\n", "a:  code\n"),
    ("a: <%# note", "a:  note"),
    ("a: <%= 1 %> then <%= 2", "a: 1 then  2"),
])
def test_an_unclosed_tag_is_text_without_its_marker_as_in_ruby(template: str, rendered: str) -> None:
    assert _render(template) == rendered


def test_line_map_points_rendered_lines_at_template_lines() -> None:
    template = ('service: a\n<% if ENV["X"] -%>\nx1: 1\nx2: 2\n<% end -%>\nmulti: <%= ENV["M"] %>\nlast: 1\n')
    rendered = render(template, file="f", environ={"X": "1", "M": "one\ntwo"})
    lines = rendered.text.split("\n")
    assert lines[:6] == ["service: a", "x1: 1", "x2: 2", "multi: one", "two", "last: 1"]
    assert [rendered.line_of(index) for index in range(6)] == [1, 3, 4, 6, 6, 7]
