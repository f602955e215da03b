"""The emulated Asgard program: positions, their interest, health and liquidation, and what
each action does when its transaction lands.

Model (VENUES.md): collateral q of token A, USDC debt D, liquidation LTV LT of the protocol;
collateral is valued at SOL price x the LST exchange rate, swaps trade at SOL price x the
LST market price (equal unless the scenario depegs). ``healthFactor = 1 - D / (q*P*LT)``.
Interest compounds at the protocol's APYs: ``D *= (1+borrow)^years``, ``q *= (1+lend)^years``
(path-independent, so it does not matter how often the emulator catches up). Staking yield
reaches the position through the exchange rate in P.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from models.domain import Asset, Protocol
from venues.asgard.tokens import TOKENS, USDC, WSOL, Token
from venues.emulators.asgard.config import EmulatorConfig
from venues.emulators.asgard.state import ActionRec, EmulatorState, PositionRec, WalletRec
from venues.market.source import MarketState, ProtocolMarket

YEAR_SECONDS = Decimal(365 * 86400)
UPDATE_PROTOCOLS = frozenset({Protocol.KAMINO, Protocol.DRIFT})
_BPS = Decimal(10_000)

# Custom program error codes (Anchor-style, from 6000), reported as
# {"InstructionError": [index, {"Custom": code}]}.
ERROR_CODES: dict[str, int] = {
    "InsufficientFunds": 6000,
    "SlippageExceeded": 6001,
    "PositionNotActive": 6002,
    "CapacityExceeded": 6003,
    "UnknownAction": 6004,
    "AccountNotInitialised": 6005,
    "WalletMismatch": 6006,
    "Unhealthy": 6007,
    "InjectedFailure": 6008,
    "UnsupportedProtocol": 6009,
    "InvalidAmount": 6010,
}


class ProgramError(Exception):
    """A refusal: 422 when the API builds, an instruction error when a transaction lands."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.code = ERROR_CODES[name]
        self.message = message


def token_a(asset: str) -> Token:
    return TOKENS[Asset(asset)]


def value_price(ms: MarketState, asset: str) -> Decimal:
    """USD per token A as the lending protocol values collateral."""
    return ms.sol_price * ms.lst_exchange_rate.get(Asset(asset), Decimal(1))


def swap_price(ms: MarketState, asset: str) -> Decimal:
    """USD per token A as a swap trades it."""
    return ms.asset_price_usd(Asset(asset))


def terms(ms: MarketState, protocol: int) -> ProtocolMarket:
    pm = ms.protocol(Protocol(protocol))
    if pm is None:
        raise ProgramError("UnsupportedProtocol", f"protocol {protocol} is not listed")
    return pm


def health(pos: PositionRec, ms: MarketState, price: Decimal | None = None) -> Decimal:
    if pos.debt <= 0:
        return Decimal(1)
    p = value_price(ms, pos.asset) if price is None else price
    lt = terms(ms, pos.protocol).liquidation_ltv
    if pos.collateral <= 0:
        return Decimal(-1)
    return 1 - pos.debt / (pos.collateral * p * lt)


def active(state: EmulatorState) -> list[PositionRec]:
    return [p for p in state.positions.values() if p.opened and p.state == 0]


def available_capacity(state: EmulatorState, ms: MarketState, protocol: int) -> Decimal:
    used = sum((p.debt for p in active(state) if p.protocol == protocol), Decimal(0))
    return terms(ms, protocol).borrow_capacity_usd - used


# ---- wallets ------------------------------------------------------------------------------


def balance(w: WalletRec, token: Token) -> Decimal:
    native = w.lamports if token.mint == WSOL.mint else w.tokens.get(token.mint, 0)
    return token.from_native(native)


def debit(w: WalletRec, token: Token, amount: Decimal) -> None:
    native = token.to_native(amount)
    have = w.lamports if token.mint == WSOL.mint else w.tokens.get(token.mint, 0)
    if native > have:
        raise ProgramError(
            "InsufficientFunds", f"wallet holds {token.from_native(have)} {token.symbol}"
        )
    _add(w, token, -native)


def credit(w: WalletRec, token: Token, amount: Decimal) -> None:
    _add(w, token, token.to_native(amount))


def _add(w: WalletRec, token: Token, native: int) -> None:
    if token.mint == WSOL.mint:
        w.lamports += native
    else:
        w.tokens[token.mint] = w.tokens.get(token.mint, 0) + native


# ---- time ---------------------------------------------------------------------------------


def accrue(state: EmulatorState, t0: datetime, t1: datetime, ms: MarketState) -> None:
    """Compound every open position's debt and collateral from ``t0`` to ``t1`` at the rates
    in force at ``t0``."""
    if t1 <= t0:
        return
    years = Decimal((t1 - t0).total_seconds()) / YEAR_SECONDS
    # One growth factor per protocol and asset, not per position: a fractional Decimal power
    # costs more than the rest of a position's update, and a venue holds many positions.
    growth: dict[tuple[int, str], tuple[Decimal, Decimal]] = {}
    for pos in active(state):
        g = growth.get((pos.protocol, pos.asset))
        if g is None:
            pm = terms(ms, pos.protocol)
            borrow = pm.borrow_apy.get(USDC.symbol, Decimal(0))
            lend = pm.lend_apy.get(pos.asset, Decimal(0))
            g = growth[(pos.protocol, pos.asset)] = ((1 + borrow) ** years, (1 + lend) ** years)
        new_debt = pos.debt * g[0]
        new_coll = pos.collateral * g[1]
        pos.borrow_interest += new_debt - pos.debt
        pos.lend_yield += new_coll - pos.collateral
        pos.debt, pos.collateral = new_debt, new_coll


def liquidate(
    state: EmulatorState, ms: MarketState, sol_low: Decimal, now: datetime, cfg: EmulatorConfig
) -> list[str]:
    """Liquidate every open position whose health reached zero at the lowest SOL price
    since the last catch-up. The liquidator repays the debt, takes collateral worth the debt
    plus the penalty at the price where health hit zero, and the rest goes back to the
    wallet."""
    done: list[str] = []
    # Health is positive while debt < collateral x price x liquidation LTV: one product per
    # protocol and asset for the dip, one multiplication per position (a venue holds many).
    bound: dict[tuple[int, str], Decimal] = {}
    for pos in active(state):
        if pos.debt <= 0:
            continue
        k = bound.get((pos.protocol, pos.asset))
        if k is None:
            rate = ms.lst_exchange_rate.get(Asset(pos.asset), Decimal(1))
            k = sol_low * rate * terms(ms, pos.protocol).liquidation_ltv
            bound[(pos.protocol, pos.asset)] = k
        if pos.collateral > 0 and pos.debt < pos.collateral * k:
            continue
        lt = terms(ms, pos.protocol).liquidation_ltv
        p_liq = pos.debt / (pos.collateral * lt)
        seized = min(pos.collateral, pos.debt * (1 + cfg.liquidation_penalty) / p_liq)
        credit(state.wallet(pos.wallet), token_a(pos.asset), pos.collateral - seized)
        pos.collateral, pos.debt = Decimal(0), Decimal(0)
        pos.state, pos.liquidated_at = 2, now
        done.append(pos.pda)
    return done


# ---- actions ------------------------------------------------------------------------------


def quote_open(
    state: EmulatorState, ms: MarketState, p: dict[str, Any], cfg: EmulatorConfig
) -> dict[str, Decimal]:
    """What an open with params ``p`` gives at today's prices; raises ``ProgramError``."""
    pm = terms(ms, int(p["protocol"]))
    if not pm.active:
        raise ProgramError("UnsupportedProtocol", f"protocol {p['protocol']} is inactive")
    leverage = Decimal(str(p["leverage"]))
    if leverage < 1 or leverage > pm.max_leverage:
        raise ProgramError("InvalidAmount", f"leverage {leverage} outside 1..{pm.max_leverage}")
    asset = p["asset"]
    price = swap_price(ms, asset)
    fee = 1 - cfg.swap_fee_bps / _BPS
    amount = Decimal(str(p["collateral_amount"]))
    if amount <= 0:
        raise ProgramError("InvalidAmount", "collateral must be positive")
    equity_usd = amount if int(p["collateral_type"]) == 1 else amount * price
    debt = (leverage - 1) * equity_usd
    if debt > available_capacity(state, ms, pm.protocol):
        raise ProgramError("CapacityExceeded", f"protocol {pm.protocol} cannot lend {debt} USDC")
    if int(p["collateral_type"]) == 1:
        collateral = (amount + debt) * fee / price
    else:
        collateral = amount + debt * fee / price
    lt = pm.liquidation_ltv
    hf = 1 - debt / (collateral * value_price(ms, asset) * lt) if debt > 0 else Decimal(1)
    return {"collateral": collateral, "debt": debt, "price": price, "health": hf}


def execute(
    state: EmulatorState,
    action: ActionRec,
    ms: MarketState,
    cfg: EmulatorConfig,
    now: datetime,
    signature: str,
) -> None:
    """Apply ``action`` as its transaction lands. The caller reverts the state on error."""
    wallet = state.wallet(action.wallet)
    p = action.params
    if action.kind == "init":
        _init(state, action, cfg)
        return
    pos = state.positions.get(action.pda)
    if action.kind == "open":
        if pos is None:
            if p.get("requires_init"):
                raise ProgramError("AccountNotInitialised", "position account does not exist")
            pos = _init(state, action, cfg)
        if pos.opened:
            raise ProgramError("PositionNotActive", "position account already holds a position")
        _open(state, pos, wallet, p, ms, cfg, now, signature)
        return
    if pos is None or not pos.opened or pos.state != 0:
        raise ProgramError("PositionNotActive", f"position {action.pda} is not active")
    if pos.wallet != action.wallet:
        raise ProgramError("WalletMismatch", "position belongs to another wallet")
    price = swap_price(ms, pos.asset)
    fee = 1 - cfg.swap_fee_bps / _BPS
    tok = token_a(pos.asset)
    payout = USDC if pos.collateral_type == 1 else tok
    if action.kind in ("close", "partial_close"):
        _check_sell_slippage(p, price)
        f = Decimal(1) if action.kind == "close" else Decimal(str(p["fraction"]))
        if not 0 < f <= 1:
            raise ProgramError("InvalidAmount", f"fraction {f} outside (0, 1]")
        sold = f * pos.debt / (price * fee)
        left = f * pos.collateral - sold
        if left < 0:
            raise ProgramError("Unhealthy", "collateral does not cover the debt")
        credit(wallet, payout, left * price * fee if payout is USDC else left)
        pos.collateral -= f * pos.collateral
        pos.debt -= f * pos.debt
        if action.kind == "close":
            pos.collateral, pos.debt, pos.state = Decimal(0), Decimal(0), 1
            pos.close_tx, pos.closed_at = signature, now
            wallet.lamports += cfg.position_rent_lamports
    elif action.kind == "add_collateral":
        amount = Decimal(str(p["amount"]))
        debit(wallet, tok, amount)
        pos.collateral += amount
    elif action.kind == "repay":
        amount = min(Decimal(str(p["amount"])), pos.debt)
        debit(wallet, USDC, amount)
        pos.debt -= amount
    elif action.kind == "deleverage":
        amount = Decimal(str(p["amount"]))
        if amount > pos.collateral:
            raise ProgramError("InvalidAmount", "cannot sell more collateral than held")
        proceeds = amount * price * fee
        repaid = min(proceeds, pos.debt)
        pos.collateral -= amount
        pos.debt -= repaid
        credit(wallet, USDC, proceeds - repaid)
    else:  # pragma: no cover - ActionKind is closed
        raise ProgramError("UnknownAction", action.kind)
    if pos.state == 0 and health(pos, ms) <= 0:
        raise ProgramError("Unhealthy", "the update would make the position liquidatable")
    pos.last_tx = signature


def _init(state: EmulatorState, action: ActionRec, cfg: EmulatorConfig) -> PositionRec:
    if action.pda in state.positions:
        raise ProgramError("PositionNotActive", "position account already exists")
    wallet = state.wallet(action.wallet)
    if wallet.lamports < cfg.position_rent_lamports:
        raise ProgramError("InsufficientFunds", "not enough SOL for the position account rent")
    wallet.lamports -= cfg.position_rent_lamports
    p = action.params
    pos = PositionRec(
        id=str(p["position_id"]),
        pda=action.pda,
        wallet=action.wallet,
        protocol=int(p["protocol"]),
        asset=str(p["asset"]),
        collateral_type=int(p["collateral_type"]),
    )
    state.positions[action.pda] = pos
    return pos


def _open(
    state: EmulatorState,
    pos: PositionRec,
    wallet: WalletRec,
    p: dict[str, Any],
    ms: MarketState,
    cfg: EmulatorConfig,
    now: datetime,
    signature: str,
) -> None:
    q = quote_open(state, ms, p, cfg)
    limit = Decimal(str(p["quote_price"])) * (1 + Decimal(int(p["slippage_bps"])) / _BPS)
    if q["price"] > limit:
        raise ProgramError("SlippageExceeded", f"price {q['price']} above the limit {limit}")
    paid = USDC if int(p["collateral_type"]) == 1 else token_a(pos.asset)
    debit(wallet, paid, Decimal(str(p["collateral_amount"])))
    pos.opened, pos.state = True, 0
    pos.leverage = Decimal(str(p["leverage"]))
    pos.collateral, pos.debt, pos.entry_price_usd = q["collateral"], q["debt"], q["price"]
    pos.open_tx, pos.opened_at, pos.last_tx = signature, now, signature


def _check_sell_slippage(p: dict[str, Any], price: Decimal) -> None:
    quoted = p.get("quote_price")
    if quoted is None:
        return
    limit = Decimal(str(quoted)) * (1 - Decimal(int(p.get("slippage_bps", 50))) / _BPS)
    if price < limit:
        raise ProgramError("SlippageExceeded", f"price {price} below the limit {limit}")
