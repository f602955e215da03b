"""Verification of Privy access tokens (ES256 JWTs signed with the app's key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

PRIVY_ISSUER = "privy.io"
CLOCK_SKEW_SECONDS = 60  # Privy's clock and ours


class PrivyTokenError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class PrivyIdentity:
    privy_id: str  # "did:privy:..."
    session_id: str | None


def load_verification_key(pem: str) -> EllipticCurvePublicKey:
    key = load_pem_public_key(pem.encode())
    if not isinstance(key, EllipticCurvePublicKey):
        raise ValueError("the Privy verification key must be an EC (P-256) public key")
    return key


def verify_privy_token(
    token: str, key: EllipticCurvePublicKey, app_id: str, now: datetime
) -> PrivyIdentity:
    """Signature (ES256 only), issuer, audience (the app id) and expiry are all checked."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["ES256"],
            audience=app_id,
            issuer=PRIVY_ISSUER,
            # Time claims are checked below against the caller's clock, not the wall clock.
            options={
                "require": ["exp", "iat", "sub", "iss", "aud"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
        exp, iat = int(claims["exp"]), int(claims["iat"])
        nbf = int(claims.get("nbf", iat))
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError) as exc:
        raise PrivyTokenError(f"invalid Privy token: {exc}") from exc
    if exp <= now.timestamp():
        raise PrivyTokenError("Privy token expired")
    if max(iat, nbf) > now.timestamp() + CLOCK_SKEW_SECONDS:
        raise PrivyTokenError("Privy token issued in the future")
    sub = str(claims["sub"])
    if not sub.startswith("did:privy:"):
        raise PrivyTokenError("Privy token subject is not a Privy DID")
    sid = claims.get("sid")
    return PrivyIdentity(privy_id=sub, session_id=str(sid) if sid else None)
