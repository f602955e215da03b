"""What a backtest reports."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from models.domain import Asset, Protocol
from strategy.backtest.ledger import PnlSplit
from strategy.decisions import ExitReason, Urgency


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BacktestConfig(_Frozen):
    """One strategy run: which position to hold, and the intent's entry criteria."""

    asset: Asset = Asset.SOL
    leverage: Decimal = Decimal(3)
    capital_usd: Decimal = Field(default=Decimal(10_000), gt=0)
    protocol: Protocol | None = None
    """Force one lending protocol; ``None`` lets the entry rules pick the best each time."""
    start: datetime | None = None
    """Trading starts here; earlier rows only fill the funding lookback. ``None``: the first
    row."""
    reenter: bool = True
    """After an exit, enter again whenever the entry criteria hold."""
    close_at_end: bool = True
    """Close an open position at the last row (normal urgency) so PnL is realised."""
    min_net_apy: Decimal | None = None
    min_funding_rate: Decimal | None = None
    max_funding_volatility: Decimal | None = None
    max_entry_price: Decimal | None = None
    label: str = ""


class Trade(_Frozen):
    """One round trip."""

    asset: Asset
    protocol: Protocol
    opened_at: datetime
    closed_at: datetime
    entry_sol_price: Decimal
    exit_sol_price: Decimal
    exit_reason: ExitReason
    urgency: Urgency
    rebalances: int
    pnl: PnlSplit


class BacktestResult(_Frozen):
    config: BacktestConfig
    start: datetime
    end: datetime
    hours: int
    capital_usd: Decimal
    final_equity_usd: Decimal
    """``capital_usd + pnl.total``."""
    pnl: PnlSplit
    slippage_usd: Decimal
    """Of ``pnl.fees``: slippage."""
    liquidation_penalty_usd: Decimal
    """Of ``pnl.fees``: liquidation penalties."""
    unattributed_usd: Decimal
    """Audit: the account's equity at the end minus capital and every booked posting. Only the
    micro-USD rounding of the postings should be in it."""
    apy: Decimal
    """``pnl.total / capital x 8760 / hours`` (simple, on the whole period)."""
    apy_in_market: Decimal | None
    """The same over the hours a position was held."""
    max_drawdown_usd: Decimal
    max_drawdown_fraction: Decimal
    """Of the running peak equity (hourly closes and every exit)."""
    hours_in_market: int
    time_in_market: Decimal
    round_trips: int
    liquidations: int
    rebalances: int
    exits: dict[str, int]
    """Round trips by exit reason."""
    denials: dict[str, int]
    """Hours flat by the entry refusal's reason (why the strategy stayed out)."""
    trades: tuple[Trade, ...]
    equity_curve: tuple[tuple[datetime, Decimal], ...] = ()
