"""User B tries every endpoint of the API on user A's objects.

The matrix is built from the application's own route table: a route the table below does not
classify fails the test, so a new endpoint is covered (or noticed) the day it is added.

- Object routes (a path id): B gets exactly what a never-existing id gets (404, same code and
  message), so ids cannot be probed; A gets the object.
- Own-account routes: B's answer carries nothing of A's (ids, address, wallets, token).
- Operator routes: B gets 403.
- Afterwards A's intent is still pending, A's position still open, A's token still works,
  A's settings and pause state unchanged; B's full event replay holds none of A's events.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import httpx
from fastapi.routing import iter_route_contexts

from api.main import API_PREFIX
from tests.api.conftest import SignedIn, TradingEnv, api_token

PUBLIC, SELF, OPERATOR = "public", "self", "operator"
INTENT = {"asset": "jitoSOL", "leverage": "3", "capital_usd": "1000", "min_net_apy": "0.9"}

# (method, path) -> (kind, body). Object routes name the path parameter they take.
ROUTES: dict[tuple[str, str], tuple[str, dict[str, Any] | None]] = {
    ("GET", "/health/live"): (PUBLIC, None),
    ("GET", "/health/ready"): (PUBLIC, None),
    ("GET", "/docs"): (PUBLIC, None),
    ("GET", "/docs/oauth2-redirect"): (PUBLIC, None),
    ("GET", "/redoc"): (PUBLIC, None),
    ("GET", "/openapi.json"): (PUBLIC, None),
    ("POST", "/auth/otp/request"): (PUBLIC, {"email": "b-probe@example.com"}),
    ("POST", "/auth/otp/verify"): (PUBLIC, {"email": "{a_email}", "code": "000000"}),
    ("POST", "/auth/sync"): (PUBLIC, {"access_token": "x" * 40}),
    ("GET", "/auth/me"): (SELF, None),
    ("POST", "/auth/logout"): (SELF, {}),
    ("POST", "/auth/tokens"): (SELF, {"name": "b"}),
    ("GET", "/auth/tokens"): (SELF, None),
    ("DELETE", "/auth/tokens/{token_id}"): ("token_id", None),
    ("GET", "/control"): (SELF, None),
    ("POST", "/control/pause"): (OPERATOR, {"reason": "b"}),
    ("POST", "/control/resume"): (OPERATOR, {"reason": "b"}),
    ("POST", "/control/emergency-stop"): (OPERATOR, {"reason": "b"}),
    ("POST", "/control/scan"): (OPERATOR, None),
    ("POST", "/control/me/pause"): (SELF, {"reason": "b"}),
    ("POST", "/control/me/resume"): (SELF, {"reason": "b"}),
    ("POST", "/intents"): (SELF, INTENT),
    ("GET", "/intents"): (SELF, None),
    ("GET", "/intents/{intent_id}"): ("intent_id", None),
    ("DELETE", "/intents/{intent_id}"): ("intent_id", None),
    ("GET", "/positions"): (SELF, None),
    ("POST", "/positions/open"): (SELF, {**INTENT, "min_net_apy": "0.8"}),
    ("GET", "/positions/{position_id}"): ("position_id", None),
    ("POST", "/positions/{position_id}/close"): ("position_id", {"reason": "b"}),
    ("GET", "/positions/{position_id}/operation"): ("position_id", None),
    ("GET", "/balances"): (SELF, None),
    ("POST", "/balances/check"): (SELF, {"capital_usd": "1000"}),
    ("GET", "/rates"): (SELF, None),
    ("GET", "/settings"): (SELF, None),
    ("PUT", "/settings"): (SELF, {"max_leverage": "2"}),
    ("POST", "/settings/reset"): (SELF, None),
    ("GET", "/events"): (SELF, None),
}


def app_routes(env: TradingEnv) -> set[tuple[str, str]]:
    """Every (method, path) the application serves, from its own routing table."""
    out = set()
    for r in iter_route_contexts(env.app.routes):
        assert r.path and r.path.startswith(API_PREFIX), f"route outside the API: {r.path}"
        for m in r.methods or ():
            if m != "HEAD":
                out.add((m, r.path.removeprefix(API_PREFIX)))
    return out


async def _a_world(env: TradingEnv) -> tuple[SignedIn, dict[str, str], dict[str, Any]]:
    """User A with a pending intent, an open position, an API token and saved settings."""
    a = await env.signed_in()
    token = await api_token(env.api, a, "a-script")
    headers = {"Authorization": f"Bearer {token}"}
    pending = await env.api.post("/api/v1/intents", json=INTENT, headers=headers)
    assert pending.status_code == 201, pending.text
    opened = await env.api.post(
        "/api/v1/positions/open",
        json={"asset": "SOL", "capital_usd": "2000", "execute_immediately": True},
        headers=headers,
    )
    intent_id = opened.json()["id"]
    position_id = None
    for _ in range(100):
        body = (await env.api.get(f"/api/v1/intents/{intent_id}", headers=headers)).json()
        if body["status"] == "filled":
            position_id = body["position_id"]
            break
        await asyncio.sleep(0.1)
    assert position_id, "A's position did not open"
    await env.api.put("/api/v1/settings", json={"max_leverage": "3.5"}, headers=headers)
    tokens = (await env.api.get("/api/v1/auth/tokens", headers=headers)).json()
    me = (await env.api.get("/api/v1/auth/me", headers=headers)).json()
    ids = {
        "intent_id": pending.json()["id"],
        "position_id": position_id,
        "token_id": tokens[0]["id"],
        "token_hint": tokens[0]["hint"],
        "a_email": a.email,
        "a_id": a.id,
        "a_solana": me["wallets"]["solana"],
        "a_evm": me["wallets"]["evm"],
        "filled_intent_id": intent_id,
    }
    return a, headers, ids


def _leaks(text: str, ids: dict[str, Any]) -> list[str]:
    return [k for k, v in ids.items() if v and str(v) in text]


async def _call(
    env: TradingEnv, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
) -> httpx.Response:
    return await env.api.request(
        method, f"{API_PREFIX}{path}", json=body, headers=headers, timeout=30
    )


async def test_user_b_can_neither_see_nor_touch_anything_of_user_a(trading: TradingEnv) -> None:
    trading.settings.api.events.max_stream_seconds = 1.0
    trading.settings.api.events.poll_seconds = 0.1
    unclassified = app_routes(trading) ^ set(ROUTES)
    assert not unclassified, f"classify these routes in ROUTES: {sorted(unclassified)}"

    a, a_headers, ids = await _a_world(trading)
    b_session = await trading.signed_in()
    b_credentials = {
        "bearer": {"Authorization": f"Bearer {await api_token(trading.api, b_session)}"},
        "session": b_session.headers(),
    }
    secret_ids = {k: v for k, v in ids.items() if k != "a_email"}
    checked = 0
    for kind_of_credential, b in b_credentials.items():
        # Logging out last, so the session pass covers every other route signed in.
        order = sorted(ROUTES, key=lambda mp: (mp == ("POST", "/auth/logout"), mp))
        for method, path in order:
            kind, template = ROUTES[(method, path)]
            body = None
            if template is not None:
                body = {k: (ids["a_email"] if v == "{a_email}" else v) for k, v in template.items()}
            where = f"{kind_of_credential} {method} {path}"
            if kind in ("intent_id", "position_id", "token_id"):
                theirs = await _call(
                    trading, method, path.replace(f"{{{kind}}}", ids[kind]), body, b
                )
                nobody = await _call(
                    trading, method, path.replace(f"{{{kind}}}", str(uuid.uuid4())), body, b
                )
                assert theirs.status_code == 404, (where, theirs.text)
                assert theirs.json()["error"] == nobody.json()["error"], where
                assert not _leaks(theirs.text, ids), where
                checked += 1
                continue
            r = await _call(trading, method, path, body, b)
            assert r.status_code < 500, (where, r.text)
            if kind == OPERATOR:
                assert r.status_code == 403, (where, r.text)
            leaked = _leaks(r.text, secret_ids if kind == PUBLIC else ids)
            assert not leaked, (where, leaked, r.text[:500])
            checked += 1
    assert checked == 2 * len(ROUTES)

    # B's full replay of the event stream from the very first event: nothing of A's.
    replay = await trading.api.get(
        f"{API_PREFIX}/events", headers={**b_credentials["bearer"], "Last-Event-ID": "0-0"}
    )
    assert replay.status_code == 200
    assert not _leaks(replay.text, ids), replay.text[:1000]
    # ... while A's own replay shows A's position: the check above could have failed.
    own = await trading.api.get(
        f"{API_PREFIX}/events", headers={**a_headers, "Last-Event-ID": "0-0"}
    )
    assert ids["position_id"] in own.text
    assert re.search(r"event: position_opened", own.text)

    # Nothing of A's changed.
    intent = await trading.api.get(f"{API_PREFIX}/intents/{ids['intent_id']}", headers=a_headers)
    assert intent.json()["status"] == "pending"
    pos = await trading.api.get(f"{API_PREFIX}/positions/{ids['position_id']}", headers=a_headers)
    assert pos.json()["status"] == "open"
    settings = (await trading.api.get(f"{API_PREFIX}/settings", headers=a_headers)).json()
    assert settings["settings"]["max_leverage"] == "3.5"
    control = (await trading.api.get(f"{API_PREFIX}/control", headers=a_headers)).json()
    assert control["paused"] is False
    assert all(s["scope"] in ("global", f"user:{a.id}") for s in control["scopes"])
    assert (await trading.api.get(f"{API_PREFIX}/auth/me", headers=a.headers())).status_code == 200

    # A, on the same object routes, gets the objects: the 404s above were about ownership.
    for method, path, expected in (
        ("GET", f"/intents/{ids['intent_id']}", 200),
        ("GET", f"/positions/{ids['position_id']}/operation", 200),
        ("DELETE", f"/intents/{ids['intent_id']}", 200),
        ("POST", f"/positions/{ids['position_id']}/close", 202),
        ("DELETE", f"/auth/tokens/{ids['token_id']}", 200),
    ):
        r = await _call(trading, method, path, {} if method == "POST" else None, a_headers)
        assert r.status_code == expected, (method, path, r.text)
