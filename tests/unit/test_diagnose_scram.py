"""SCRAM-SHA-256 verifiers: RFC 7677's exchange, PostgreSQL's SASLprep rules, and the SQL that carries them.

(tests/postgres proves the verifiers against a real server.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from app.diagnose import scram

# RFC 7677 section 3: user "user", password "pencil".
RFC_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC_CLIENT_FIRST_BARE = "n=user,r=rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_FIRST = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
RFC_CLIENT_FINAL_BARE = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
RFC_PROOF = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
RFC_SERVER_SIGNATURE = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def _parts(verifier: str) -> tuple[int, bytes, bytes, bytes]:
    scheme, rest = verifier.split("$", 1)
    assert scheme == "SCRAM-SHA-256"
    head, keys = rest.split("$")
    iterations, salt = head.split(":")
    stored, server = keys.split(":")
    return int(iterations), base64.b64decode(salt), base64.b64decode(stored), base64.b64decode(server)


def test_verifier_reproduces_rfc_7677_exchange() -> None:
    iterations, salt, stored_key, server_key = _parts(scram.verifier("pencil", salt=RFC_SALT))
    assert (iterations, salt) == (4096, RFC_SALT)
    auth_message = f"{RFC_CLIENT_FIRST_BARE},{RFC_SERVER_FIRST},{RFC_CLIENT_FINAL_BARE}".encode()
    server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
    assert base64.b64encode(server_signature).decode() == RFC_SERVER_SIGNATURE
    client_signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    client_key = bytes(a ^ b for a, b in zip(base64.b64decode(RFC_PROOF), client_signature, strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key


def test_fresh_salt_each_time_and_matches() -> None:
    first, second = scram.verifier("s3cret"), scram.verifier("s3cret")
    assert first != second and _parts(first)[1] != _parts(second)[1] and len(_parts(first)[1]) == 16
    assert scram.is_verifier(first) and scram.matches("s3cret", first) and scram.matches("s3cret", second)
    assert not scram.matches("s3cret!", first)
    assert not scram.matches("s3cret", "md5abc")
    assert scram.verifier("x", iterations=10).startswith("SCRAM-SHA-256$10:")
    with pytest.raises(ValueError):
        scram.verifier("x", iterations=0)


@pytest.mark.parametrize(("password", "hashed"), [
    ("plain ascii \\ with \x07 control", "plain ascii \\ with \x07 control"),  # ASCII: never changed
    ("I\u00adX", "IX"),  # RFC 4013 example: soft hyphen mapped to nothing
    ("\u00aa", "a"),  # RFC 4013: NFKC
    ("\u2168", "IX"),  # RFC 4013: NFKC (roman numeral nine)
    ("caf\u00e9\u00a0x", "caf\u00e9 x"),  # non-ASCII space mapped to a space
    ("\ufb01n", "fin"),  # ligature, NFKC
    ("bell\u0007\u00e9", "bell\u0007\u00e9"),  # prohibited control next to non-ASCII: raw bytes
    ("\u0627\u0031", "\u0627\u0031"),  # RFC 4013: RandALCat not last -> bidi failure -> raw bytes
    ("abc\u05d0", "abc\u05d0"),  # R and L mixed -> raw bytes
    ("\u05d0\u05d1", "\u05d0\u05d1"),  # all right-to-left: fine, unchanged by NFKC
    ("\u00ad", "\u00ad"),  # maps to nothing -> empty -> prohibited -> raw bytes
    ("\U000e0001x\u00e9", "\U000e0001x\u00e9"),  # tagging character: prohibited
])
def test_saslprep_follows_postgresql(password: str, hashed: str) -> None:
    assert scram.saslprep(password) == hashed.encode("utf-8")


def test_alter_role_payload_carries_only_the_verifier() -> None:
    password = "pa'ss\"word$1"
    payload = scram.alter_role_payload("postgres", password).decode()
    assert payload.startswith("ALTER ROLE \"postgres\" PASSWORD 'SCRAM-SHA-256$4096:") and payload.endswith("';\n")
    assert password not in payload and "pa'ss" not in payload
    stored = payload.split("'")[1]
    assert scram.matches(password, stored)
    assert scram.quote_identifier('we"ird') == '"we""ird"'
    with pytest.raises(ValueError, match="plaintext"):
        scram.alter_role_sql("postgres", "plain-password")
    with pytest.raises(ValueError):
        scram.quote_identifier("a\0b")
