"""AWS Secrets Manager (`aws`), as Kamal's `aws_secrets_manager` adapter drives it.

One `aws secretsmanager batch-get-secret-value --secret-id-list ID... [--profile ACCOUNT] --output json`.
A secret whose string is a JSON object yields one `<name>/<key>` per key; any other string is
returned under the secret's name.
"""

from __future__ import annotations

import json

from app.secrets.adapters.base import Adapter, parse_json
from app.secrets.dotenv import CommandFailed


class AwsSecretsManager(Adapter):
    requires_account = False

    def check_dependencies(self) -> None:
        if not self.installed("aws", "--version"):
            raise CommandFailed("AWS CLI is not installed")

    def login(self, account: str | None) -> str | None:
        return None

    def fetch_secrets(self, secrets, *, account, from_, session):
        names = self.prefixed(secrets, from_)
        argv = ["aws", "secretsmanager", "batch-get-secret-value", "--secret-id-list", *names]
        if account:
            argv += ["--profile", account]
        argv += ["--output", "json"]
        status, output = self.run(argv, interactive=True)
        if status != 0:
            raise CommandFailed(f"Could not read {' '.join(names)} from AWS Secrets Manager")
        response = parse_json(output, "aws secretsmanager")
        if not isinstance(response, dict):
            raise CommandFailed("aws secretsmanager returned an unexpected answer")
        if response.get("Errors"):
            raise CommandFailed(" ".join(f"{e.get('SecretId')}: {e.get('Message')}" for e in response["Errors"]))
        results: dict[str, object] = {}
        for secret in response.get("SecretValues") or []:
            name, string = secret.get("Name"), secret.get("SecretString")
            try:
                parsed = json.loads(string)
            except (TypeError, ValueError):
                parsed = None
            if isinstance(parsed, dict):
                results.update({f"{name}/{key}": value for key, value in parsed.items()})
            else:
                results[str(name)] = string
        return results
