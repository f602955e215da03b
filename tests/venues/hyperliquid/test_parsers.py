"""The parsers accept every recorded mainnet ``/info`` response, and read them right."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from models.domain import OrderSide
from tests.conftest import shared_path
from venues.hyperliquid import parse
from venues.hyperliquid.parse import PARSERS, BadResponse
from venues.hyperliquid.types import LeverageType


def _interactions() -> list[tuple[str, str, dict[str, Any], Any]]:
    folder = shared_path("reference", "hyperliquid_info_recordings")
    out = []
    for path in sorted(Path(folder).glob("*.yaml")):
        for it in yaml.safe_load(path.read_text())["interactions"]:
            request = json.loads(it["request"]["body"])
            response = json.loads(it["response"]["body"]["string"])
            out.append((path.name, request["type"], request, response))
    return out


@pytest.fixture(scope="module")
def recordings() -> list[tuple[str, str, dict[str, Any], Any]]:
    found = _interactions()
    assert found, "no recordings found"
    return found


def _one(recordings: list[Any], request_type: str, file_part: str = "") -> Any:
    return next(r for f, t, _, r in recordings if t == request_type and file_part in f)


def test_every_recorded_mainnet_response_parses(recordings) -> None:
    unparsed = [(f, t) for f, t, _, _ in recordings if t not in PARSERS]
    assert unparsed == [], f"no parser for {unparsed}"
    for file, request_type, _, response in recordings:
        result = PARSERS[request_type](response)
        if isinstance(response, list | dict) and response:
            assert result, f"{file}: {request_type} parsed to nothing"


def test_recorded_meta_resolves_sol_to_its_mainnet_index(recordings) -> None:
    assets = parse.parse_meta(_one(recordings, "meta", "test_get_info"))
    sol = next(a for a in assets if a.name == "SOL")
    assert (sol.index, sol.sz_decimals) == (5, 2)


def test_recorded_user_state_reads_positions_and_margin(recordings) -> None:
    state = parse.parse_user_state(_one(recordings, "clearinghouseState"))
    btc = state.position("BTC")
    assert btc is not None
    assert btc.size == Decimal("-0.00785") and btc.side is OrderSide.SELL
    assert btc.entry_px == Decimal("26951.0")
    assert btc.leverage_type is LeverageType.CROSS and btc.leverage == 20
    assert btc.liquidation_px == Decimal("173198.69592357")
    eth = state.position("ETH")
    assert eth is not None and eth.liquidation_px is None
    assert state.account_value == Decimal("1182.312496")
    assert state.withdrawable == Decimal("1010.57173")
    assert state.margin_fraction == Decimal("1182.312496") / Decimal("3434.815334")


def test_recorded_fills_map_sides_and_keep_exact_decimals(recordings) -> None:
    fills = parse.parse_user_fills(_one(recordings, "userFills"))
    first = fills[0]
    assert first.side is OrderSide.SELL  # "A" is the ask side
    assert first.px == Decimal("1.3189") and first.closed_pnl == Decimal("-0.25686")
    assert first.time == datetime.fromtimestamp(1683245884.863, tz=UTC)
    assert first.tid is None  # fills this old carry no trade id


def test_recorded_funding_history_and_user_funding_keep_the_venue_sign(recordings) -> None:
    rates = parse.parse_funding_history(_one(recordings, "fundingHistory"))
    assert rates[0].rate == Decimal("-0.00061334") and rates[0].coin == "BTC"
    payments = parse.parse_user_funding(_one(recordings, "userFunding"))
    arb = next(p for p in payments if p.coin == "ARB")
    # A short (negative size) at a positive rate receives: positive usdc.
    assert arb.size < 0 and arb.rate > 0 and arb.usdc > 0


def test_recorded_l2_book_has_best_bid_below_best_ask(recordings) -> None:
    book = parse.parse_l2_book(_one(recordings, "l2Book"))
    assert book.best_bid is not None and book.best_ask is not None
    assert book.best_bid < book.best_ask


def test_recorded_historical_orders_read_as_order_statuses(recordings) -> None:
    statuses = parse.parse_historical_orders(_one(recordings, "historicalOrders"))
    rejected = statuses[0]
    assert rejected.status == "iocCancelRejected" and rejected.is_rejected
    assert rejected.filled_size == 0


def test_order_status_unknown_oid_is_none() -> None:
    assert parse.parse_order_status({"status": "unknownOid"}) is None


def test_a_malformed_response_is_refused_not_half_parsed() -> None:
    with pytest.raises(BadResponse):
        parse.parse_user_state({"assetPositions": [], "marginSummary": {}})
    with pytest.raises(BadResponse):
        parse.parse_all_mids({"SOL": "not a number"})
    with pytest.raises(BadResponse):
        parse.parse_user_fills([{"side": "X"}])
