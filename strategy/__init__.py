"""Pure, deterministic strategy: what the workflows call, the backtester replays and the tests
pin down. No I/O and no clock (``now`` is a parameter); ``Decimal`` for money; decisions are
values with reason codes.

Entry points a workflow calls:

- ``funding_stats`` / ``FundingWindow`` -> ``FundingStats`` (once per market snapshot)
- ``price_consensus`` -> ``PriceConsensus`` (once per snapshot)
- ``rank_opportunities`` -> ``Opportunity`` list; ``net_carry`` for one pair
- ``evaluate_entry(IntentCriteria, MarketSnapshot, AccountState, RiskParams, now)``
  -> ``Enter | Denied``
- ``evaluate_position(PositionObservation, MarketSnapshot, MonitorState, RiskParams, now)``
  -> ``PositionEvaluation`` (decision ``Hold | Rebalance | Exit`` and the next state)
- ``size_position`` / ``hedge_size``; ``validate_fill`` / ``check_drift`` after fills
- ``record_failure`` / ``record_result`` / ``breaker_status`` / ``gate_entry``
"""

from strategy.breakers import (
    BreakerState,
    BreakerStatus,
    EntryGates,
    breaker_status,
    gate_entry,
    record_failure,
    record_result,
)
from strategy.carry import (
    CarryBreakdown,
    Opportunity,
    entry_health,
    gross_carry,
    net_carry,
    rank_opportunities,
    round_trip_cost_fraction,
)
from strategy.consensus import PriceConsensus, PriceQuote, price_consensus
from strategy.decisions import (
    HOLD,
    Decision,
    Denied,
    DenyReason,
    Enter,
    EntryDecision,
    Exit,
    ExitReason,
    Hold,
    PositionDecision,
    Rebalance,
    RebalanceReason,
    Signal,
    SignalCode,
    SignalLevel,
    Urgency,
)
from strategy.entry import AccountState, IntentCriteria, evaluate_entry
from strategy.fills import (
    DriftCheck,
    FillCheck,
    FillPurpose,
    check_drift,
    delta_drift,
    slippage_bps,
    validate_fill,
)
from strategy.funding import FundingStats, FundingWindow, funding_stats
from strategy.lots import DEFAULT_LOTS, LotRules, is_valid_hl_price, round_hl_price
from strategy.market import AssetQuote, MarketSnapshot, ProtocolTerms
from strategy.monitor import (
    MonitorState,
    PositionEvaluation,
    PositionObservation,
    evaluate_position,
)
from strategy.risk import (
    LegLevel,
    PegCheck,
    asgard_health,
    check_lst_peg,
    health_level,
    long_liquidation_price,
    margin_fraction,
    margin_level,
    short_liquidation_price,
)
from strategy.sizing import LegSizes, SizeCap, SizingRequest, hedge_size, size_position

__all__ = [
    "DEFAULT_LOTS",
    "HOLD",
    "AccountState",
    "AssetQuote",
    "BreakerState",
    "BreakerStatus",
    "CarryBreakdown",
    "Decision",
    "Denied",
    "DenyReason",
    "DriftCheck",
    "Enter",
    "EntryDecision",
    "EntryGates",
    "Exit",
    "ExitReason",
    "FillCheck",
    "FillPurpose",
    "FundingStats",
    "FundingWindow",
    "Hold",
    "IntentCriteria",
    "LegLevel",
    "LegSizes",
    "LotRules",
    "MarketSnapshot",
    "MonitorState",
    "Opportunity",
    "PegCheck",
    "PositionDecision",
    "PositionEvaluation",
    "PositionObservation",
    "PriceConsensus",
    "PriceQuote",
    "ProtocolTerms",
    "Rebalance",
    "RebalanceReason",
    "Signal",
    "SignalCode",
    "SignalLevel",
    "SizeCap",
    "SizingRequest",
    "Urgency",
    "asgard_health",
    "breaker_status",
    "check_drift",
    "check_lst_peg",
    "delta_drift",
    "entry_health",
    "evaluate_entry",
    "evaluate_position",
    "funding_stats",
    "gate_entry",
    "gross_carry",
    "health_level",
    "hedge_size",
    "is_valid_hl_price",
    "long_liquidation_price",
    "margin_fraction",
    "margin_level",
    "net_carry",
    "price_consensus",
    "rank_opportunities",
    "record_failure",
    "record_result",
    "round_hl_price",
    "round_trip_cost_fraction",
    "short_liquidation_price",
    "size_position",
    "slippage_bps",
    "validate_fill",
]
