"""Order placement, cancels, leverage, margin and transfers on the emulated venue.

Checks run in the venue's order and fail with its words (a per-order ``{"error": ...}`` inside
an ``ok`` response, suffixed with `` asset=N`` as the live venue does). A rejected order still
gets an oid and a ``...Rejected`` status, so a retry that looks its cloid up finds it.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from venues.emulators.hyperliquid import margin as m
from venues.emulators.hyperliquid import state as st
from venues.emulators.hyperliquid.engine import HyperliquidEmulator
from venues.emulators.hyperliquid.ledger import apply_fill, tx_hash
from venues.emulators.hyperliquid.numbers import parse_decimal, valid_price, valid_size, wire

ZERO = Decimal(0)
_TIFS = {"Gtc", "Ioc", "Alo"}
MIN_NOTIONAL = Decimal(10)
SCHEDULE_CANCEL_MIN_MS = 5_000
MAX_NAMED_AGENTS = 3


class Malformed(Exception):
    """The body does not deserialise into the action's shape (the venue answers HTTP 422)."""


def _field(obj: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(obj, dict) or key not in obj or not isinstance(obj[key], kind):
        raise Malformed(f"{key} missing or of the wrong type")
    return obj[key]


def place_orders(
    emu: HyperliquidEmulator,
    acct: st.AccountRec,
    action: dict[str, Any],
    now_ms: int,
    fill_fraction: Decimal | None,
) -> list[dict[str, Any]]:
    orders = _field(action, "orders", list)
    px = emu.prices(now_ms)
    return [_place_one(emu, acct, w, px, now_ms, fill_fraction) for w in orders]


def _place_one(
    emu: HyperliquidEmulator,
    acct: st.AccountRec,
    w: Any,
    px: m.Prices,
    now_ms: int,
    fill_fraction: Decimal | None,
) -> dict[str, Any]:
    a = _field(w, "a", int)
    is_buy = _field(w, "b", bool)
    reduce_only = _field(w, "r", bool)
    kind = _field(w, "t", dict)
    limit_px, sz = parse_decimal(w.get("p")), parse_decimal(w.get("s"))
    cloid = w.get("c")
    if limit_px is None or sz is None or (cloid is not None and not isinstance(cloid, str)):
        raise Malformed("order price, size or cloid malformed")
    if not 0 <= a < len(emu.cfg.universe):
        return {"error": f"Asset {a} does not exist."}
    if "limit" not in kind:
        return {"error": f"Trigger orders are not supported by this emulator. asset={a}"}
    tif = _field(kind["limit"], "tif", str)
    if tif not in _TIFS:
        raise Malformed(f"unknown tif {tif}")
    if cloid is not None and cloid in acct.cloids:
        # Unconfirmed on the live venue; here a cloid names one order, ever.
        return {"error": f"Duplicate cloid {cloid}. asset={a}"}

    spec = emu.cfg.universe[a]
    lev = acct.leverage.setdefault(a, emu.leverage(acct, a))
    oid = emu.state.next_oid
    emu.state.next_oid += 1
    rec = st.OrderRec(
        oid=oid,
        cloid=cloid,
        asset=a,
        coin=spec.name,
        is_buy=is_buy,
        limit_px=limit_px,
        orig_sz=sz,
        sz=sz,
        reduce_only=reduce_only,
        tif=tif,
        timestamp=now_ms,
        status="pending",  # not "open" yet: its own margin must not count against it
        status_ts=now_ms,
    )
    acct.orders[oid] = rec
    if cloid is not None:
        acct.cloids[cloid] = oid

    def reject(status: str, message: str) -> dict[str, Any]:
        rec.status = status
        return {"error": f"{message} asset={a}"}

    if not valid_price(limit_px, spec.sz_decimals):
        return reject("tickRejected", "Price must be divisible by tick size.")
    if not valid_size(sz, spec.sz_decimals):
        return reject("rejected", "Order has invalid size.")
    oracle = px.oracle[a]
    if abs(limit_px - oracle) / oracle > emu.cfg.max_oracle_deviation:
        return reject("oracleRejected", "Order price too far from oracle.")
    pos = acct.positions.get(a)
    szi = pos.szi if pos is not None else ZERO
    if reduce_only and (szi == 0 or (szi > 0) == is_buy):
        return reject("reduceOnlyRejected", "Reduce only order would increase position.")
    if not reduce_only and sz * limit_px < MIN_NOTIONAL:
        return reject("minTradeNtlRejected", "Order must have minimum value of $10.")
    book = emu.book(a, px)
    crosses = book.crosses(is_buy, limit_px)
    if tif == "Alo" and crosses:
        bbo = f"{wire(book.best_bid)}@{wire(book.best_ask)}"
        return reject(
            "badAloPxRejected", f"Post only order would have immediately matched, bbo was {bbo}."
        )
    size = min(sz, abs(szi)) if reduce_only else sz
    adds = _added_exposure(szi, is_buy, size) if not reduce_only else ZERO
    ref_px = max(limit_px, px.mark[a])
    required = adds * ref_px / lev.value
    if crosses:
        required += size * limit_px * emu.cfg.taker_fee
    if required > 0 and required > m.available_cross(acct, px, emu.cfg.default_leverage):
        return reject("perpMarginRejected", "Insufficient margin to place order.")

    filled, notional = ZERO, ZERO
    if crosses and tif != "Alo":
        target = size
        if fill_fraction is not None:
            lot = Decimal(1).scaleb(-spec.sz_decimals)
            target = (size * fill_fraction).quantize(lot, rounding=ROUND_DOWN)
        for level_px, level_sz in book.sweep(is_buy, limit_px, target):
            apply_fill(
                emu.state,
                acct,
                asset=a,
                spec=spec,
                lev=lev,
                is_buy=is_buy,
                px=level_px,
                sz=level_sz,
                fee_rate=emu.cfg.taker_fee,
                crossed=True,
                oid=oid,
                cloid=cloid,
                time_ms=now_ms,
            )
            filled += level_sz
            notional += level_px * level_sz
    if tif == "Ioc" and filled == 0:
        return reject(
            "iocCancelRejected", "Order could not immediately match against any resting orders."
        )
    rec.sz = sz - filled
    rests = tif != "Ioc" and not reduce_only and rec.sz > 0
    if rec.sz == 0:
        rec.status = "filled"
    elif rests:
        rec.status = "open"
    else:
        rec.status = "canceled"  # IOC remainder, or reduce-only beyond the position
    ids: dict[str, Any] = {"oid": oid}
    if cloid is not None:
        ids["cloid"] = cloid
    if rests:
        return {"resting": ids}
    avg = notional / filled
    return {"filled": {"totalSz": wire(filled), "avgPx": wire(avg, 8), **ids}}


def _added_exposure(szi: Decimal, is_buy: bool, size: Decimal) -> Decimal:
    if szi == 0 or (szi > 0) == is_buy:
        return size
    return max(size - abs(szi), ZERO)


def cancel(
    acct: st.AccountRec, action: dict[str, Any], now_ms: int, *, by_cloid: bool
) -> list[Any]:
    out: list[Any] = []
    for c in _field(action, "cancels", list):
        if by_cloid:
            a, oid = _field(c, "asset", int), acct.cloids.get(_field(c, "cloid", str))
        else:
            a, oid = _field(c, "a", int), _field(c, "o", int)
        order = acct.orders.get(oid) if oid is not None else None
        if order is None or order.status != "open" or order.asset != a:
            out.append({"error": f"Order was never placed, already canceled, or filled. asset={a}"})
            continue
        order.status, order.status_ts = "canceled", now_ms
        out.append("success")
    return out


def update_leverage(
    emu: HyperliquidEmulator, acct: st.AccountRec, action: dict[str, Any]
) -> str | None:
    a = _field(action, "asset", int)
    is_cross = _field(action, "isCross", bool)
    value = _field(action, "leverage", int)
    if not 0 <= a < len(emu.cfg.universe):
        return f"Asset {a} does not exist."
    spec = emu.cfg.universe[a]
    if not 1 <= value <= spec.max_leverage:
        return f"Invalid leverage value: {value} is not between 1 and {spec.max_leverage}."
    if is_cross and spec.only_isolated:
        return "Cross margin is not allowed for this asset."
    current = emu.leverage(acct, a)
    pos = acct.positions.get(a)
    px = emu.prices()
    if pos is not None and pos.szi != 0:
        if current.cross != is_cross:
            return "Cannot switch leverage type with open position."
        need = m.initial_margin(pos, value, px.mark[a])
        if is_cross:
            spare = m.available_cross(acct, px, emu.cfg.default_leverage) + m.initial_margin(
                pos, current.value, px.mark[a]
            )
            if need > spare:
                return "Insufficient margin to update leverage."
        elif need > m.isolated_equity(pos, px.mark[a]):
            return "Insufficient margin to update leverage."
    acct.leverage[a] = st.LeverageRec(cross=is_cross, value=value)
    return None


def update_isolated_margin(
    emu: HyperliquidEmulator, acct: st.AccountRec, action: dict[str, Any]
) -> str | None:
    a = _field(action, "asset", int)
    ntli = _field(action, "ntli", int)
    amount = Decimal(ntli) / 1_000_000
    pos = acct.positions.get(a)
    if pos is None or pos.szi == 0 or emu.leverage(acct, a).cross:
        return "Cannot update margin: no isolated position."
    px = emu.prices()
    if amount > 0 and amount > m.available_cross(acct, px, emu.cfg.default_leverage):
        return "Insufficient margin to add to isolated position."
    if amount < 0:
        lev = emu.leverage(acct, a).value
        if m.isolated_equity(pos, px.mark[a]) + amount < m.initial_margin(pos, lev, px.mark[a]):
            return "Cannot remove that much margin from the position."
    pos.isolated_margin += amount
    acct.perp_usdc -= amount
    return None


def usd_class_transfer(
    emu: HyperliquidEmulator, acct: st.AccountRec, action: dict[str, Any], now_ms: int
) -> str | None:
    raw = _field(action, "amount", str)
    to_perp = _field(action, "toPerp", bool)
    if "subaccount:" in raw:
        return "Sub-account transfers are not supported by this emulator."
    amount = parse_decimal(raw)
    if amount is None or amount <= 0:
        raise Malformed("amount")
    if to_perp:
        if amount > acct.spot_usdc:
            return "Insufficient balance for transfer."
        acct.spot_usdc -= amount
        acct.perp_usdc += amount
    else:
        if amount > m.withdrawable(acct, emu.prices(), emu.cfg.default_leverage):
            return "Insufficient balance for transfer."
        acct.perp_usdc -= amount
        acct.spot_usdc += amount
    _ledger(acct, now_ms, {"type": "accountClassTransfer", "usdc": wire(amount), "toPerp": to_perp})
    return None


def usd_send_or_withdraw(
    emu: HyperliquidEmulator, user: str, acct: st.AccountRec, action: dict[str, Any], now_ms: int
) -> str | None:
    amount = parse_decimal(_field(action, "amount", str))
    destination = str(_field(action, "destination", str)).lower()
    if amount is None or amount <= 0:
        raise Malformed("amount")
    withdraw = action["type"] == "withdraw3"
    fee = emu.cfg.withdraw_fee if withdraw else ZERO
    if amount + fee > m.withdrawable(acct, emu.prices(), emu.cfg.default_leverage):
        return "Insufficient balance for withdrawal." if withdraw else "Insufficient balance."
    acct.perp_usdc -= amount + fee
    if withdraw:
        _ledger(acct, now_ms, {"type": "withdraw", "usdc": wire(amount), "fee": wire(fee)})
        return None
    dest = emu.state.accounts.setdefault(destination, st.AccountRec())
    dest.perp_usdc += amount
    delta = {"type": "send", "user": user, "destination": destination, "usdc": wire(amount)}
    _ledger(acct, now_ms, delta)
    _ledger(dest, now_ms, delta)
    return None


def approve_agent(emu: HyperliquidEmulator, master: str, action: dict[str, Any]) -> str | None:
    agent = str(_field(action, "agentAddress", str)).lower()
    name = action.get("agentName") or ""
    if agent == master:
        return "Cannot approve yourself as an agent."
    agents = emu.state.agents
    mine = {k: v for k, v in agents.items() if v.master == master}
    for k, v in mine.items():
        if v.name == name and k != agent:
            del agents[k]  # an agent name (or the unnamed slot) holds one wallet at a time
    if name and agent not in mine and sum(1 for v in mine.values() if v.name) >= MAX_NAMED_AGENTS:
        return f"Too many named agents: at most {MAX_NAMED_AGENTS}."
    agents[agent] = st.AgentRec(master=master, name=name)
    return None


def schedule_cancel(
    emu: HyperliquidEmulator, acct: st.AccountRec, action: dict[str, Any]
) -> str | None:
    when = action.get("time")
    if when is None:
        acct.schedule_cancel_ms = None
        return None
    if not isinstance(when, int):
        raise Malformed("time")
    if when < emu.wall_ms() + SCHEDULE_CANCEL_MIN_MS:
        return "Scheduled cancel time too early, must be at least 5 seconds from now."
    acct.schedule_cancel_ms = when
    return None


def _ledger(acct: st.AccountRec, now_ms: int, delta: dict[str, Any]) -> None:
    acct.ledger.append(
        st.LedgerRec(time=now_ms, hash=tx_hash("ledger", now_ms, len(acct.ledger)), delta=delta)
    )
