"""Knobs of the Asgard + Solana emulator. Defaults mirror mainnet where the fact is known
(VENUES.md) and are plausible where it is not."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from solders.keypair import Keypair
from solders.pubkey import Pubkey


def derived_pubkey(label: str) -> Pubkey:
    """A stable, valid ed25519 public key named by ``label`` (banks, programs, tip
    accounts): the same label always gives the same address."""
    return Keypair.from_seed(hashlib.sha256(label.encode()).digest()).pubkey()


DEFAULT_PROGRAM_ID = derived_pubkey("asgard-emulator:program")
JITO_TIP_ACCOUNT = derived_pubkey("asgard-emulator:jito-tip")


@dataclass(frozen=True)
class EmulatorConfig:
    seed: int = 7
    program_id: Pubkey = DEFAULT_PROGRAM_ID
    api_key: str | None = None
    """When set, ``X-API-Key`` must match (the real API requires a key)."""
    health_unit: Literal["percent", "fraction"] = "percent"
    """How ``healthFactor`` is reported (Asgard's unit is unconfirmed; tests use both)."""
    txs_per_open: Literal[1, 2] = 1
    """2 = a position-account transaction, then the open (Asgard's count is unconfirmed)."""
    swap_fee_bps: Decimal = Decimal(0)
    liquidation_penalty: Decimal = Decimal("0.05")
    slot_seconds: Decimal = Decimal("0.4")
    blockhash_validity: int = 150
    finality_depth: int = 32
    lamports_per_signature: int = 5_000
    position_rent_lamports: int = 2_039_280
    compute_unit_limit: int = 400_000
    compute_unit_price: int = 10_000
    """Micro-lamports per compute unit (400k x 10k / 1e6 = 4,000 lamports priority fee)."""
    tip_account: Pubkey = field(default=JITO_TIP_ACCOUNT)
