"""The risk file's sections added for the strategy: the YAML and the defaults agree, and the
Hyperliquid ladder is ordered."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from basis.config import DEFAULT_RISK_FILE, load_risk_params
from models.risk import HyperliquidMarginLimits, RiskParams


def test_the_shipped_risk_file_is_the_documented_defaults() -> None:
    assert load_risk_params(DEFAULT_RISK_FILE) == RiskParams()


def test_strategy_defaults() -> None:
    r = RiskParams()
    assert r.exit.patience_hours == 4
    assert r.entry.expected_hold_hours == 720
    assert r.quotes.max_age_seconds == 30
    assert r.costs.hyperliquid_taker_bps == Decimal("4.5")
    assert (
        r.hyperliquid.margin_fraction_critical,
        r.hyperliquid.margin_fraction_min,
        r.hyperliquid.margin_fraction_rebalance,
    ) == (Decimal("0.05"), Decimal("0.10"), Decimal("0.20"))


def test_the_margin_ladder_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="maintenance < critical < min < rebalance"):
        HyperliquidMarginLimits(margin_fraction_min=Decimal("0.3"))
