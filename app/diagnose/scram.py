"""PostgreSQL SCRAM-SHA-256 password verifiers, computed locally so that no plaintext reaches a server.

`ALTER ROLE ... PASSWORD 'SCRAM-SHA-256$...'` stores a ready verifier as it is (the server recognises
the format), which is what psql's `\\password` sends. The plaintext then never appears in argv, in
pg_stat_activity or in a server log (`log_statement=ddl` would log a plaintext `PASSWORD 'x'`).

The verifier follows RFC 5802/7677 as PostgreSQL builds it: the password goes through PostgreSQL's
SASLprep first (pure ASCII unchanged; otherwise RFC 4013 mapping and NFKC, or the raw bytes when a
prohibited, unassigned or badly mixed right-to-left character makes SASLprep fail), then
PBKDF2-HMAC-SHA256 with a 16-byte random salt and 4096 iterations.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import stringprep
import unicodedata

SCHEME = "SCRAM-SHA-256"
ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)
SALT_BYTES = 16
_VERIFIER = re.compile(
    r"SCRAM-SHA-256\$(?P<iterations>[0-9]+):(?P<salt>[A-Za-z0-9+/=]+)"
    r"\$(?P<stored>[A-Za-z0-9+/=]+):(?P<server>[A-Za-z0-9+/=]+)"
)

_PROHIBITED = (stringprep.in_table_c12, stringprep.in_table_c21_c22, stringprep.in_table_c3,
               stringprep.in_table_c4, stringprep.in_table_c5, stringprep.in_table_c6, stringprep.in_table_c7,
               stringprep.in_table_c8, stringprep.in_table_c9, stringprep.in_table_a1)


def _password_bytes(password: str) -> bytes:
    return password.encode("utf-8", "surrogateescape")


def saslprep(password: str) -> bytes:
    """The bytes PostgreSQL hashes for `password` (its pg_saslprep, falling back to the raw bytes).

    As in PostgreSQL, the prohibited and bidi checks look at the mapped text before normalisation.
    """
    raw = _password_bytes(password)
    if password.isascii():
        return raw
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    mapped = "".join(" " if stringprep.in_table_c12(char) else char
                     for char in password if not stringprep.in_table_b1(char))
    if not mapped:
        return raw
    if any(check(char) for char in mapped for check in _PROHIBITED):
        return raw
    if any(stringprep.in_table_d1(char) for char in mapped) and (
            any(stringprep.in_table_d2(char) for char in mapped)
            or not (stringprep.in_table_d1(mapped[0]) and stringprep.in_table_d1(mapped[-1]))):
        return raw
    return unicodedata.normalize("NFKC", mapped).encode("utf-8")


def _keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    salted = hashlib.pbkdf2_hmac("sha256", saslprep(password), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return stored_key, server_key


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def verifier(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` for `password` (a fresh salt by default)."""
    if iterations < 1:
        raise ValueError("iterations must be positive")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    stored_key, server_key = _keys(password, salt, iterations)
    return f"{SCHEME}${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def is_verifier(text: str) -> bool:
    return _VERIFIER.fullmatch(text) is not None


def matches(password: str, stored: str) -> bool:
    """Whether `password` is the one `stored` (a verifier as in pg_authid.rolpassword) was made from."""
    parsed = _VERIFIER.fullmatch(stored)
    if parsed is None:
        return False
    salt = base64.b64decode(parsed["salt"])
    stored_key, server_key = _keys(password, salt, int(parsed["iterations"]))
    return (hmac.compare_digest(_b64(stored_key), parsed["stored"])
            and hmac.compare_digest(_b64(server_key), parsed["server"]))


def quote_identifier(name: str) -> str:
    """A role name as an SQL identifier: double quotes, inner quotes doubled."""
    if "\0" in name:
        raise ValueError("a role name cannot contain NUL")
    return '"' + name.replace('"', '""') + '"'


def alter_role_sql(role: str, stored: str) -> str:
    """The statement that sets `role`'s password to a ready verifier (never to a plaintext)."""
    if not is_verifier(stored):
        raise ValueError("not a SCRAM-SHA-256 verifier; refusing to send a plaintext password")
    return f"ALTER ROLE {quote_identifier(role)} PASSWORD '{stored}';\n"


def alter_role_payload(role: str, password: str) -> bytes:
    """What goes on psql's stdin to reset `role`'s password: the verifier, computed here with a fresh salt.

    `password` must be the value the app's containers receive (see `app.diagnose.env_delivery`), not the
    raw secret, when the two differ.
    """
    return alter_role_sql(role, verifier(password)).encode("utf-8")
