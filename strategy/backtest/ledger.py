"""PnL attribution: every change of equity is booked to exactly one of six parts.

- ``funding``: settlements received (+) or paid (-) by the short, ``size x oracle x rate``;
- ``staking``: the LST's exchange-rate accrual on the collateral held, ``q x SOL x dx``;
- ``lending``: supply interest, paid as extra collateral tokens, valued at the close;
- ``borrow``: USDC interest added to the debt (<= 0);
- ``price``: everything the prices did to the two legs (SOL, the perp mark, the LST's peg);
- ``fees``: venue fees, slippage, fixed costs, transfer costs and liquidation penalties.

Postings are booked in micro-USD (USDC's precision). The report rounds each part to the cent
and defines the total as the sum of the rounded parts, so the parts always sum to the total.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from pydantic import BaseModel, ConfigDict, model_validator

from strategy.units import CENT, MICRO, ZERO

PARTS = ("funding", "staking", "lending", "borrow", "price", "fees")


class PnlSplit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    funding: Decimal
    staking: Decimal
    lending: Decimal
    borrow: Decimal
    price: Decimal
    fees: Decimal
    total: Decimal

    @model_validator(mode="after")
    def _sums(self) -> PnlSplit:
        parts = self.funding + self.staking + self.lending + self.borrow + self.price + self.fees
        if parts != self.total:
            raise ValueError(f"PnL parts sum to {parts}, not to the total {self.total}")
        return self

    @classmethod
    def of(cls, parts: dict[str, Decimal]) -> PnlSplit:
        """Round each part to the cent; the total is their sum."""
        rounded = {k: parts[k].quantize(CENT, rounding=ROUND_HALF_EVEN) for k in PARTS}
        return cls(**rounded, total=sum(rounded.values(), ZERO))


class Ledger:
    """Mutable accumulator (lives inside one backtest run)."""

    __slots__ = (
        "borrow",
        "fees",
        "funding",
        "lending",
        "liquidation_penalty",
        "price",
        "slippage",
        "staking",
    )

    def __init__(self) -> None:
        self.funding = ZERO
        self.staking = ZERO
        self.lending = ZERO
        self.borrow = ZERO
        self.price = ZERO
        self.fees = ZERO
        # of which, inside ``fees``:
        self.slippage = ZERO
        self.liquidation_penalty = ZERO

    @property
    def total(self) -> Decimal:
        return self.funding + self.staking + self.lending + self.borrow + self.price + self.fees

    def parts(self) -> dict[str, Decimal]:
        return {k: getattr(self, k) for k in PARTS}

    def split(self) -> PnlSplit:
        return PnlSplit.of(self.parts())


def micro(x: Decimal) -> Decimal:
    return x.quantize(MICRO, rounding=ROUND_HALF_EVEN)
