"""Google Cloud Secret Manager (`gcloud`), as Kamal's `gcp_secret_manager` adapter drives it.

The account is `USER` or `USER|SERVICE_ACCOUNT[,CHAIN...]` (`default` = gcloud's active user): the user
goes to `--account=`, the rest to `--impersonate-service-account=`. Login: `gcloud auth list
--format=json` must list an account, else `gcloud auth login`. A name is `[PROJECT/]SECRET[/VERSION]`
(project `default` = gcloud's configured project, version `latest` by default); each is read with
`gcloud secrets versions access VERSION --secret=SECRET ... --format=json` and its base64 payload
decoded. Result keys are `PROJECT/SECRET`.
"""

from __future__ import annotations

import base64
import re

from app.secrets.adapters.base import Adapter, parse_json, ruby_split
from app.secrets.dotenv import CommandFailed

DEFAULT = "default"
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")


class GcpSecretManager(Adapter):
    def check_dependencies(self) -> None:
        if not self.installed("gcloud", "--version"):
            raise CommandFailed("gcloud CLI is not installed")

    def login(self, account: str | None) -> str | None:
        if not self._logged_in():
            self.run(["gcloud", "auth", "login"], interactive=True)
            if not self._logged_in():
                raise CommandFailed("could not login to gcloud")
        return None

    def _logged_in(self) -> bool:
        accounts = parse_json(self.run(["gcloud", "auth", "list", "--format=json"], interactive=True)[1],
                              "gcloud auth list")
        return isinstance(accounts, list) and any(entry is not None and entry is not False for entry in accounts)

    def fetch_secrets(self, secrets, *, account, from_, session):
        user, _, service_account = (account or "").partition("|")
        impersonate = service_account if "|" in (account or "") else None
        results: dict[str, object] = {}
        for project, name, version in self._references(self.prefixed(secrets, from_)).values():
            item_name = f"{project}/{name}"
            argv = ["gcloud", "secrets", "versions", "access", version, f"--secret={name}"]
            if project != DEFAULT:
                argv.append(f"--project={project}")
            if user != DEFAULT:
                argv.append(f"--account={user}")
            if impersonate is not None:
                argv.append(f"--impersonate-service-account={impersonate}")
            argv.append("--format=json")
            status, output = self.run(argv, interactive=True)
            if status != 0:
                raise CommandFailed(f"Could not read {item_name} from Google Secret Manager")
            results[item_name] = self._payload(parse_json(output.strip(), "gcloud secrets versions access"),
                                               item_name)
        return results

    @staticmethod
    def _references(secrets: list[str]) -> dict[str, tuple[str, str, str]]:
        """`[PROJECT/]SECRET[/VERSION]` → (project, secret, version), one entry per distinct name."""
        references: dict[str, tuple[str, str, str]] = {}
        for secret in secrets:
            parts = ruby_split(secret, "/")
            if len(parts) == 1:
                parts.insert(0, DEFAULT)
            if len(parts) < 2:
                raise CommandFailed(f"Google Secret Manager: {secret!r} names no secret")
            references[secret] = (parts[0], parts[1], parts[2] if len(parts) > 2 else "latest")
        return references

    @staticmethod
    def _payload(answer: object, item_name: str) -> str:
        payload = answer.get("payload") if isinstance(answer, dict) else None
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, str):
            raise CommandFailed(f"gcloud returned no payload for {item_name}")
        return _decode_text(decode64(data), item_name)


def decode64(data: str) -> bytes:
    """Ruby `Base64.decode64`: lenient, characters outside the alphabet are skipped, padding optional."""
    cleaned = _NOT_BASE64.sub("", data.split("=", 1)[0])
    cleaned = cleaned[: len(cleaned) - (len(cleaned) % 4 == 1)]
    return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))


def _decode_text(value: bytes, item_name: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandFailed(f"{item_name} from Google Secret Manager is not UTF-8 text") from None
