"""Sessions, CSRF, one-time codes, API tokens, Privy tokens and rate limits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from api.security.privy import PrivyTokenError, load_verification_key, verify_privy_token
from api.security.ratelimit import InProcessRateLimiter
from api.security.secrets_ import api_token_hash, new_api_token, new_otp, otp_hash
from api.security.sessions import (
    SessionError,
    csrf_ok,
    csrf_token,
    issue_session,
    verify_session,
)

SECRET = "server-secret-for-tests-0123456789abcdef"
NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_a_session_verifies_until_it_expires() -> None:
    uid = uuid.uuid4()
    token, claims = issue_session(SECRET, uid, NOW, timedelta(hours=1))
    assert verify_session(SECRET, token, NOW + timedelta(minutes=59)).user_id == uid
    with pytest.raises(SessionError, match="expired"):
        verify_session(SECRET, token, NOW + timedelta(hours=1))
    assert claims.expires_at == NOW + timedelta(hours=1)


def test_a_session_signed_with_another_secret_or_algorithm_is_refused() -> None:
    token, _ = issue_session("another-secret-entirely-0123456789", uuid.uuid4(), NOW, timedelta(1))
    with pytest.raises(SessionError):
        verify_session(SECRET, token, NOW)
    unsigned = jwt.encode({"sub": str(uuid.uuid4())}, key="", algorithm="none")
    with pytest.raises(SessionError):
        verify_session(SECRET, unsigned, NOW)


def test_a_csrf_token_is_bound_to_its_session() -> None:
    assert csrf_ok(SECRET, "sid-1", csrf_token(SECRET, "sid-1"))
    assert not csrf_ok(SECRET, "sid-2", csrf_token(SECRET, "sid-1"))
    assert not csrf_ok(SECRET, "sid-1", None)
    assert not csrf_ok(SECRET, "sid-1", "")


def test_one_time_codes_are_six_digits_and_hashed_per_address() -> None:
    codes = {new_otp() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 150
    assert otp_hash(SECRET, "a@x.io", "123456") == otp_hash(SECRET, "A@X.io", "123456")
    assert otp_hash(SECRET, "a@x.io", "123456") != otp_hash(SECRET, "b@x.io", "123456")


def test_api_tokens_are_long_random_and_stored_only_as_a_keyed_hash() -> None:
    t = new_api_token()
    assert t.startswith("bsk_") and len(t) > 40
    h = api_token_hash(SECRET, t)
    assert t not in h
    assert h == api_token_hash(SECRET, t)
    assert h != api_token_hash("another-secret-entirely-0123456789", t)


@pytest.fixture(scope="module")
def privy_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _privy(key: object, alg: str = "ES256", **over: Any) -> str:
    claims = {
        "sub": "did:privy:abc123",
        "iss": "privy.io",
        "aud": "app-1",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(hours=1)).timestamp()),
        "sid": "s1",
        **over,
    }
    return jwt.encode(claims, key, algorithm=alg)  # type: ignore[arg-type]


def test_a_valid_privy_token_gives_the_privy_identity(
    privy_key: ec.EllipticCurvePrivateKey,
) -> None:
    key = load_verification_key(_pem(privy_key))
    ident = verify_privy_token(_privy(privy_key), key, "app-1", NOW)
    assert ident.privy_id == "did:privy:abc123"


@pytest.mark.parametrize(
    ("over", "match"),
    [
        ({"aud": "other-app"}, "Audience"),
        ({"iss": "evil.io"}, "issuer"),
        ({"exp": int((NOW - timedelta(seconds=1)).timestamp())}, "expired"),
        ({"sub": "user-1"}, "DID"),
    ],
)
def test_privy_tokens_with_a_wrong_claim_are_refused(
    privy_key: ec.EllipticCurvePrivateKey, over: dict[str, Any], match: str
) -> None:
    key = load_verification_key(_pem(privy_key))
    with pytest.raises(PrivyTokenError, match=match):
        verify_privy_token(_privy(privy_key, **over), key, "app-1", NOW)


def test_privy_tokens_forged_with_another_key_or_algorithm_are_refused(
    privy_key: ec.EllipticCurvePrivateKey,
) -> None:
    key = load_verification_key(_pem(privy_key))
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(PrivyTokenError):
        verify_privy_token(_privy(other), key, "app-1", NOW)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(PrivyTokenError):
        verify_privy_token(_privy(rsa_key, alg="RS256"), key, "app-1", NOW)
    with pytest.raises(PrivyTokenError):
        verify_privy_token(
            _privy("a-shared-secret-of-thirty-two-bytes!", alg="HS256"), key, "app-1", NOW
        )


def test_a_rate_limit_triggers_after_the_burst_and_recovers_at_the_rate() -> None:
    t = [0.0]
    rl = InProcessRateLimiter(clock=lambda: t[0])
    verdicts = [rl.hit("ip:1", rate=2.0, burst=3).allowed for _ in range(4)]
    assert verdicts == [True, True, True, False]
    assert rl.hit("ip:2", rate=2.0, burst=3).allowed  # another key has its own bucket
    blocked = rl.hit("ip:1", rate=2.0, burst=3)
    assert not blocked.allowed
    assert 0 < blocked.retry_after <= 0.5
    t[0] += 0.5
    assert rl.hit("ip:1", rate=2.0, burst=3).allowed
