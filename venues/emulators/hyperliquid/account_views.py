"""``/info`` account views: clearinghouse state, orders, fills, funding, ledger, agents."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from venues.emulators.hyperliquid import margin as m
from venues.emulators.hyperliquid import state as st
from venues.emulators.hyperliquid.engine import HyperliquidEmulator
from venues.emulators.hyperliquid.numbers import ms, wire
from venues.emulators.hyperliquid.trading import Malformed

FUNDING_PAGE = 500
FILLS_PAGE = 2000
ZERO = Decimal(0)


def user_of(body: dict[str, Any]) -> str:
    user = body.get("user")
    if not isinstance(user, str) or not user.startswith("0x") or len(user) != 42:
        raise Malformed("user")
    return user.lower()


def int_field(body: dict[str, Any], key: str, default: int | None = None) -> int:
    value = body.get(key, default)
    if value is None and default is not None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise Malformed(key)
    return value


def account_of(emu: HyperliquidEmulator, body: dict[str, Any]) -> st.AccountRec:
    return emu.account(user_of(body)) or st.AccountRec()


def clearinghouse_state(emu: HyperliquidEmulator, body: dict[str, Any]) -> dict[str, Any]:
    acct = account_of(emu, body)
    px = emu.prices()
    u, d = emu.cfg.universe, emu.cfg.default_leverage
    positions = []
    ntl_all = ntl_cross = margin_all = margin_cross = signed_all = signed_cross = ZERO
    for a, pos in m.open_positions(acct):
        lev = emu.leverage(acct, a)
        mark = px.mark[a]
        value = abs(pos.szi) * mark
        pnl = m.upnl(pos, mark)
        used = m.margin_used(acct, a, pos, px, d)
        liq = m.liquidation_price(acct, a, px, u, d)
        leverage: dict[str, Any] = {
            "type": "cross" if lev.cross else "isolated",
            "value": lev.value,
        }
        if not lev.cross:
            leverage["rawUsd"] = wire(pos.isolated_margin - pos.szi * pos.entry_px, 6)
        positions.append(
            {
                "type": "oneWay",
                "position": {
                    "coin": u[a].name,
                    "szi": wire(pos.szi),
                    "leverage": leverage,
                    "entryPx": wire(pos.entry_px, 8),
                    "positionValue": wire(value, 6),
                    "unrealizedPnl": wire(pnl, 6),
                    "returnOnEquity": wire(pnl / (abs(pos.szi) * pos.entry_px / lev.value), 8),
                    "liquidationPx": wire(liq, 8) if liq is not None else None,
                    "marginUsed": wire(used, 6),
                    "maxLeverage": u[a].max_leverage,
                    "cumFunding": {
                        "allTime": wire(pos.cum_funding_all, 6),
                        "sinceOpen": wire(pos.cum_funding_open, 6),
                        "sinceChange": wire(pos.cum_funding_change, 6),
                    },
                },
            }
        )
        ntl_all += value
        margin_all += used
        signed_all += pos.szi * mark
        if lev.cross:
            ntl_cross += value
            margin_cross += used
            signed_cross += pos.szi * mark
    av = m.account_value(acct, px, d)
    cv = m.cross_value(acct, px, d)

    def summary(value: Decimal, ntl: Decimal, raw: Decimal, used: Decimal) -> dict[str, str]:
        return {
            "accountValue": wire(value, 6),
            "totalNtlPos": wire(ntl, 6),
            "totalRawUsd": wire(raw, 6),
            "totalMarginUsed": wire(used, 6),
        }

    return {
        "marginSummary": summary(av, ntl_all, av - signed_all, margin_all),
        "crossMarginSummary": summary(cv, ntl_cross, cv - signed_cross, margin_cross),
        "crossMaintenanceMarginUsed": wire(m.cross_maintenance(acct, px, u, d), 6),
        "withdrawable": wire(m.withdrawable(acct, px, d), 6),
        "assetPositions": positions,
        "time": px.at_ms,
    }


def spot_clearinghouse_state(emu: HyperliquidEmulator, body: dict[str, Any]) -> dict[str, Any]:
    acct = account_of(emu, body)
    usdc = {"coin": "USDC", "token": 0, "hold": "0.0", "total": wire(acct.spot_usdc, 6)}
    return {"balances": [usdc | {"entryNtl": "0.0"}]}


def _order(o: st.OrderRec, *, frontend: bool = False) -> dict[str, Any]:
    row: dict[str, Any] = {
        "coin": o.coin,
        "side": "B" if o.is_buy else "A",
        "limitPx": wire(o.limit_px),
        "sz": wire(o.sz),
        "oid": o.oid,
        "timestamp": o.timestamp,
        "origSz": wire(o.orig_sz),
        "reduceOnly": o.reduce_only,
    }
    if o.cloid is not None:
        row["cloid"] = o.cloid
    if frontend:
        row |= {
            "triggerCondition": "N/A",
            "isTrigger": False,
            "triggerPx": "0.0",
            "children": [],
            "isPositionTpsl": False,
            "orderType": "Limit",
            "tif": o.tif,
            "cloid": o.cloid,
        }
    return row


def _open(acct: st.AccountRec) -> list[st.OrderRec]:
    return sorted((o for o in acct.orders.values() if o.status == "open"), key=lambda o: -o.oid)


def open_orders(emu: HyperliquidEmulator, body: dict[str, Any]) -> list[dict[str, Any]]:
    return [_order(o) for o in _open(account_of(emu, body))]


def frontend_open_orders(emu: HyperliquidEmulator, body: dict[str, Any]) -> list[dict[str, Any]]:
    return [_order(o, frontend=True) for o in _open(account_of(emu, body))]


def _status(o: st.OrderRec) -> dict[str, Any]:
    return {"order": _order(o, frontend=True), "status": o.status, "statusTimestamp": o.status_ts}


def order_status(emu: HyperliquidEmulator, body: dict[str, Any]) -> dict[str, Any]:
    acct = account_of(emu, body)
    ref = body.get("oid")
    oid = acct.cloids.get(ref) if isinstance(ref, str) else ref
    order = acct.orders.get(oid) if isinstance(oid, int) else None
    if order is None or order.status == "pending":
        return {"status": "unknownOid"}
    return {"status": "order", "order": _status(order)}


def historical_orders(emu: HyperliquidEmulator, body: dict[str, Any]) -> list[dict[str, Any]]:
    orders = sorted(account_of(emu, body).orders.values(), key=lambda o: -o.oid)
    return [_status(o) for o in orders[:FILLS_PAGE]]


def _fill(f: st.FillRec) -> dict[str, Any]:
    row: dict[str, Any] = {
        "coin": f.coin,
        "px": wire(f.px),
        "sz": wire(f.sz),
        "side": f.side,
        "time": f.time,
        "startPosition": wire(f.start_position),
        "dir": f.dir,
        "closedPnl": wire(f.closed_pnl, 6),
        "hash": f.hash,
        "oid": f.oid,
        "crossed": f.crossed,
        "fee": wire(f.fee, 6),
        "tid": f.tid,
        "feeToken": "USDC",
    }
    if f.cloid is not None:
        row["cloid"] = f.cloid
    if f.liquidation_mark_px is not None:
        row["liquidation"] = {"markPx": wire(f.liquidation_mark_px), "method": "market"}
    return row


def user_fills(emu: HyperliquidEmulator, body: dict[str, Any]) -> list[dict[str, Any]]:
    fills = account_of(emu, body).fills
    return [_fill(f) for f in reversed(fills[-FILLS_PAGE:])]


def window_of(emu: HyperliquidEmulator, body: dict[str, Any]) -> tuple[int, int]:
    return int_field(body, "startTime"), int_field(body, "endTime", ms(emu.clock.now()))


def user_fills_by_time(emu: HyperliquidEmulator, body: dict[str, Any]) -> list[dict[str, Any]]:
    start, end = window_of(emu, body)
    rows = [f for f in account_of(emu, body).fills if start <= f.time <= end]
    return [_fill(f) for f in rows[:FILLS_PAGE]]


def user_funding(emu: HyperliquidEmulator, body: dict[str, Any]) -> list[dict[str, Any]]:
    start, end = window_of(emu, body)
    rows = [r for r in account_of(emu, body).funding if start <= r.time <= end][:FUNDING_PAGE]
    return [
        {
            "time": r.time,
            "hash": r.hash,
            "delta": {
                "type": "funding",
                "coin": r.coin,
                "usdc": wire(r.usdc, 6),
                "szi": wire(r.szi),
                "fundingRate": wire(r.rate),
                "nSamples": None,
            },
        }
        for r in rows
    ]


def ledger_updates(emu: HyperliquidEmulator, body: dict[str, Any]) -> list[dict[str, Any]]:
    start, end = window_of(emu, body)
    rows = [r for r in account_of(emu, body).ledger if start <= r.time <= end][:FILLS_PAGE]
    return [{"time": r.time, "hash": r.hash, "delta": r.delta} for r in rows]


def user_role(emu: HyperliquidEmulator, body: dict[str, Any]) -> dict[str, Any]:
    user = user_of(body)
    if user in emu.state.accounts:
        return {"role": "user"}
    agent = emu.state.agents.get(user)
    if agent is not None:
        return {"role": "agent", "data": {"user": agent.master}}
    return {"role": "missing"}


def extra_agents(emu: HyperliquidEmulator, body: dict[str, Any]) -> list[dict[str, Any]]:
    user = user_of(body)
    return [
        {"name": a.name, "address": addr, "validUntil": a.valid_until}
        for addr, a in sorted(emu.state.agents.items())
        if a.master == user and a.name
    ]


def user_rate_limit(emu: HyperliquidEmulator, body: dict[str, Any]) -> dict[str, Any]:
    acct = account_of(emu, body)
    volume = sum((f.px * f.sz for f in acct.fills), ZERO)
    used = len(acct.orders)
    return {
        "cumVlm": wire(volume, 6),
        "nRequestsUsed": used,
        "nRequestsCap": 10_000 + int(volume),
    }
