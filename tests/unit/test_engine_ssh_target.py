"""How the engine reaches a server entry, as Kamal does: the address SSHKit parses out of the entry (the
entry's own port and user give way to `ssh:`), and key_data entries as secrets only when the secrets
files define them."""

from __future__ import annotations

import pathlib

from app.engine.project import open_project, ssh_target

CONFIG = """service: app
image: app/app
servers:
  - 127.0.0.1:1
  - deploy@10.0.0.5
  - 10.0.0.6
registry:
  username: u
  password: p
builder:
  arch: amd64
ssh:
  port: 2222
  key_data:
    - SSH_KEY
    - literal-key-text
"""


def _project(tmp_path: pathlib.Path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # Kamal reads .kamal/secrets from the working directory
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(CONFIG)
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text("SSH_KEY=key-from-secrets\n")
    return open_project("config/deploy.yml", version="v1")


def test_the_entry_names_the_host_and_ssh_connects_to_its_address(tmp_path: pathlib.Path, monkeypatch) -> None:
    config, secrets = _project(tmp_path, monkeypatch)
    odd = ssh_target(config, "127.0.0.1:1", secrets)
    assert (odd.host, odd.connect_host, odd.port) == ("127.0.0.1:1", "127.0.0.1", 2222)
    assert ssh_target(config, "deploy@10.0.0.5", secrets).connect_host == "10.0.0.5"
    plain = ssh_target(config, "10.0.0.6", secrets)
    assert plain.address is None and plain.connect_host == "10.0.0.6"


def test_key_data_is_a_secret_only_when_the_secrets_files_define_it(tmp_path: pathlib.Path, monkeypatch) -> None:
    config, secrets = _project(tmp_path, monkeypatch)
    assert ssh_target(config, "10.0.0.6", secrets).key_data == ("key-from-secrets", "literal-key-text")
