"""Strategy values travel through Temporal's pydantic data converter unchanged, and the hot-path
construction builds the same values as validation does."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter

from models.domain import Asset, Protocol
from strategy import (
    AssetQuote,
    Denied,
    DenyReason,
    Enter,
    Exit,
    ExitReason,
    FundingStats,
    Hold,
    MonitorState,
    PositionEvaluation,
    PositionObservation,
    Rebalance,
    RebalanceReason,
    Signal,
    SignalCode,
    SignalLevel,
    Urgency,
    evaluate_position,
)
from strategy._construct import trusted
from strategy.decisions import Decision
from tests.unit.strategy.builders import NOW, PARAMS, position, snapshot, stats

D = Decimal


def roundtrip(value: object, kind: Any) -> object:
    conv = pydantic_data_converter.payload_converter
    payload = conv.to_payloads([value])
    return conv.from_payloads(payload, [kind])[0]


DECISIONS: list[object] = [
    Hold(
        alerts=(Signal(code=SignalCode.DELTA_DRIFT, level=SignalLevel.WARNING, value=D("0.006")),)
    ),
    Exit(reason=ExitReason.FUNDING_FLIP, urgency=Urgency.NORMAL, max_slippage_bps=100),
    Rebalance(
        reason=RebalanceReason.DELTA_DRIFT, transfer_usd=D("-12.5"), target_short_size=D("3.21")
    ),
    Denied(reason=DenyReason.QUOTE_STALE, detail="hl quote is 0:01:00 old"),
]


@pytest.mark.parametrize("decision", DECISIONS)
def test_decisions_roundtrip_through_the_union_type(decision: object) -> None:
    assert roundtrip(decision, Decision) == decision


def test_an_evaluation_and_its_state_roundtrip() -> None:
    state = MonitorState(long_near_since=NOW - timedelta(seconds=3))
    ev = evaluate_position(position(), snapshot(), state, PARAMS, NOW)
    back = roundtrip(ev, PositionEvaluation)
    assert back == ev


def test_an_enter_roundtrips() -> None:
    e = Enter(
        asset=Asset.JITOSOL,
        protocol=Protocol.KAMINO,
        leverage=D(3),
        net_apy=D("0.12"),
        long_deposit=D("1.5"),
        long_size=D("4.5"),
        short_size=D("5.4"),
        margin_per_leg_usd=D(500),
        hyperliquid_leverage=3,
        expected_asset_price_usd=D(180),
        expected_perp_price=D(150),
        max_slippage_bps=50,
    )
    assert roundtrip(e, Enter) == e


def test_the_snapshot_roundtrips() -> None:
    snap = snapshot(funding=stats(["0.00002"] * 30, predicted="0.00001"))
    assert roundtrip(snap, type(snap)) == snap


def test_trusted_construction_equals_validation() -> None:
    values = stats(["0.00001", "0.00003"]).model_dump()
    assert trusted(FundingStats, **values) == FundingStats(**values)
    obs = position().model_dump()
    assert trusted(PositionObservation, **obs) == PositionObservation(**obs)
    q = {"exchange_rate": D("1.2"), "market_price_sol": D("1.19"), "staking_apy": D("0.07")}
    built = trusted(AssetQuote, **q)
    assert built == AssetQuote(**q) and built.model_dump() == q
    assert built.model_fields_set == set(q)
