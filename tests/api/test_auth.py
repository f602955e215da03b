"""Signing in by one-time code, the session cookie and its CSRF token, logout, API tokens,
and the identities nothing may forge."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from api.main import create_app
from api.security.codes import CapturingCodeSender
from api.security.ratelimit import InProcessRateLimiter
from api.security.secrets_ import otp_hash
from api.security.sessions import _key
from api.services.accounts import set_role
from basis.config import Settings
from models.domain import UserRole
from tests.api.conftest import (
    FakeClock,
    FakeVenues,
    SignedIn,
    api_settings,
    api_token,
    serve,
    sign_in,
)

BASE = "https://testserver"


@dataclass
class Auth:
    api: httpx.AsyncClient
    app: FastAPI
    codes: CapturingCodeSender
    clock: FakeClock
    settings: Settings

    async def request_code(self, email: str) -> httpx.Response:
        return await self.api.post("/api/v1/auth/otp/request", json={"email": email})

    async def verify(self, email: str, code: str) -> httpx.Response:
        r = await self.api.post("/api/v1/auth/otp/verify", json={"email": email, "code": code})
        self.api.cookies.clear()
        return r

    async def sign_in(self, email: str) -> SignedIn:
        return await sign_in(self.api, self.codes, email)

    async def sql(self, query: str) -> list[Any]:
        async with self.app.state.engine.connect() as conn:
            return list((await conn.execute(text(query))).all())


@pytest.fixture
async def auth(api_db: str) -> AsyncIterator[Auth]:
    settings = api_settings(api_db)
    clock, codes = FakeClock(), CapturingCodeSender()
    app = create_app(
        settings,
        code_sender=codes,
        venues=FakeVenues(),
        clock=clock,
        rate_limiter=InProcessRateLimiter(clock=clock.monotonic),
    )
    async with serve(app, BASE) as api:
        yield Auth(api, app, codes, clock, settings)


def _cookie_attrs(r: httpx.Response, name: str) -> str:
    line = next(v for v in r.headers.get_list("set-cookie") if v.startswith(f"{name}="))
    return line.lower()


# ---- one-time codes ---------------------------------------------------------------------------


async def test_a_first_sign_in_creates_the_user_with_wallets_and_a_secure_session(
    auth: Auth,
) -> None:
    r = await auth.request_code("Alice@Example.com ")
    assert r.status_code == 202
    assert r.json() == {"status": "sent", "expires_in_seconds": 600}
    code = auth.codes.last("alice@example.com")
    r = await auth.verify("alice@example.com", code)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["email"] == "alice@example.com"
    assert body["user"]["role"] == "user"
    assert body["user"]["wallets"]["solana"] and body["user"]["wallets"]["evm"].startswith("0x")
    session = _cookie_attrs(r, "basis_session")
    for attr in ("httponly", "secure", "samesite=strict", "path=/"):
        assert attr in session
    csrf = _cookie_attrs(r, "basis_csrf")
    assert "httponly" not in csrf
    assert f"basis_csrf={body['csrf_token']}" in csrf

    me = await auth.api.get(
        "/api/v1/auth/me", headers={"Cookie": f"basis_session={r.cookies['basis_session']}"}
    )
    assert me.status_code == 200
    assert me.json()["id"] == body["user"]["id"]
    assert me.json()["auth_method"] == "session"

    again = await auth.sign_in("alice@example.com")
    assert again.id == body["user"]["id"]
    assert again.user["wallets"] == body["user"]["wallets"]


async def test_asking_for_a_code_reveals_nothing_about_whether_the_address_has_an_account(
    auth: Auth,
) -> None:
    await auth.sign_in("known@example.com")
    known = await auth.request_code("known@example.com")
    unknown = await auth.request_code("nobody-here@example.com")
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    emails = [row[0] for row in await auth.sql("SELECT email FROM users")]
    assert emails == ["known@example.com"]  # asking for a code creates no account


async def test_a_code_works_exactly_once(auth: Auth) -> None:
    await auth.request_code("once@example.com")
    code = auth.codes.last("once@example.com")
    assert (await auth.verify("once@example.com", code)).status_code == 200
    replay = await auth.verify("once@example.com", code)
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "AUT-0002"
    assert "basis_session" not in replay.cookies


async def test_five_wrong_codes_kill_the_code_even_for_the_right_one(auth: Auth) -> None:
    await auth.request_code("guess@example.com")
    right = auth.codes.last("guess@example.com")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(5):
        r = await auth.verify("guess@example.com", wrong)
        assert r.json()["error"]["code"] == "AUT-0002"
    locked = await auth.verify("guess@example.com", right)
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "AUT-0005"
    await auth.request_code("guess@example.com")
    fresh = await auth.verify("guess@example.com", auth.codes.last("guess@example.com"))
    assert fresh.status_code == 200


async def test_a_code_expires_after_ten_minutes(auth: Auth) -> None:
    await auth.request_code("late@example.com")
    code = auth.codes.last("late@example.com")
    auth.clock.advance(601)
    r = await auth.verify("late@example.com", code)
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "invalid or expired code"


async def test_a_new_code_replaces_the_previous_one(auth: Auth) -> None:
    await auth.request_code("twice@example.com")
    first = auth.codes.last("twice@example.com")
    await auth.request_code("twice@example.com")
    second = auth.codes.last("twice@example.com")
    if first != second:
        assert (await auth.verify("twice@example.com", first)).status_code == 401
    assert (await auth.verify("twice@example.com", second)).status_code == 200


async def test_a_code_is_bound_to_its_address_and_stored_only_as_a_keyed_hash(
    auth: Auth,
) -> None:
    await auth.request_code("mine@example.com")
    code = auth.codes.last("mine@example.com")
    await auth.request_code("thief@example.com")
    if auth.codes.last("thief@example.com") != code:  # one chance in a million they match
        assert (await auth.verify("thief@example.com", code)).status_code == 401
    stored = await auth.sql("SELECT email, code_hash FROM login_codes")
    secret = auth.settings.server_secret.get_secret_value()
    mine = [h for e, h in stored if e == "mine@example.com"]
    assert mine == [otp_hash(secret, "mine@example.com", code)]
    assert all(code not in h for _, h in stored)


async def test_malformed_addresses_and_codes_are_422_naming_the_field(auth: Auth) -> None:
    r = await auth.api.post("/api/v1/auth/otp/request", json={"email": "not-an-address"})
    assert r.status_code == 422
    assert r.json()["error"]["details"]["errors"][0]["field"] == "email"
    r = await auth.api.post(
        "/api/v1/auth/otp/verify", json={"email": "a@example.com", "code": "12ab56"}
    )
    assert r.json()["error"]["details"]["errors"][0]["field"] == "code"


# ---- the session, CSRF and logout -------------------------------------------------------------


async def test_a_state_change_with_the_session_cookie_needs_the_csrf_token(auth: Auth) -> None:
    alice = await auth.sign_in("csrf@example.com")
    other = await auth.sign_in("csrf-other@example.com")
    body = {"name": "script"}
    missing = await auth.api.post(
        "/api/v1/auth/tokens", json=body, headers=alice.headers(csrf=False)
    )
    assert missing.status_code == 403
    assert missing.json()["error"]["code"] == "AUT-0004"
    foreign = {**alice.headers(csrf=False), "X-CSRF-Token": other.csrf}
    assert (
        await auth.api.post("/api/v1/auth/tokens", json=body, headers=foreign)
    ).status_code == 403
    assert (
        await auth.api.put("/api/v1/settings", json={}, headers=alice.headers(csrf=False))
    ).status_code == 403
    ok = await auth.api.post("/api/v1/auth/tokens", json=body, headers=alice.headers())
    assert ok.status_code == 201
    # Reads need no CSRF token.
    assert (await auth.api.get("/api/v1/auth/me", headers=alice.headers(csrf=False))).is_success


async def test_logout_ends_the_session_on_the_server_so_a_copied_cookie_dies_with_it(
    auth: Auth,
) -> None:
    laptop = await auth.sign_in("logout@example.com")
    phone = await auth.sign_in("logout@example.com")
    r = await auth.api.post("/api/v1/auth/logout", headers=laptop.headers())
    assert r.status_code == 200
    assert r.json() == {"sessions_ended": 1}
    assert 'basis_session=""' in _cookie_attrs(r, "basis_session") or "max-age=0" in _cookie_attrs(
        r, "basis_session"
    )
    stolen = await auth.api.get("/api/v1/auth/me", headers=laptop.headers())
    assert stolen.status_code == 401
    assert stolen.json()["error"]["code"] == "AUT-0002"
    assert (await auth.api.get("/api/v1/auth/me", headers=phone.headers())).status_code == 200
    r = await auth.api.post(
        "/api/v1/auth/logout", json={"everywhere": True}, headers=phone.headers()
    )
    assert r.json() == {"sessions_ended": 1}
    assert (await auth.api.get("/api/v1/auth/me", headers=phone.headers())).status_code == 401


async def test_a_session_expires_after_its_lifetime(auth: Auth) -> None:
    who = await auth.sign_in("expiry@example.com")
    auth.clock.advance(24 * 3600 - 60)
    assert (await auth.api.get("/api/v1/auth/me", headers=who.headers())).status_code == 200
    auth.clock.advance(61)
    assert (await auth.api.get("/api/v1/auth/me", headers=who.headers())).status_code == 401


def _forge(auth: Auth, who: SignedIn, **over: Any) -> str:
    claims = jwt.decode(who.cookie, options={"verify_signature": False})
    key: Any = _key(auth.settings.server_secret.get_secret_value(), "session")
    alg = over.pop("alg", "HS256")
    key = over.pop("key", key)
    claims.update(over)
    return jwt.encode(claims, key, algorithm=alg)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize(
    "forgery",
    [
        pytest.param({"key": "another-server-secret-0123456789abcdef"}, id="another-secret"),
        pytest.param({"alg": "HS512"}, id="wrong-algorithm"),
        pytest.param({"alg": "none", "key": None}, id="unsigned"),
        pytest.param({"aud": "someone-else"}, id="wrong-audience"),
        pytest.param({"iss": "evil.io"}, id="wrong-issuer"),
        pytest.param({"exp": 1_000_000_000}, id="expired"),
        pytest.param({"sub": str(uuid.UUID(int=1))}, id="another-subject"),
        pytest.param({"sid": "no-such-session"}, id="unknown-session"),
    ],
)
async def test_forged_expired_and_misdirected_session_tokens_are_refused(
    auth: Auth, forgery: dict[str, Any]
) -> None:
    who = await auth.sign_in("forge@example.com")
    token = _forge(auth, who, **forgery)
    r = await auth.api.get("/api/v1/auth/me", headers={"Cookie": f"basis_session={token}"})
    assert r.status_code == 401, forgery
    assert r.json()["error"]["code"] == "AUT-0002"
    # The untouched token still works: the refusal was the forgery's.
    assert (await auth.api.get("/api/v1/auth/me", headers=who.headers())).status_code == 200


async def test_no_header_a_caller_can_choose_identifies_them(auth: Auth) -> None:
    await auth.sign_in("victim@example.com")
    (uid,) = (await auth.sql("SELECT id FROM users"))[0]
    for headers in (
        {"X-User-Id": str(uuid.UUID(str(uid)))},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer bsk_" + "A" * 43},
    ):
        r = await auth.api.get("/api/v1/intents", headers=headers)
        assert r.status_code == 401, headers
        assert r.json()["error"]["code"] in ("AUT-0001", "AUT-0002")


# ---- API tokens -------------------------------------------------------------------------------


async def test_an_api_token_is_shown_once_hashed_at_rest_and_dies_when_revoked(
    auth: Auth,
) -> None:
    who = await auth.sign_in("script@example.com")
    r = await auth.api.post(
        "/api/v1/auth/tokens", json={"name": "backtest box"}, headers=who.headers()
    )
    created = r.json()
    token = created["token"]
    assert token.startswith("bsk_") and created["hint"] == token[:10]
    bearer = {"Authorization": f"Bearer {token}"}
    me = await auth.api.get("/api/v1/auth/me", headers=bearer)
    assert me.json()["email"] == "script@example.com"
    assert me.json()["auth_method"] == "token"
    listed = (await auth.api.get("/api/v1/auth/tokens", headers=bearer)).json()
    assert [t["id"] for t in listed] == [created["id"]]
    assert "token" not in listed[0]
    rows = await auth.sql("SELECT * FROM api_tokens")
    assert all(token not in str(value) for row in rows for value in row)
    # A token cannot mint more tokens (a leaked one must not make itself permanent) ...
    r = await auth.api.post("/api/v1/auth/tokens", json={"name": "more"}, headers=bearer)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "AUT-0008"
    # ... and needs no CSRF token for state changes.
    assert (await auth.api.put("/api/v1/settings", json={}, headers=bearer)).status_code == 200
    revoked = await auth.api.delete(f"/api/v1/auth/tokens/{created['id']}", headers=bearer)
    assert revoked.json()["revoked_at"] is not None
    dead = await auth.api.get("/api/v1/auth/me", headers=bearer)
    assert dead.status_code == 401


async def test_an_api_token_expires(auth: Auth) -> None:
    who = await auth.sign_in("short@example.com")
    r = await auth.api.post(
        "/api/v1/auth/tokens", json={"name": "day", "expires_in_days": 1}, headers=who.headers()
    )
    bearer = {"Authorization": f"Bearer {r.json()['token']}"}
    assert (await auth.api.get("/api/v1/auth/me", headers=bearer)).status_code == 200
    auth.clock.advance(timedelta(days=1, seconds=1).total_seconds())
    assert (await auth.api.get("/api/v1/auth/me", headers=bearer)).status_code == 401


async def test_a_disabled_account_is_refused_with_every_credential(auth: Auth) -> None:
    who = await auth.sign_in("gone@example.com")
    token = await api_token(auth.api, who)
    async with auth.app.state.engine.begin() as conn:
        await conn.execute(text("UPDATE users SET is_active = false"))
    for headers in (who.headers(), {"Authorization": f"Bearer {token}"}):
        r = await auth.api.get("/api/v1/auth/me", headers=headers)
        assert r.json()["error"]["code"] == "AUT-0006"
    await auth.request_code("gone@example.com")
    r = await auth.verify("gone@example.com", auth.codes.last("gone@example.com"))
    assert r.json()["error"]["code"] == "AUT-0006"


# ---- roles ------------------------------------------------------------------------------------


async def test_global_control_is_for_operators_and_the_control_view_is_scoped(auth: Auth) -> None:
    user = await auth.sign_in("plain@example.com")
    for path in ("pause", "resume", "emergency-stop", "scan"):
        r = await auth.api.post(f"/api/v1/control/{path}", json={}, headers=user.headers())
        assert r.status_code == 403, path
        assert r.json()["error"]["code"] == "AUT-0003"
    await set_role(auth.app.state.sessions, "plain@example.com", UserRole.OPERATOR, auth.clock())
    me = await auth.api.get("/api/v1/auth/me", headers=user.headers())
    assert me.json()["role"] == "operator"
    events = await auth.sql("SELECT action, details FROM audit_log WHERE action = 'role_changed'")
    assert len(events) == 1


async def test_the_whole_sign_in_life_cycle_on_both_databases(db_url: str) -> None:
    """Sign-in, tokens, the event stream, logout and revocation on SQLite and Postgres."""
    settings = api_settings(db_url)
    settings.api.events.max_stream_seconds = 0.3
    settings.api.events.poll_seconds = 0.05
    codes = CapturingCodeSender()
    app = create_app(settings, code_sender=codes, venues=FakeVenues())
    async with serve(app, BASE) as api:
        who = await sign_in(api, codes, "both@example.com")
        replay = await api.post(
            "/api/v1/auth/otp/verify",
            json={"email": "both@example.com", "code": codes.last("both@example.com")},
        )
        assert replay.status_code == 401
        token = await api_token(api, who)
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await api.get("/api/v1/auth/me", headers=bearer)).json()["id"] == who.id
        stream = await api.get("/api/v1/events", headers={**bearer, "Last-Event-ID": "0-0"})
        assert "event: bot_status" in stream.text
        assert "event: balance_update" in stream.text
        await api.post("/api/v1/auth/logout", headers=who.headers())
        assert (await api.get("/api/v1/auth/me", headers=who.headers())).status_code == 401
        tokens = (await api.get("/api/v1/auth/tokens", headers=bearer)).json()
        await api.delete(f"/api/v1/auth/tokens/{tokens[0]['id']}", headers=bearer)
        assert (await api.get("/api/v1/auth/me", headers=bearer)).status_code == 401
