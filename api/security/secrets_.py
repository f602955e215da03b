"""One-time codes and API tokens: generated with the OS's CSPRNG, stored only as keyed
hashes (under ``hash_secret``, never the session or CSRF secret), compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

API_TOKEN_PREFIX = "bsk_"  # noqa: S105 - a public prefix that marks our tokens in logs and scanners
OTP_DIGITS = 6


def keyed_hash(server_secret: str, purpose: str, value: str) -> str:
    key = hmac.new(server_secret.encode(), f"basis:{purpose}".encode(), hashlib.sha256).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def new_otp() -> str:
    return f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"


def otp_hash(server_secret: str, email: str, code: str) -> str:
    # Bound to the address: a code issued for one email cannot be used for another.
    return keyed_hash(server_secret, "otp", f"{email.lower()}:{code}")


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def api_token_hash(server_secret: str, token: str) -> str:
    return keyed_hash(server_secret, "api-token", token)


def api_token_hashes(secrets_: Sequence[str], token: str) -> list[str]:
    """The token's hash under every configured hash secret (current first): a token stored
    under a previous secret still resolves while that secret is listed."""
    return [api_token_hash(s, token) for s in secrets_]


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)
