"""Fetches through the Bitwarden Secrets Manager, LastPass, Google Cloud, Enpass and Passbolt adapters:
the stand-in CLIs' answers (as each real CLI documents its output), the `secrets fetch` arguments,
and what must happen: the exact CLI calls, in order, and the JSON result or the error message.

The unit tests hold shipdeck to these; the interop tests hold real Kamal 2.11 to the very same
expectations, so every call and message below is Kamal's own.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scenario:
    name: str
    argv: list[str]
    answers: list[tuple] = field(default_factory=list)  # (cli, argv, stdout[, exit])
    calls: list[tuple] = field(default_factory=list)
    result: dict | None = None
    error: str | None = None
    missing_clis: tuple[str, ...] = ()


def gcloud_payload(text: str, version: str = "1") -> dict:
    """`gcloud secrets versions access --format=json`: the payload's data is base64."""
    return {"name": f"projects/123/secrets/s/versions/{version}",
            "payload": {"data": base64.b64encode(text.encode()).decode(), "dataCrc32c": "42"}}


def bws_secret(key: str, value: str, secret_id: str = "be8e0ad8-d545-4017-a55a-b02f014d4158") -> dict:
    """`bws secret get|list` objects."""
    return {"object": "secret", "id": secret_id, "organizationId": "10e8a1c1-1b4f-4e0b-9d7d-b02f014d4158",
            "projectId": "e325ea69-a3ab-4dff-836f-b02e013fe530", "key": key, "value": value, "note": "",
            "creationDate": "2024-01-01T00:00:00Z", "revisionDate": "2024-01-01T00:00:00Z"}


def lpass_entry(fullname: str, password: str) -> dict:
    """`lpass show --json` entries."""
    group, _, name = fullname.rpartition("/")
    return {"id": "1234567890", "name": name, "fullname": fullname, "username": "u", "password": password,
            "last_modified_gmt": "1700000000", "last_touch": "1700000000", "group": group, "url": "", "note": ""}


def enpass_card(title: str, label: str, password: str) -> dict:
    """`enpass-cli -json show` cards."""
    return {"title": title, "login": "u", "category": "login", "label": label, "password": password}


def passbolt_folder(folder_id: str, name: str, parent: str = "") -> dict:
    return {"id": folder_id, "folder_parent_id": parent, "name": name,
            "created_timestamp": "2024-01-01T00:00:00Z", "modified_timestamp": "2024-01-01T00:00:00Z"}


def passbolt_resource(name: str, password: str, folder: str = "") -> dict:
    return {"id": f"res-{name}", "folder_parent_id": folder, "name": name, "username": "u", "uri": "",
            "password": password, "description": "", "created_timestamp": "2024-01-01T00:00:00Z",
            "modified_timestamp": "2024-01-01T00:00:00Z"}


GCLOUD_LOGGED_IN = ("gcloud", ["auth", "list", "--format=json"], [{"account": "me@example.com", "status": "ACTIVE"}])
GCLOUD_CHECKS = [("gcloud", "--version"), ("gcloud", "auth", "list", "--format=json")]
NASTY = "p$a\"ss 'x' \\ é #!"

SCENARIOS = [
    # --- Bitwarden Secrets Manager ------------------------------------------------------------------
    Scenario(
        "bws-secret-ids", ["-a", "bitwarden-sm", "id-1", "id-2"],
        answers=[("bws", ["secret", "get", "id-1"], bws_secret("DB_PASSWORD", NASTY, "id-1")),
                 ("bws", ["secret", "get", "id-2"], bws_secret("API_KEY", "k", "id-2"))],
        calls=[("bws", "--version"), ("bws", "project", "list"), ("bws", "secret", "get", "id-1"),
               ("bws", "secret", "get", "id-2")],
        result={"DB_PASSWORD": NASTY, "API_KEY": "k"},
    ),
    Scenario(
        "bws-all", ["-a", "bitwarden_secrets_manager", "all"],
        answers=[("bws", ["secret", "list"], [bws_secret("A", "1"), bws_secret("B", "2")])],
        calls=[("bws", "--version"), ("bws", "project", "list"), ("bws", "secret", "list")],
        result={"A": "1", "B": "2"},
    ),
    Scenario(
        "bws-all-of-a-project", ["-a", "bitwarden-sm", "--from", "e325ea69-a3ab", "all"],
        answers=[("bws", ["secret", "list", "e325ea69-a3ab"], [bws_secret("C", "3")])],
        calls=[("bws", "--version"), ("bws", "project", "list"), ("bws", "secret", "list", "e325ea69-a3ab")],
        result={"C": "3"},
    ),
    Scenario(
        "bws-bad-token", ["-a", "bitwarden-sm", "all"],
        answers=[("bws", ["project", "list"], "", 1)],
        calls=[("bws", "--version"), ("bws", "project", "list")],
        error="Could not authenticate to Bitwarden Secrets Manager. Did you set a valid access token?",
    ),
    Scenario(
        "bws-unreadable", ["-a", "bitwarden-sm", "id-1", "id-9"],
        answers=[("bws", ["secret", "get", "id-1"], bws_secret("A", "1")), ("bws", ["secret", "get", "id-9"], "", 1)],
        calls=[("bws", "--version"), ("bws", "project", "list"), ("bws", "secret", "get", "id-1"),
               ("bws", "secret", "get", "id-9")],
        error="Could not read id-9 from Bitwarden Secrets Manager",
    ),
    Scenario(
        "bws-list-fails", ["-a", "bitwarden-sm", "all"],
        answers=[("bws", ["secret", "list"], "", 1)],
        calls=[("bws", "--version"), ("bws", "project", "list"), ("bws", "secret", "list")],
        error="Could not read secrets from Bitwarden Secrets Manager",
    ),
    Scenario(
        "bws-nothing-asked", ["-a", "bitwarden-sm"],
        calls=[("bws", "--version"), ("bws", "project", "list")],
        error="You must specify what to retrieve from Bitwarden Secrets Manager",
    ),
    Scenario(
        "bws-not-installed", ["-a", "bitwarden-sm", "all"], missing_clis=("bws",),
        error="Bitwarden Secrets Manager CLI is not installed",
    ),
    # --- LastPass -----------------------------------------------------------------------------------
    Scenario(
        "lpass-logged-in", ["-a", "lastpass", "--account", "me@example.com", "--from", "Shared", "DB", "API"],
        answers=[("lpass", ["status", "--color", "never"], "Logged in as me@example.com.\n"),
                 ("lpass", ["show", "Shared/DB", "Shared/API", "--json"],
                  [lpass_entry("Shared/DB", NASTY), lpass_entry("Shared/API", "a")])],
        calls=[("lpass", "--version"), ("lpass", "status", "--color", "never"),
               ("lpass", "show", "Shared/DB", "Shared/API", "--json")],
        result={"Shared/DB": NASTY, "Shared/API": "a"},
    ),
    Scenario(
        "lpass-logs-in", ["-a", "last_pass", "--account", "me@example.com", "DB"],
        answers=[("lpass", ["status", "--color", "never"], "Not logged in.\n"),
                 ("lpass", ["show", "DB", "--json"], [lpass_entry("DB", "d")])],
        calls=[("lpass", "--version"), ("lpass", "status", "--color", "never"), ("lpass", "login", "me@example.com"),
               ("lpass", "show", "DB", "--json")],
        result={"DB": "d"},
    ),
    Scenario(
        "lpass-login-fails", ["-a", "lastpass", "--account", "me@example.com", "DB"],
        answers=[("lpass", ["status", "--color", "never"], "Logged in as other@example.com.\n"),
                 ("lpass", ["login", "me@example.com"], "", 1)],
        calls=[("lpass", "--version"), ("lpass", "status", "--color", "never"), ("lpass", "login", "me@example.com")],
        error="Failed to login to LastPass",
    ),
    Scenario(
        "lpass-missing-entry", ["-a", "lastpass", "--account", "me", "DB", "Other", "Third"],
        answers=[("lpass", ["status", "--color", "never"], "Logged in as me.\n"),
                 ("lpass", ["show", "DB", "Other", "Third", "--json"], [lpass_entry("DB", "d")])],
        calls=[("lpass", "--version"), ("lpass", "status", "--color", "never"),
               ("lpass", "show", "DB", "Other", "Third", "--json")],
        error="Could not find Other, Third in LastPass",
    ),
    Scenario(
        "lpass-show-fails", ["-a", "lastpass", "--account", "me", "DB", "a b", "é"],
        answers=[("lpass", ["status", "--color", "never"], "Logged in as me.\n"),
                 ("lpass", ["show", "DB", "a b", "é", "--json"], "", 1)],
        calls=[("lpass", "--version"), ("lpass", "status", "--color", "never"),
               ("lpass", "show", "DB", "a b", "é", "--json")],
        error='Could not read ["DB", "a b", "é"] from LastPass',
    ),
    Scenario(
        "lpass-not-installed", ["-a", "lastpass", "--account", "me", "DB"], missing_clis=("lpass",),
        error="LastPass CLI is not installed",
    ),
    # --- Google Cloud Secret Manager ----------------------------------------------------------------
    Scenario(
        "gcloud-default-user", ["-a", "gcp", "--account", "default", "my-secret", "proj/other/3", "default/x/latest"],
        answers=[GCLOUD_LOGGED_IN,
                 ("gcloud", ["secrets", "versions", "access", "latest", "--secret=my-secret", "--format=json"],
                  gcloud_payload(NASTY)),
                 ("gcloud", ["secrets", "versions", "access", "3", "--secret=other", "--project=proj",
                             "--format=json"], gcloud_payload("two\n", "3")),
                 ("gcloud", ["secrets", "versions", "access", "latest", "--secret=x", "--format=json"],
                  gcloud_payload("é"))],
        calls=[*GCLOUD_CHECKS,
               ("gcloud", "secrets", "versions", "access", "latest", "--secret=my-secret", "--format=json"),
               ("gcloud", "secrets", "versions", "access", "3", "--secret=other", "--project=proj", "--format=json"),
               ("gcloud", "secrets", "versions", "access", "latest", "--secret=x", "--format=json")],
        result={"default/my-secret": NASTY, "proj/other": "two\n", "default/x": "é"},
    ),
    Scenario(
        "gcloud-impersonation", ["-a", "gcp_secret_manager", "--account", "me@example.com|sa@p.iam,sa2@p.iam",
                                 "--from", "proj", "s1", "s2/5"],
        answers=[GCLOUD_LOGGED_IN,
                 ("gcloud", ["secrets", "versions", "access", "latest", "--secret=s1", "--project=proj",
                             "--account=me@example.com", "--impersonate-service-account=sa@p.iam,sa2@p.iam",
                             "--format=json"], gcloud_payload("one")),
                 ("gcloud", ["secrets", "versions", "access", "5", "--secret=s2", "--project=proj",
                             "--account=me@example.com", "--impersonate-service-account=sa@p.iam,sa2@p.iam",
                             "--format=json"], gcloud_payload("five"))],
        calls=[*GCLOUD_CHECKS,
               ("gcloud", "secrets", "versions", "access", "latest", "--secret=s1", "--project=proj",
                "--account=me@example.com", "--impersonate-service-account=sa@p.iam,sa2@p.iam", "--format=json"),
               ("gcloud", "secrets", "versions", "access", "5", "--secret=s2", "--project=proj",
                "--account=me@example.com", "--impersonate-service-account=sa@p.iam,sa2@p.iam", "--format=json")],
        result={"proj/s1": "one", "proj/s2": "five"},
    ),
    Scenario(
        "gcloud-login-fails", ["-a", "gcp", "--account", "default", "s"],
        answers=[("gcloud", ["auth", "list", "--format=json"], [])],
        calls=[*GCLOUD_CHECKS, ("gcloud", "auth", "login"), ("gcloud", "auth", "list", "--format=json")],
        error="could not login to gcloud",
    ),
    Scenario(
        "gcloud-read-fails", ["-a", "gcp", "--account", "default", "s"],
        answers=[GCLOUD_LOGGED_IN,
                 ("gcloud", ["secrets", "versions", "access", "latest", "--secret=s", "--format=json"],
                  gcloud_payload("x"), 1)],
        calls=[*GCLOUD_CHECKS,
               ("gcloud", "secrets", "versions", "access", "latest", "--secret=s", "--format=json")],
        error="Could not read default/s from Google Secret Manager",
    ),
    Scenario(
        "gcloud-not-installed", ["-a", "gcp", "--account", "default", "s"], missing_clis=("gcloud",),
        error="gcloud CLI is not installed",
    ),
    # --- Enpass -------------------------------------------------------------------------------------
    Scenario(
        "enpass-items-and-fields", ["-a", "enpass", "--from", "/vaults/primary", "FooBar", "Baz/DB_PASSWORD",
                                    "Baz/API"],
        answers=[("enpass-cli", ["-json", "-vault", "/vaults/primary", "show", "FooBar", "Baz"],
                  [enpass_card("FooBar", "", NASTY), enpass_card("FooBar", "API", "a"),
                   enpass_card("FooBar", "Blank", "  "), enpass_card("Baz", "DB_PASSWORD", "db"),
                   enpass_card("Baz", "Other", "o"), enpass_card("Unasked", "", "u")])],
        calls=[("enpass-cli", "version"),
               ("enpass-cli", "-json", "-vault", "/vaults/primary", "show", "FooBar", "Baz")],
        result={"FooBar": NASTY, "FooBar/API": "a", "Baz/DB_PASSWORD": "db"},
    ),
    Scenario(
        "enpass-duplicate", ["-a", "enpass", "--from", "/v", "FooBar"],
        answers=[("enpass-cli", ["-json", "-vault", "/v", "show", "FooBar"],
                  [enpass_card("FooBar", "DB", "1"), enpass_card("FooBar", "DB", "2")])],
        calls=[("enpass-cli", "version"), ("enpass-cli", "-json", "-vault", "/v", "show", "FooBar")],
        error="FooBar/DB is present more than once",
    ),
    Scenario(
        "enpass-not-installed", ["-a", "enpass", "--from", "/v", "FooBar"], missing_clis=("enpass-cli",),
        error="Enpass CLI is not installed",
    ),
    # --- Passbolt -----------------------------------------------------------------------------------
    Scenario(
        "passbolt-root", ["-a", "passbolt", "DB", "API", "My DB"],
        answers=[("passbolt", ["list", "resources", "--filter",
                               'Name == "DB" || Name == "API" || Name == "My\\\\ DB"', "--json"],
                  [passbolt_resource("DB", NASTY), passbolt_resource("API", "a"), passbolt_resource("My DB", "m")])],
        calls=[("passbolt", "--version"), ("passbolt", "verify"),
               ("passbolt", "list", "resources", "--filter", 'Name == "DB" || Name == "API" || Name == "My\\\\ DB"',
                "--json")],
        result={"DB": NASTY, "API": "a", "My DB": "m"},
    ),
    Scenario(
        "passbolt-nested-folders", ["-a", "passbolt", "Prod/DB", "Prod/Web/API", "ROOT"],
        answers=[("passbolt", ["list", "folders", "--filter", 'Name == "Prod"', "--json"],
                  [passbolt_folder("f1", "Prod")]),
                 ("passbolt", ["list", "folders", "--filter", 'Name == "Web" && FolderParentID == "f1"', "--json"],
                  [passbolt_folder("f2", "Web", "f1")]),
                 ("passbolt", ["list", "resources", "--filter",
                               '(Name == "DB" && FolderParentID == "f1") || (Name == "API" && FolderParentID == "f2")'
                               ' || Name == "ROOT"', "--folder", "f1", "--folder", "f2", "--json"],
                  [passbolt_resource("DB", "d", "f1"), passbolt_resource("API", "a", "f2"),
                   passbolt_resource("ROOT", "r")])],
        calls=[("passbolt", "--version"), ("passbolt", "verify"),
               ("passbolt", "list", "folders", "--filter", 'Name == "Prod"', "--json"),
               ("passbolt", "list", "folders", "--filter", 'Name == "Web" && FolderParentID == "f1"', "--json"),
               ("passbolt", "list", "resources", "--filter",
                '(Name == "DB" && FolderParentID == "f1") || (Name == "API" && FolderParentID == "f2")'
                ' || Name == "ROOT"', "--folder", "f1", "--folder", "f2", "--json")],
        result={"DB": "d", "API": "a", "ROOT": "r"},
    ),
    Scenario(
        "passbolt-from-folder", ["-a", "passbolt", "--from", "Prod", "DB"],
        answers=[("passbolt", ["list", "folders", "--filter", 'Name == "Prod"', "--json"],
                  [passbolt_folder("f1", "Prod")]),
                 ("passbolt", ["list", "resources", "--filter", '(Name == "DB" && FolderParentID == "f1")',
                               "--folder", "f1", "--json"], [passbolt_resource("DB", "d", "f1")])],
        calls=[("passbolt", "--version"), ("passbolt", "verify"),
               ("passbolt", "list", "folders", "--filter", 'Name == "Prod"', "--json"),
               ("passbolt", "list", "resources", "--filter", '(Name == "DB" && FolderParentID == "f1")',
                "--folder", "f1", "--json")],
        result={"DB": "d"},
    ),
    Scenario(
        "passbolt-missing-folder", ["-a", "passbolt", "Nope/DB", "Prod/Gone/X"],
        answers=[("passbolt", ["list", "folders", "--filter", 'Name == "Nope" || Name == "Prod"', "--json"],
                  [passbolt_folder("f1", "Prod")]),
                 ("passbolt", ["list", "folders", "--filter", 'Name == "Gone" && FolderParentID == "f1"', "--json"],
                  [])],
        calls=[("passbolt", "--version"), ("passbolt", "verify"),
               ("passbolt", "list", "folders", "--filter", 'Name == "Nope" || Name == "Prod"', "--json"),
               ("passbolt", "list", "folders", "--filter", 'Name == "Gone" && FolderParentID == "f1"', "--json")],
        error="Could not find the following folders in Passbolt: Nope, Prod/Gone",
    ),
    Scenario(
        "passbolt-missing-secret", ["-a", "passbolt", "DB", "X"],
        answers=[("passbolt", ["list", "resources", "--filter", 'Name == "DB" || Name == "X"', "--json"],
                  [passbolt_resource("DB", "d")])],
        calls=[("passbolt", "--version"), ("passbolt", "verify"),
               ("passbolt", "list", "resources", "--filter", 'Name == "DB" || Name == "X"', "--json")],
        error="Could not find the following secrets in Passbolt: X",
    ),
    Scenario(
        "passbolt-list-fails", ["-a", "passbolt", "DB"],
        answers=[("passbolt", ["list", "resources", "--filter", 'Name == "DB"', "--json"], "", 1)],
        calls=[("passbolt", "--version"), ("passbolt", "verify"),
               ("passbolt", "list", "resources", "--filter", 'Name == "DB"', "--json")],
        error='Could not read ["DB"] from Passbolt',
    ),
    Scenario(
        "passbolt-verify-fails", ["-a", "passbolt", "DB"], answers=[("passbolt", ["verify"], "", 1)],
        calls=[("passbolt", "--version"), ("passbolt", "verify")],
        error="Failed to login to Passbolt",
    ),
    Scenario(
        "passbolt-not-installed", ["-a", "passbolt", "DB"], missing_clis=("passbolt",),
        error="Passbolt CLI is not installed",
    ),
]
