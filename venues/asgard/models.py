"""Typed Asgard results. Amounts are ``Decimal`` token units; the wire's floats and native
integer strings are converted at parse time, and a missing or malformed field raises
``AsgardProtocolError`` rather than guessing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from typing import Any

from models.domain import Asset, Protocol
from venues.asgard.errors import AsgardProtocolError
from venues.asgard.tokens import ASSET_BY_MINT, BY_MINT, USDC, Token


class Direction(IntEnum):
    LONG = 0
    SHORT = 1


class CollateralType(IntEnum):
    LONG_TOKEN = 0  # token A: the SOL / LST itself
    DEBT_TOKEN = 1  # token B: USDC


class PositionState(IntEnum):
    ACTIVE = 0
    CLOSED = 1
    LIQUIDATED = 2


@dataclass(frozen=True, slots=True)
class ProtocolRates:
    """One lending protocol's terms for ``asset``/USDC, as ``/markets`` lists them."""

    protocol: Protocol
    asset: Asset
    active: bool
    lend_apy: Decimal
    """Token A (collateral) lending APY, decimal."""
    borrow_apy: Decimal
    """Token B (USDC) borrowing APY, decimal."""
    max_leverage: Decimal
    capacity_usd: Decimal
    """USDC still available to borrow."""
    token_a_bank: str
    token_b_bank: str
    liquidation_ltv: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RateBucket:
    """One hour of a protocol's rates for one token, from the rate history (decimals)."""

    protocol: Protocol
    token: str
    hour: datetime
    """Start of the hour the bucket averages; it is known at ``hour + 1h``."""
    lend_apy: Decimal
    borrow_apy: Decimal | None
    samples: int


@dataclass(frozen=True, slots=True)
class AssetMarket:
    asset: Asset
    token: Token
    price_usd: Decimal | None
    sources: tuple[ProtocolRates, ...]
    staking_apy: Decimal | None = None
    """Staking yield of the token, decimal per year, when the API gives it (unconfirmed)."""
    exchange_rate_sol: Decimal | None = None
    """Stake-pool value of one token in SOL, when the API gives it (unconfirmed)."""

    def source(self, protocol: Protocol) -> ProtocolRates | None:
        return next((s for s in self.sources if s.protocol == protocol), None)


@dataclass(frozen=True, slots=True)
class AsgardPosition:
    id: str
    pda: str
    wallet: str
    protocol: Protocol
    asset: Asset
    state: PositionState
    leverage: Decimal
    entry_price_usd: Decimal | None
    open_tx: str | None
    opened_at: datetime | None
    close_tx: str | None = None
    closed_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class PositionHealth:
    """``/refresh-positions`` for one position."""

    pda: str
    protocol: Protocol
    state: PositionState
    health_factor: Decimal
    """Fraction: how far the collateral price may fall before liquidation."""
    health_factor_raw: Decimal
    collateral: Decimal
    """Token A held as collateral, token units."""
    collateral_mint: str
    debt: Decimal
    """USDC owed, token units."""
    assets_usd: Decimal | None = None
    liabilities_usd: Decimal | None = None


@dataclass(frozen=True, slots=True)
class BuiltTransactions:
    """A create/close/update response: metadata to echo back, and unsigned transactions."""

    body: dict[str, Any]
    """The response without ``signedTxs``."""
    transactions: tuple[str, ...]
    """Base64 ``VersionedTransaction``s for the wallet to sign."""
    last_valid_block_height: int | None
    position_pda: str | None


# ---- wire parsing -------------------------------------------------------------------------


def need(obj: Mapping[str, Any], key: str) -> Any:
    try:
        return obj[key]
    except (KeyError, TypeError):
        raise AsgardProtocolError(f"Asgard response lacks '{key}'") from None


def dec(value: Any, what: str) -> Decimal:
    """A wire number (JSON float, int or numeric string) as an exact Decimal."""
    if isinstance(value, bool) or value is None:
        raise AsgardProtocolError(f"'{what}' is not a number: {value!r}")
    try:
        # str() first: Decimal(0.1) would carry the float's binary error into the domain.
        out = Decimal(str(value))
    except InvalidOperation:
        raise AsgardProtocolError(f"'{what}' is not a number: {value!r}") from None
    if not out.is_finite():
        raise AsgardProtocolError(f"'{what}' is not finite: {value!r}")
    return out


def opt_dec(value: Any, what: str) -> Decimal | None:
    return None if value is None else dec(value, what)


def parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
    try:
        out = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise AsgardProtocolError(f"unreadable timestamp {value!r}") from None
    if out.tzinfo is None:
        raise AsgardProtocolError(f"timestamp without a time zone: {value!r}")
    return out


def parse_position(obj: Mapping[str, Any]) -> AsgardPosition:
    mint = need(obj, "tokenAMint")
    asset = ASSET_BY_MINT.get(mint)
    if asset is None:
        raise AsgardProtocolError(f"position on an unknown token {mint}")
    try:
        protocol = Protocol(int(need(obj, "protocol")))
        state = PositionState(int(need(obj, "state")))
    except ValueError as exc:
        raise AsgardProtocolError(f"unreadable position: {exc}") from None
    return AsgardPosition(
        id=str(need(obj, "id")),
        pda=str(need(obj, "positionPda")),
        wallet=str(obj.get("walletPubkey", "")),
        protocol=protocol,
        asset=asset,
        state=state,
        leverage=dec(need(obj, "leverage"), "leverage"),
        entry_price_usd=opt_dec(obj.get("tokenAEntryPriceUSD"), "tokenAEntryPriceUSD"),
        open_tx=obj.get("openTxHash"),
        opened_at=parse_time(obj.get("openedAt")),
        close_tx=obj.get("closeTxHash"),
        closed_at=parse_time(obj.get("closedAt")),
        raw=dict(obj),
    )


def native_amount(qts: Mapping[str, Any], mint: str) -> Decimal:
    """Token units of ``mint`` in an ``assetsQt``/``liabsQt`` map (0 when absent)."""
    token = BY_MINT.get(mint)
    if token is None:
        raise AsgardProtocolError(f"unknown mint {mint}")
    raw = qts.get(mint)
    if raw is None:
        return Decimal(0)
    return dec(raw, f"amount of {token.symbol}").scaleb(-token.decimals)


USDC_MINT = USDC.mint
