"""The Ruby found in real deploy.yml files: each class evaluated as Ruby does, or refused with file:line.

The same inputs run through the real Kamal in tests/interop/test_config_classes.py.
"""

from __future__ import annotations

import pathlib

import pytest

from app.config import load_config
from app.config.erb import render
from app.errors import ConfigError

ENVIRON = {"PATH": "/usr/bin:/bin", "APP": "shop", "HOSTS": "10.0.0.1, 10.0.0.2,10.0.0.3", "EMPTY": "",
           "PADDED": "  value \n", "PORT": "3000"}


def value(expression: str, **extra: str) -> str:
    return render(f"<%= {expression} %>", file="config/deploy.yml", environ={**ENVIRON, **extra}).text


@pytest.mark.parametrize(("expression", "expected"), [
    ('"#{ENV["APP"]}-web"', "shop-web"),
    ("\"#{ENV.fetch('MISSING', 'dflt')}/#{ENV['APP']}\"", "dflt/shop"),
    ('"a#{1}b#{nil}c"', "a1bc"),
    ("'no #{interpolation}'", "no #{interpolation}"),
    ('"tab\\there \\u00e9 \\x41 \\101 \\\\ \\""', 'tab\there é A A \\ "'),
    ('%Q(#{ENV["APP"]} (nested))', "shop (nested)"),
    ('"#{"inner #{ENV["APP"]}"}"', "inner shop"),
])
def test_string_literals_and_interpolation(expression: str, expected: str) -> None:
    assert value(expression) == expected


@pytest.mark.parametrize(("expression", "expected"), [
    ('ENV["MISSING"] || ENV["APP"] || "z"', "shop"),
    ('ENV["MISSING"] || ENV["ALSO_MISSING"] || "fallback"', "fallback"),
    ('ENV["EMPTY"] || "not used: an empty string is true in Ruby"', ""),
    ('ENV["APP"] && ENV["PORT"]', "3000"),
    ('ENV["MISSING"] && ENV["PORT"]', ""),
    ('ENV["APP"] == "shop" ? "yes" : "no"', "yes"),
    ('ENV["APP"] != "shop" ? "yes" : "no"', "no"),
    ('!ENV["MISSING"]', "true"),
    ('ENV["MISSING"] or "low-precedence"', "low-precedence"),
    ('ENV.fetch("MISSING") { "from block" }', "from block"),
    ('ENV.key?("APP")', "true"),
])
def test_or_and_conditions(expression: str, expected: str) -> None:
    assert value(expression) == expected


@pytest.mark.parametrize(("expression", "expected"), [
    ('ENV["PADDED"].strip', "value"),
    ('ENV["PADDED"].chomp', "  value "),
    ('ENV["APP"].upcase', "SHOP"),
    ('ENV["HOSTS"].split(",").map(&:strip)', '["10.0.0.1", "10.0.0.2", "10.0.0.3"]'),
    ('ENV["HOSTS"].split(",").first.strip', "10.0.0.1"),
    ('ENV["HOSTS"].split(", ").join("|")', "10.0.0.1|10.0.0.2,10.0.0.3"),
    ('ENV["PORT"].to_i + 1', "3001"),
    ('ENV["MISSING"].to_s', ""),
    ('ENV["EMPTY"].presence || "blank"', "blank"),
    ('ENV["EMPTY"].present?', "false"),
    ('ENV["MISSING"]&.strip', ""),
    ('[1, nil, "x", :s, 1.5, "a\\"b"]', '[1, nil, "x", :s, 1.5, "a\\"b"]'),
    ("5.0e-05", "5.0e-05"),
    ("1e16", "1.0e+16"),
    ("RUBY_ENGINE", "ruby"),
])
def test_methods_on_env_values_and_literals(expression: str, expected: str) -> None:
    assert value(expression) == expected


@pytest.mark.parametrize(("expression", "expected"), [
    # Ruby's string escapes apply before the shell sees the command: `\"` is `"`, `\\` is `\`.
    ("`printf '%s' \"c\\\\d\"`", "c\\d"),
    ("%x(printf '%s|' \"#{ENV['APP']}\")", "shop|"),
    ("%x(printf 'a\\tb')", "a\tb"),
    ('%x(printf "%s" "(nested)")', "(nested)"),
    ("%x{printf '%s' \"a\\}b\"}", "a}b"),
])
def test_shell_outs_get_ruby_escapes_first(expression: str, expected: str) -> None:
    assert value(expression) == expected


def test_an_escaped_quote_reaches_the_shell_unescaped() -> None:
    # `"a\"b"` in %x() is `"a"b"` for the shell: unterminated, so sh fails and prints nothing, as under Kamal.
    assert value("%x(printf '%s' \"a\\\"b\" 2>/dev/null)") == ""


def test_loops_locals_and_blocks() -> None:
    template = ("<% hosts = ENV['HOSTS'].split(',').map(&:strip) -%>\nservers:\n<% hosts.each do |host| -%>\n"
                "  - <%= host %>\n<% end -%>\n<% for name in %w(a b) -%>\n<%= name %>: <%= hosts.length %>\n"
                "<% end -%>\n")
    assert render(template, file="f", environ=ENVIRON).text == ("servers:\n  - 10.0.0.1\n  - 10.0.0.2\n  - 10.0.0.3\n"
                                                                "a: 3\nb: 3\n")


def test_env_assignment_is_seen_later_in_the_template() -> None:
    template = '<% ENV["TAG"] ||= "v1" %><% ENV["APP"] ||= "other" %><%= ENV["TAG"] %>-<%= ENV["APP"] %>'
    rendered = render(template, file="f", environ=ENVIRON)
    assert rendered.text == "v1-shop"
    assert rendered.env_changes == {"TAG": "v1"}


def test_dotenv_load_as_kamal_users_write_it(tmp_path: pathlib.Path) -> None:
    (tmp_path / ".env").write_text("FROM_DOTENV=hello\nAPP=not-overwritten\nREF=${FROM_DOTENV}-x\n")
    template = '<% require "dotenv"; Dotenv.load(".env") %>a: <%= ENV["FROM_DOTENV"] %> <%= ENV["APP"] %> ' \
               '<%= ENV["REF"] %>'
    rendered = render(template, file="f", environ=ENVIRON, cwd=str(tmp_path))
    assert rendered.text == "a: hello shop hello-x"
    assert rendered.env_changes == {"FROM_DOTENV": "hello", "REF": "hello-x"}


def test_what_dotenv_loads_reaches_the_secrets_as_in_kamal(tmp_path: pathlib.Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(
        '<% require "dotenv"; Dotenv.load %>\nservice: app\nimage: <%= ENV["IMAGE"] %>\nservers: [h]\n'
        "registry: {username: u, password: [P]}\nbuilder: {arch: amd64}\n")
    (tmp_path / ".env").write_text("IMAGE=acme/from-dotenv\n")
    config = load_config(cwd=str(tmp_path), environ={"PATH": "/usr/bin:/bin"}, version="v")
    assert config.image == "acme/from-dotenv"


def test_kamal_inits_ruby_version_line_renders_inside_a_comment() -> None:
    line = ('#   RUBY_VERSION: <%= ENV["RBENV_VERSION"] || ENV["rvm_ruby_string"] || '
            '"#{RUBY_ENGINE}-#{RUBY_ENGINE_VERSION}" %>')
    rendered = render(f"service: a\n{line}\n", file="config/deploy.yml", environ={})
    rendered.check_unknowns({"service": "a"})  # the value only lands in a comment: nothing to refuse
    assert rendered.text.startswith("service: a\n#   RUBY_VERSION: ruby-")
    assert render(f"{line}\n", file="f", environ={"RBENV_VERSION": "3.3.1"}).text == "#   RUBY_VERSION: 3.3.1\n"


def test_an_unknowable_ruby_value_in_a_real_value_is_refused_with_its_line(tmp_path: pathlib.Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(
        "service: app\nimage: acme/app\nservers: [h]\nregistry: {username: u, password: [P]}\nbuilder:\n"
        '  arch: amd64\n  args:\n    RUBY_VERSION: <%= "#{RUBY_ENGINE}-#{RUBY_VERSION}" %>\n')
    with pytest.raises(ConfigError, match=r"^config/deploy.yml:8: RUBY_VERSION is the version of the Ruby"):
        load_config(cwd=str(tmp_path), environ={"PATH": "/usr/bin:/bin"}, version="v")


@pytest.mark.parametrize(("code", "message"), [
    ("Rails.application.credentials.dig(:kamal, :registry_password)", "uninitialized constant Rails"),
    ('ENV["MISSING"].strip', "undefined method 'strip' for nil"),
    ('ENV.fetch("MISSING")', 'key not found: "MISSING"'),
    ('"a" + 1', "no implicit conversion of Integer into String"),
    ("Dotenv.load", "uninitialized constant Dotenv"),
])
def test_ruby_that_fails_in_kamal_fails_here_with_file_and_line(code: str, message: str) -> None:
    tag = f"<% {code} %>" if code.startswith("Dotenv") else f"<%= {code} %>"
    with pytest.raises(ConfigError) as error:
        render(f"service: a\n# {tag}\n", file="config/deploy.yml", environ={})
    assert str(error.value).startswith("config/deploy.yml:2: ")
    assert message in str(error.value)
