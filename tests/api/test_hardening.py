"""Rate limits that trigger and recover, the CORS allow-list, Privy sign-in and its refusals."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from api.main import create_app
from api.security.codes import CapturingCodeSender
from api.security.ratelimit import InProcessRateLimiter
from basis.config import Settings
from tests.api.conftest import FakeClock, FakeVenues, api_settings, serve, sign_in

Mutate = Callable[[Settings], None]


@asynccontextmanager
async def app_with(
    db_url: str, mutate: Mutate | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, FakeClock, CapturingCodeSender]]:
    settings = api_settings(db_url)
    if mutate is not None:
        mutate(settings)
    clock, codes = FakeClock(), CapturingCodeSender()
    app = create_app(
        settings,
        code_sender=codes,
        venues=FakeVenues(),
        clock=clock,
        rate_limiter=InProcessRateLimiter(clock=clock.monotonic),
    )
    async with serve(app, "https://testserver") as api:
        yield api, clock, codes


# ---- rate limits ------------------------------------------------------------------------------


def _per_ip(s: Settings) -> None:
    s.auth.rate_limits.ip_per_second = 1.0
    s.auth.rate_limits.ip_burst = 3


async def test_the_per_ip_limit_answers_429_with_retry_after_then_recovers(
    api_db: str,
) -> None:
    async with app_with(api_db, _per_ip) as (api, clock, _):
        codes = [(await api.get("/api/v1/auth/me")).status_code for _ in range(3)]
        assert codes == [401, 401, 401]  # counted even when refused for another reason
        limited = await api.get("/api/v1/auth/me")
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "GEN-0007"
        assert limited.headers["retry-after"] == "1"
        assert limited.headers["x-content-type-options"] == "nosniff"
        assert (await api.get("/api/v1/health/live")).status_code == 200  # probes exempt
        clock.advance(1.0)
        assert (await api.get("/api/v1/auth/me")).status_code == 401


def _per_user(s: Settings) -> None:
    s.auth.rate_limits.user_per_second = 0.5
    s.auth.rate_limits.user_burst = 2


async def test_the_per_user_limit_holds_one_user_back_without_touching_another(
    api_db: str,
) -> None:
    async with app_with(api_db, _per_user) as (api, clock, codes):
        alice = await sign_in(api, codes, "alice@example.com")
        bob = await sign_in(api, codes, "bob@example.com")
        got = [
            (await api.get("/api/v1/auth/me", headers=alice.headers())).status_code
            for _ in range(3)
        ]
        assert got == [200, 200, 429]
        assert (await api.get("/api/v1/auth/me", headers=bob.headers())).status_code == 200
        r = await api.get("/api/v1/auth/me", headers=alice.headers())
        assert r.headers["retry-after"] == "2"
        clock.advance(2.0)
        assert (await api.get("/api/v1/auth/me", headers=alice.headers())).status_code == 200


def _codes(s: Settings) -> None:
    s.auth.rate_limits.code_requests_per_hour = 2.0
    s.auth.rate_limits.code_requests_burst = 2


async def test_code_requests_are_limited_per_address_and_recover_with_time(
    api_db: str,
) -> None:
    async with app_with(api_db, _codes) as (api, clock, codes):

        async def ask(email: str) -> httpx.Response:
            return await api.post("/api/v1/auth/otp/request", json={"email": email})

        assert [(await ask("flood@example.com")).status_code for _ in range(2)] == [202, 202]
        third = await ask("flood@example.com")
        assert third.status_code == 429
        assert 1700 <= int(third.headers["retry-after"]) <= 1800
        assert len(codes.sent["flood@example.com"]) == 2
        clock.advance(1800)
        assert (await ask("flood@example.com")).status_code == 202


def _logins(s: Settings) -> None:
    s.auth.rate_limits.login_per_minute = 6.0
    s.auth.rate_limits.login_burst = 3


async def test_sign_in_attempts_are_limited_per_ip(api_db: str) -> None:
    async with app_with(api_db, _logins) as (api, clock, _):
        body = {"email": "x@example.com", "code": "000000"}
        got = [(await api.post("/api/v1/auth/otp/verify", json=body)).status_code for _ in range(4)]
        assert got == [401, 401, 401, 429]
        r = await api.post("/api/v1/auth/otp/verify", json=body)
        assert r.json()["error"]["code"] == "AUT-0005"
        clock.advance(10)
        assert (await api.post("/api/v1/auth/otp/verify", json=body)).status_code == 401


# ---- CORS -------------------------------------------------------------------------------------


def _cors(s: Settings) -> None:
    s.api.cors_origins = ["https://app.example.com"]
    s.auth.rate_limits.ip_per_second = 1.0
    s.auth.rate_limits.ip_burst = 3


async def test_cors_answers_only_the_allowed_origin(api_db: str) -> None:
    async with app_with(api_db, _cors) as (api, _, _):
        pre = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-csrf-token",
        }
        ok = await api.options(
            "/api/v1/intents", headers={"Origin": "https://app.example.com", **pre}
        )
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://app.example.com"
        assert ok.headers["access-control-allow-credentials"] == "true"
        evil = await api.options(
            "/api/v1/intents", headers={"Origin": "https://evil.example", **pre}
        )
        assert "access-control-allow-origin" not in evil.headers
        simple = await api.get("/api/v1/health/live", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in simple.headers
        # A refusal from the limits is readable by the allowed origin's page.
        origin = {"Origin": "https://app.example.com"}
        answers = [await api.get("/api/v1/auth/me", headers=origin) for _ in range(4)]
        assert [a.status_code for a in answers] == [401, 401, 401, 429]
        assert answers[-1].headers["access-control-allow-origin"] == "https://app.example.com"


# ---- Privy ------------------------------------------------------------------------------------

APP_ID = "privy-app-test"


@pytest.fixture(scope="module")
def privy_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with_public_key(key: ec.EllipticCurvePrivateKey, clock: FakeClock) -> str:
    """The classic algorithm-confusion forgery, built by hand (PyJWT refuses to make it):
    HS256 keyed with the verifier's public key PEM."""
    claims = jwt.decode(_privy_token(key, clock), options={"verify_signature": False})
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    mac = hmac.new(_pem(key).encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def _privy_token(key: Any, clock: FakeClock, alg: str = "ES256", **over: Any) -> str:
    now = int(clock().timestamp())
    claims = {
        "sub": "did:privy:cm-test-user",
        "iss": "privy.io",
        "aud": APP_ID,
        "iat": now,
        "exp": now + 3600,
        "sid": "privy-session",
        **over,
    }
    return jwt.encode(claims, key, algorithm=alg)


async def test_privy_sync_signs_in_by_did_with_wallets(
    api_db: str, privy_key: ec.EllipticCurvePrivateKey
) -> None:
    def privy(s: Settings) -> None:
        s.privy.app_id = APP_ID
        s.privy.verification_key = _pem(privy_key)

    async with app_with(api_db, privy) as (api, clock, _):
        r = await api.post(
            "/api/v1/auth/sync", json={"access_token": _privy_token(privy_key, clock)}
        )
        assert r.status_code == 200, r.text
        user = r.json()["user"]
        assert user["privy_id"] == "did:privy:cm-test-user"
        assert user["wallets"]["solana"] and user["wallets"]["evm"]
        cookie = r.cookies["basis_session"]
        api.cookies.clear()
        me = await api.get("/api/v1/auth/me", headers={"Cookie": f"basis_session={cookie}"})
        assert me.json()["id"] == user["id"]
        again = await api.post(
            "/api/v1/auth/sync", json={"access_token": _privy_token(privy_key, clock)}
        )
        assert again.json()["user"]["id"] == user["id"]


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda k, c: _privy_token(k, c, aud="another-app"), id="wrong-audience"),
        pytest.param(lambda k, c: _privy_token(k, c, iss="evil.io"), id="wrong-issuer"),
        pytest.param(lambda k, c: _privy_token(k, c, exp=int(c().timestamp()) - 1), id="expired"),
        pytest.param(
            lambda k, c: _privy_token(k, c, iat=int((c() + timedelta(hours=1)).timestamp())),
            id="issued-in-the-future",
        ),
        pytest.param(
            lambda k, c: _privy_token(ec.generate_private_key(ec.SECP256R1()), c),
            id="another-key",
        ),
        pytest.param(
            lambda k, c: _privy_token(
                rsa.generate_private_key(public_exponent=65537, key_size=2048), c, alg="RS256"
            ),
            id="wrong-algorithm",
        ),
        pytest.param(_hs256_with_public_key, id="public-key-as-hmac-secret"),
        pytest.param(lambda k, c: _privy_token(None, c, alg="none"), id="unsigned"),
        pytest.param(lambda k, c: _privy_token(k, c, sub="user-1"), id="not-a-did"),
    ],
)
async def test_privy_tokens_that_are_forged_expired_or_misdirected_are_refused(
    api_db: str, privy_key: ec.EllipticCurvePrivateKey, forge: Any
) -> None:
    def privy(s: Settings) -> None:
        s.privy.app_id = APP_ID
        s.privy.verification_key = _pem(privy_key)

    async with app_with(api_db, privy) as (api, clock, _):
        token = forge(privy_key, clock)
        r = await api.post("/api/v1/auth/sync", json={"access_token": token})
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "AUT-0002"
        assert "basis_session" not in r.cookies


async def test_privy_sync_is_refused_where_privy_is_not_configured(api_db: str) -> None:
    async with app_with(api_db) as (api, _, _):
        r = await api.post("/api/v1/auth/sync", json={"access_token": "x" * 40})
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "AUT-0007"
