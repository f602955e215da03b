"""Risk parameters: the limits every decision is checked against.

The values live in a versioned YAML file (``basis/risk.yaml``); this module only declares their
shape and the ranges a sane configuration must respect. It is pure: no file is read here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

RISK_SCHEMA_VERSION = 1

Fraction = Annotated[Decimal, Field(ge=0, le=1)]
PositiveSeconds = Annotated[int, Field(gt=0, le=86_400)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LeverageLimits(_Frozen):
    min: Annotated[Decimal, Field(ge=Decimal("1.0"), le=Decimal("20"))] = Decimal("1.1")
    max: Annotated[Decimal, Field(ge=Decimal("1.0"), le=Decimal("20"))] = Decimal("4")
    default: Annotated[Decimal, Field(ge=Decimal("1.1"), le=Decimal("4"))] = Decimal("3")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.min <= self.default <= self.max:
            raise ValueError(
                f"leverage must satisfy min <= default <= max, got "
                f"{self.min} <= {self.default} <= {self.max}"
            )
        return self


class AsgardHealthLimits(_Frozen):
    """Health factor as a fraction: 0.20 means the market may fall 20% before liquidation."""

    min: Fraction = Decimal("0.20")
    emergency: Fraction = Decimal("0.10")
    critical: Fraction = Decimal("0.05")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.critical < self.emergency < self.min:
            raise ValueError("health factor thresholds must satisfy critical < emergency < min")
        return self


class HyperliquidMarginLimits(_Frozen):
    """Margin fraction = the short's equity / its notional (1/L when opened at leverage L).

    Only ``margin_fraction_min`` is the seed's; the other levels complete the ladder the way
    the Asgard health factor has one (rebalance, urgent exit, exit at any price)."""

    margin_fraction_rebalance: Fraction = Decimal("0.20")
    margin_fraction_min: Fraction = Decimal("0.10")
    margin_fraction_critical: Fraction = Decimal("0.05")
    maintenance_margin_fraction: Fraction = Decimal("0.025")
    """Venue fact (SOL: half the initial margin at 20x); used to estimate liquidation."""

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not (
            self.maintenance_margin_fraction
            < self.margin_fraction_critical
            < self.margin_fraction_min
            < self.margin_fraction_rebalance
        ):
            raise ValueError(
                "margin fractions must satisfy maintenance < critical < min < rebalance"
            )
        return self


class LiquidationProximity(_Frozen):
    """A leg is *near liquidation* when its safety metric (Asgard health factor, Hyperliquid
    margin fraction) is within ``threshold`` (relative) of its urgent-exit level: health
    <= emergency x (1 + threshold), margin fraction <= margin_fraction_min x (1 + threshold).
    Held for ``sustained_seconds``, that is an urgent exit."""

    threshold: Fraction = Decimal("0.20")
    sustained_seconds: PositiveSeconds = 20


class SlippageLimits(_Frozen):
    entry_bps: Annotated[int, Field(gt=0, le=1000)] = 50
    exit_bps: Annotated[int, Field(gt=0, le=1000)] = 100


class DeltaDriftLimits(_Frozen):
    warning: Fraction = Decimal("0.005")
    critical: Fraction = Decimal("0.02")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.warning < self.critical:
            raise ValueError("delta drift warning must be below critical")
        return self


class LstPegLimits(_Frozen):
    premium_warning: Fraction = Decimal("0.03")
    premium_critical: Fraction = Decimal("0.05")
    discount_warning: Fraction = Decimal("0.01")
    discount_critical: Fraction = Decimal("0.02")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.premium_warning < self.premium_critical:
            raise ValueError("LST premium warning must be below critical")
        if not self.discount_warning < self.discount_critical:
            raise ValueError("LST discount warning must be below critical")
        return self


class CircuitBreakerLimits(_Frozen):
    max_failures: Annotated[int, Field(gt=0, le=1000)] = 3
    failure_window_seconds: PositiveSeconds = 3600
    max_loss_usd: Annotated[Decimal, Field(gt=0)] = Decimal("5000")
    loss_window_seconds: PositiveSeconds = 86_400


class PositionLimits(_Frozen):
    min_position_usd: Annotated[Decimal, Field(gt=0)] = Decimal("100")
    max_position_usd: Annotated[Decimal, Field(gt=0)] = Decimal("500000")
    max_total_exposure_usd: Annotated[Decimal, Field(gt=0)] = Decimal("2000000")
    max_deployment_fraction: Annotated[Decimal, Field(gt=0, le=1)] = Decimal("0.95")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.min_position_usd < self.max_position_usd <= self.max_total_exposure_usd:
            raise ValueError(
                "position limits must satisfy min_position_usd < max_position_usd "
                "<= max_total_exposure_usd"
            )
        return self


class FundingLimits(_Frozen):
    lookback_hours: Annotated[int, Field(ge=24, le=24 * 90)] = 168
    min_history_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 24
    max_volatility: Annotated[Decimal, Field(gt=0, le=10)] = Decimal("0.50")


class EntryRules(_Frozen):
    min_net_apy: Annotated[Decimal, Field(ge=-1, le=10)] = Decimal("0.05")
    """Applied when an intent sets neither a minimum net APY nor a minimum funding rate."""
    expected_hold_hours: Annotated[int, Field(ge=1, le=24 * 365)] = 720
    """Round-trip costs are amortised over this holding period."""
    max_funding_age_seconds: PositiveSeconds = 7200
    """No entry when the latest settled funding is older than this."""
    require_positive_predicted: bool = True
    """Conservative entry: the predicted funding must also pay the short, when it is known."""


class ExitRules(_Frozen):
    patience_hours: Annotated[int, Field(ge=0, le=24 * 7)] = 4
    """A funding flip (or low carry) must persist this long, or the predicted funding agree
    with the flip this long, before a non-urgent exit; 0 exits on the first observation."""
    min_carry_apy: Annotated[Decimal, Field(ge=-1, le=10)] = Decimal("0")
    """Exit when the position's gross carry (at the latest funding) stays below this for
    ``patience_hours``."""


class QuoteLimits(_Frozen):
    max_age_seconds: PositiveSeconds = 30
    """Price consensus refuses a quote older (or further in the future) than this."""


class TradingCosts(_Frozen):
    """Costs the carry estimate amortises and the backtester charges. Values marked
    *unconfirmed* are assumptions (VENUES.md lists no Asgard fee)."""

    hyperliquid_taker_bps: Annotated[Decimal, Field(ge=0, le=100)] = Decimal("4.5")
    hyperliquid_maker_bps: Annotated[Decimal, Field(ge=-10, le=100)] = Decimal("1.5")
    asgard_fee_bps: Annotated[Decimal, Field(ge=0, le=100)] = Decimal("10")
    """Per open and per close, on the long notional (unconfirmed)."""
    expected_slippage_bps: Annotated[Decimal, Field(ge=0, le=1000)] = Decimal("5")
    """Per leg and side for an ordinary market order."""
    urgent_slippage_bps: Annotated[Decimal, Field(ge=0, le=1000)] = Decimal("25")
    """Per leg for an urgent exit into a moving market."""
    fixed_cost_usd: Annotated[Decimal, Field(ge=0)] = Decimal("1")
    """Per open, close or rebalance: Solana fees and tips."""
    transfer_cost_usd: Annotated[Decimal, Field(ge=0)] = Decimal("1")
    """Per cross-venue USDC transfer (a rebalance)."""
    asgard_liquidation_penalty: Fraction = Decimal("0.05")
    """Share of the collateral value lost when the long is liquidated (unconfirmed)."""


class Cadence(_Frozen):
    monitor_interval_seconds: PositiveSeconds = 30
    intent_scan_interval_seconds: PositiveSeconds = 60
    max_single_leg_exposure_seconds: PositiveSeconds = 120


class RiskParams(_Frozen):
    """Every limit the engine enforces. ``version`` guards against a file written for another
    schema being read silently."""

    version: Annotated[int, Field(ge=1, le=RISK_SCHEMA_VERSION)] = RISK_SCHEMA_VERSION
    leverage: LeverageLimits = LeverageLimits()
    asgard_health: AsgardHealthLimits = AsgardHealthLimits()
    hyperliquid: HyperliquidMarginLimits = HyperliquidMarginLimits()
    liquidation_proximity: LiquidationProximity = LiquidationProximity()
    max_price_deviation: Annotated[Decimal, Field(gt=0, le=Decimal("0.10"))] = Decimal("0.005")
    quotes: QuoteLimits = QuoteLimits()
    slippage: SlippageLimits = SlippageLimits()
    delta_drift: DeltaDriftLimits = DeltaDriftLimits()
    lst_peg: LstPegLimits = LstPegLimits()
    circuit_breaker: CircuitBreakerLimits = CircuitBreakerLimits()
    positions: PositionLimits = PositionLimits()
    funding: FundingLimits = FundingLimits()
    entry: EntryRules = EntryRules()
    exit: ExitRules = ExitRules()
    costs: TradingCosts = TradingCosts()
    cadence: Cadence = Cadence()
