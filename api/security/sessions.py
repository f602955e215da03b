"""Session tokens (HS256 JWT under a key derived from the session secret) and CSRF tokens bound
to the session (HMAC of the session id, under the CSRF secret), for the double-submit check on
state changes.

Each secret may be a list, current first: tokens are made with the first and accepted under
any, so a secret is rotated by putting the new one first and dropping the old one once every
session made under it has expired (``auth.session_ttl_hours``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

ISSUER = "asgard-basis"
AUDIENCE = "asgard-basis-session"
ALGORITHM = "HS256"
CLOCK_SKEW = timedelta(seconds=5)


class SessionError(Exception):
    """The token is missing, forged, expired, or meant for something else."""


@dataclass(frozen=True, slots=True)
class SessionClaims:
    user_id: uuid.UUID
    session_id: str
    expires_at: datetime


Secrets = str | Sequence[str]


def _all(secrets_: Secrets) -> list[str]:
    out = [secrets_] if isinstance(secrets_, str) else list(secrets_)
    if not out:
        raise ValueError("no secret configured")
    return out


def _key(server_secret: str, purpose: str) -> bytes:
    # Separate keys per purpose: a CSRF token can never verify as a session and vice versa.
    return hmac.new(server_secret.encode(), f"basis:{purpose}".encode(), hashlib.sha256).digest()


def issue_session(
    server_secret: Secrets, user_id: uuid.UUID, now: datetime, ttl: timedelta
) -> tuple[str, SessionClaims]:
    sid = secrets.token_urlsafe(24)
    exp = now + ttl
    token = jwt.encode(
        {
            "sub": str(user_id),
            "sid": sid,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(exp.timestamp()),
        },
        _key(_all(server_secret)[0], "session"),
        algorithm=ALGORITHM,
    )
    return token, SessionClaims(user_id=user_id, session_id=sid, expires_at=exp)


def verify_session(server_secret: Secrets, token: str, now: datetime) -> SessionClaims:
    keys = _all(server_secret)
    for key in keys[1:]:
        # A token signed under a previous secret, in its grace period, verifies too; only
        # the signature picks the key, every other check is the full one below.
        if _signed_with(keys[0], token):
            break
        if _signed_with(key, token):
            return _verify_with(key, token, now)
    return _verify_with(keys[0], token, now)


def _signed_with(server_secret: str, token: str) -> bool:
    try:
        jwt.decode(
            token,
            _key(server_secret, "session"),
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "verify_nbf": False, "verify_aud": False},
        )
    except jwt.PyJWTError:
        return False
    return True


def _verify_with(server_secret: str, token: str, now: datetime) -> SessionClaims:
    try:
        claims = jwt.decode(
            token,
            _key(server_secret, "session"),
            algorithms=[ALGORITHM],  # pinned: "none" or RS/ES tricks are refused
            audience=AUDIENCE,
            issuer=ISSUER,
            # Time claims are checked below against the caller's clock, not the wall clock.
            options={
                "require": ["exp", "nbf", "sub", "sid", "iss", "aud"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
        exp = datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo)
        nbf = datetime.fromtimestamp(int(claims["nbf"]), tz=now.tzinfo)
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError) as exc:
        raise SessionError(f"invalid session token: {exc}") from exc
    if exp <= now:
        raise SessionError("session expired")
    if nbf > now + CLOCK_SKEW:
        raise SessionError("session not valid yet")
    try:
        uid = uuid.UUID(claims["sub"])
    except ValueError as exc:
        raise SessionError("invalid session subject") from exc
    return SessionClaims(user_id=uid, session_id=str(claims["sid"]), expires_at=exp)


def csrf_token(server_secret: Secrets, session_id: str) -> str:
    key = _key(_all(server_secret)[0], "csrf")
    return hmac.new(key, session_id.encode(), hashlib.sha256).hexdigest()


def csrf_ok(server_secret: Secrets, session_id: str, presented: str | None) -> bool:
    if not presented:
        return False
    # Every secret compared, not just until a match: the time taken says nothing.
    matches = [
        hmac.compare_digest(csrf_token(s, session_id), presented) for s in _all(server_secret)
    ]
    return any(matches)
