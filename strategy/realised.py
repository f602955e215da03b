"""Realised PnL of a closed position, split by source from what the venues reported.

Measured directly: funding (the short's settlements), borrow (growth of the USDC debt),
lending (collateral tokens gained), staking (the LST's exchange-rate growth on the tokens held)
and fees (venue fees). ``price`` is what remains of the realised total: both legs' price moves
plus swap slippage. The total itself is exact: cash out minus cash in on both venues.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from strategy.backtest.ledger import PnlSplit


class RealisedLeg(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    collateral_usd: Decimal
    """USDC posted as the long's margin."""
    tokens_open: Decimal
    tokens_close: Decimal
    debt_open: Decimal
    debt_close: Decimal
    exit_price_usd: Decimal
    """USD price of one token when the long was closed."""
    rate_open: Decimal = Decimal(1)
    """SOL per token when opened (1 for SOL)."""
    rate_close: Decimal = Decimal(1)
    sol_price_close: Decimal
    fees_usd: Decimal = Decimal(0)


class RealisedShort(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sold_usd: Decimal
    """Sum of price x size of the sells that opened the short."""
    bought_usd: Decimal
    """Sum of price x size of the buys that closed it."""
    fees_usd: Decimal
    funding_usd: Decimal
    """Settlements received (+) or paid (-)."""


def realised_pnl(long: RealisedLeg, short: RealisedShort) -> PnlSplit:
    proceeds = long.tokens_close * long.exit_price_usd - long.debt_close
    long_total = proceeds - long.collateral_usd
    borrow = -(long.debt_close - long.debt_open)
    lending = (long.tokens_close - long.tokens_open) * long.exit_price_usd
    staking = long.tokens_open * long.sol_price_close * (long.rate_close - long.rate_open)
    # Asgard's fees are inside the proceeds: take them out of the price part into fees.
    long_price = long_total - borrow - lending - staking + long.fees_usd
    short_price = short.sold_usd - short.bought_usd
    return PnlSplit.of(
        {
            "funding": short.funding_usd,
            "staking": staking,
            "lending": lending,
            "borrow": borrow,
            "price": long_price + short_price,
            "fees": -(long.fees_usd + short.fees_usd),
        }
    )
