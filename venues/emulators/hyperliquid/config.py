"""What the emulated venue lists and charges.

The market source drives SOL; every other listed perp follows SOL at a fixed ratio. They exist
so asset indices are resolved from ``meta`` (SOL sits at its real mainnet index, 5), not to
model those markets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Literal


@dataclass(frozen=True, slots=True)
class AssetSpec:
    name: str
    sz_decimals: int
    max_leverage: int
    sol_ratio: Decimal
    """Price as a multiple of the SOL price."""
    only_isolated: bool = False

    @property
    def maintenance_rate(self) -> Decimal:
        """Maintenance margin per unit notional: half the initial margin at max leverage."""
        return Decimal(1) / (2 * self.max_leverage)


DEFAULT_UNIVERSE: tuple[AssetSpec, ...] = (
    AssetSpec("BTC", 5, 40, Decimal("650")),
    AssetSpec("ETH", 4, 25, Decimal("22")),
    AssetSpec("ATOM", 2, 5, Decimal("0.03")),
    AssetSpec("MATIC", 1, 20, Decimal("0.0033")),
    AssetSpec("DYDX", 1, 20, Decimal("0.005")),
    AssetSpec("SOL", 2, 20, Decimal(1)),
    AssetSpec("AVAX", 2, 10, Decimal("0.2")),
)

SOL_INDEX = 5


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    universe: tuple[AssetSpec, ...] = DEFAULT_UNIVERSE
    chain: Literal["Testnet", "Mainnet"] = "Testnet"
    """Which environment signatures must be for: L1 source "b" and ``hyperliquidChain``
    "Testnet" by default, because the SDK signs as testnet for any URL but mainnet's."""
    taker_fee: Decimal = Decimal("0.00045")
    maker_fee: Decimal = Decimal("0.00015")
    half_spread_bps: Decimal = Decimal("0.5")
    level_step_bps: Decimal = Decimal("1")
    """Price distance between synthetic book levels."""
    level_notional: Decimal = Decimal("25000")
    """USD size of the best level; deeper levels grow by half of it each."""
    book_levels: int = 20
    max_oracle_deviation: Decimal = Decimal("0.8")
    default_leverage: int = 20
    nonce_past: timedelta = timedelta(days=2)
    nonce_future: timedelta = timedelta(days=1)
    nonces_kept: int = 100
    history_kept: int = 10_000
    """Fills, funding payments and finished orders kept per account."""
    withdraw_fee: Decimal = Decimal(1)

    @property
    def is_mainnet(self) -> bool:
        return self.chain == "Mainnet"

    def asset(self, name: str) -> tuple[int, AssetSpec] | None:
        return next(((i, a) for i, a in enumerate(self.universe) if a.name == name), None)
