"""The emulator's admin API and its injected faults, as a test or the operator drives them
over HTTP."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.venues.asgard.harness import Venue
from venues.asgard import AsgardClient, AsgardLogicalError


async def _height(venue: Venue) -> int:
    resp = await venue.admin.post(
        "/solana",
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "getBlockHeight",
            "params": [{"commitment": "processed"}],
        },
    )
    height: int = resp.json()["result"]
    return height


async def test_advancing_the_clock_moves_the_block_height_one_block_per_400ms(
    venue: Venue,
) -> None:
    before = await _height(venue)
    resp = await venue.admin.post("/admin/clock/advance", json={"seconds": 60})
    assert resp.status_code == 200
    assert await _height(venue) - before in (150, 151)  # 60 s / 0.4 s (+1 for real time)


async def test_faults_installed_over_http_fire_and_are_cleared(venue: Venue) -> None:
    rule = {
        "kind": "logical_error",
        "match": "asgard:markets",
        "count": 1,
        "params": {"name": "MarketsPaused", "message": "maintenance"},
    }
    assert (await venue.admin.post("/admin/faults", json={"rules": [rule]})).status_code == 200
    client = AsgardClient(venue.asgard_url, "test-key")
    venue.clients.append(client)
    with pytest.raises(AsgardLogicalError) as exc:
        await client.markets()
    assert exc.value.status == 422 and exc.value.name == "MarketsPaused"
    body = (await venue.admin.get("/admin/faults")).json()
    assert body["faults"][0]["fired"] == 1

    await venue.admin.post("/admin/faults", json={"kind": "http_error", "status": 503})
    assert (await venue.admin.delete("/admin/faults")).json() == {"faults": []}
    assert len(await client.markets()) == 4


async def test_an_unknown_fault_kind_is_refused(venue: Venue) -> None:
    resp = await venue.admin.post("/admin/faults", json={"kind": "meteor_strike"})
    assert resp.status_code == 400


async def test_injected_latency_delays_but_serves(venue: Venue) -> None:
    venue.fault("latency", "asgard:markets", delay_s=0.3, count=1)
    started = time.monotonic()
    resp = await venue.admin.get("/margin-trading/markets", headers={"X-API-Key": "test-key"})
    assert resp.status_code == 200 and time.monotonic() - started >= 0.3


async def test_asgard_errors_have_asgards_shape(venue: Venue) -> None:
    resp = await venue.admin.post(
        "/margin-trading/refresh-positions",
        headers={"X-API-Key": "test-key"},
        json={"positionPDAs": [{"protocol": 1, "positionPDA": "11111111111111111111111111111112"}]},
    )
    assert resp.status_code == 422
    error = resp.json()["error"]
    assert set(error) == {"name", "code", "message", "details"}
    assert error["name"] == "PositionNotFound"


async def test_funding_a_bad_wallet_is_refused(venue: Venue) -> None:
    resp = await venue.admin.post("/admin/fund", json={"wallet": "not-a-key", "usdc": "1"})
    assert resp.status_code == 400
    with pytest.raises(httpx.HTTPStatusError):
        resp.raise_for_status()
