"""The Asgard + Solana emulator's state: one pydantic document, saved atomically as JSON.

Everything the emulator knows lives here, so a restart with the same ``state_file`` resumes
with the same balances, positions, pending transactions and signature statuses.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

ActionKind = Literal[
    "init", "open", "close", "partial_close", "add_collateral", "repay", "deleverage"
]


class WalletRec(BaseModel):
    lamports: int = 0
    tokens: dict[str, int] = Field(default_factory=dict)
    """Native amounts by mint (wrapped SOL lives in ``lamports``)."""


class PositionRec(BaseModel):
    id: str
    pda: str
    wallet: str
    protocol: int
    asset: str
    collateral_type: int
    opened: bool = False
    """False while only the position account exists (a two-transaction open half done)."""
    state: int = 0
    leverage: Decimal = Decimal(0)
    collateral: Decimal = Decimal(0)
    """Token A units."""
    debt: Decimal = Decimal(0)
    """USDC units."""
    entry_price_usd: Decimal | None = None
    borrow_interest: Decimal = Decimal(0)
    """USDC of interest added to the debt so far."""
    lend_yield: Decimal = Decimal(0)
    """Token A added to the collateral by lending so far."""
    open_tx: str | None = None
    opened_at: datetime | None = None
    close_tx: str | None = None
    closed_at: datetime | None = None
    liquidated_at: datetime | None = None
    last_tx: str | None = None


class ActionRec(BaseModel):
    """What a built transaction will do when it lands (its Asgard instruction names it)."""

    id: str
    kind: ActionKind
    wallet: str
    pda: str
    params: dict[str, Any] = Field(default_factory=dict)
    last_valid_height: int


class PendingTx(BaseModel):
    signature: str
    tx: str
    """Base64 wire bytes."""
    land_slot: int
    fail: bool = False


class LandedTx(BaseModel):
    slot: int
    err: Any = None


class EmulatorState(BaseModel):
    seed: int
    genesis: datetime
    last: datetime
    """Time the state was last caught up to."""
    slot0: int = 300_000_000
    counter: int = 0
    wallets: dict[str, WalletRec] = Field(default_factory=dict)
    positions: dict[str, PositionRec] = Field(default_factory=dict)
    """By position PDA."""
    actions: dict[str, ActionRec] = Field(default_factory=dict)
    pending: list[PendingTx] = Field(default_factory=list)
    landed: dict[str, LandedTx] = Field(default_factory=dict)

    def wallet(self, pubkey: str) -> WalletRec:
        return self.wallets.setdefault(pubkey, WalletRec())

    def next_counter(self) -> int:
        self.counter += 1
        return self.counter


@dataclass
class Persistence:
    """Atomic JSON persistence: write a temporary file beside the target, fsync, rename."""

    path: Path | None

    def load(self) -> EmulatorState | None:
        if self.path is None or not self.path.exists():
            return None
        return EmulatorState.model_validate_json(self.path.read_text())

    def save(self, state: EmulatorState) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = state.model_dump_json(indent=None)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
