"""Session, CSRF and hashing secrets are separate and rotate without signing everyone out:
the new secret goes first, the old one stays listed for its grace period, then it goes and
what was made under it stops working."""

from __future__ import annotations

from typing import Any

import httpx

from api.main import create_app
from api.security.codes import CapturingCodeSender
from api.security.ratelimit import InProcessRateLimiter
from basis.config import Settings
from tests.api.conftest import (
    FakeClock,
    FakeVenues,
    api_settings,
    api_token,
    serve,
    sign_in,
)

S1, S2 = "session-one-" + "a" * 32, "session-two-" + "b" * 32
C1, C2 = "csrf-one-" + "c" * 32, "csrf-two-" + "d" * 32
H1, H2 = "hash-one-" + "e" * 32, "hash-two-" + "f" * 32
BASE = "https://api.example"


def _settings(db: str, session: list[str], csrf: list[str], hashes: list[str]) -> Settings:
    return api_settings(
        db,
        session_secret="\n".join(session),
        csrf_secret="\n".join(csrf),
        hash_secret="\n".join(hashes),
    )


def _app(settings: Settings, codes: CapturingCodeSender) -> Any:
    clock = FakeClock()
    return create_app(
        settings,
        code_sender=codes,
        venues=FakeVenues(),
        clock=clock,
        rate_limiter=InProcessRateLimiter(clock=clock.monotonic),
    )


async def _me(api: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return (await api.get("/api/v1/auth/me", headers=headers)).status_code


async def test_old_sessions_csrf_and_tokens_hold_through_the_grace_period_then_stop(
    api_db: str,
) -> None:
    codes = CapturingCodeSender()
    async with serve(_app(_settings(api_db, [S1], [C1], [H1]), codes), BASE) as api:
        who = await sign_in(api, codes, "rotate@example.com")
        token = await api_token(api, who)
    bearer = {"Authorization": f"Bearer {token}"}

    # Rotation: new secrets first, old ones still listed.
    async with serve(_app(_settings(api_db, [S2, S1], [C2, C1], [H2, H1]), codes), BASE) as api:
        assert await _me(api, who.headers()) == 200
        assert await _me(api, bearer) == 200
        # A state change with the CSRF token issued under the old secret still passes.
        r = await api.post("/api/v1/auth/tokens", json={"name": "x"}, headers=who.headers())
        assert r.status_code == 201, r.text
        newer = await sign_in(api, codes, "rotate@example.com")
        assert newer.cookie != who.cookie
        new_token = await api_token(api, newer)

    # Grace period over: the old secrets are dropped.
    async with serve(_app(_settings(api_db, [S2], [C2], [H2]), codes), BASE) as api:
        assert await _me(api, who.headers()) == 401
        assert await _me(api, bearer) == 401
        assert await _me(api, newer.headers()) == 200
        assert await _me(api, {"Authorization": f"Bearer {new_token}"}) == 200
        r = await api.post("/api/v1/auth/tokens", json={"name": "y"}, headers=newer.headers())
        assert r.status_code == 201, r.text


async def test_a_csrf_secret_cannot_stand_in_for_the_session_secret(api_db: str) -> None:
    codes = CapturingCodeSender()
    async with serve(_app(_settings(api_db, [S1], [C1], [H1]), codes), BASE) as api:
        who = await sign_in(api, codes, "swap@example.com")
    # The same values in the other slots: nothing verifies.
    async with serve(_app(_settings(api_db, [C1], [S1], [H1]), codes), BASE) as api:
        assert await _me(api, who.headers()) == 401
