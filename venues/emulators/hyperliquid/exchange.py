"""``POST /exchange``: authenticate the envelope, then apply the action.

In the venue's order: recover the signer (unknown signer: ``User or API Wallet 0x… does not
exist.``), map an approved API wallet to its master, refuse an expired action, check and
record the signer's nonce, then act. Every answer is HTTP 200 JSON except a body that does not
deserialise (HTTP 422, plain text, as the venue does).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from venues.emulators.hyperliquid import state as st
from venues.emulators.hyperliquid import trading
from venues.emulators.hyperliquid.auth import (
    USER_SIGNED_TYPES,
    SignatureInvalid,
    check_nonce,
    recover_l1_signer,
    recover_user_signer,
)
from venues.emulators.hyperliquid.engine import HyperliquidEmulator
from venues.emulators.hyperliquid.numbers import ms
from venues.emulators.hyperliquid.trading import Malformed

_L1_TYPES = {
    "order",
    "cancel",
    "cancelByCloid",
    "updateLeverage",
    "updateIsolatedMargin",
    "scheduleCancel",
}
_USER_NONCE_FIELD = {"usdSend": "time", "withdraw3": "time"}


def err(message: str) -> dict[str, Any]:
    return {"status": "err", "response": message}


def ok(kind: str = "default", statuses: list[Any] | None = None) -> dict[str, Any]:
    if statuses is None:
        return {"status": "ok", "response": {"type": kind}}
    return {"status": "ok", "response": {"type": kind, "data": {"statuses": statuses}}}


def action_type(body: Any) -> str | None:
    action = body.get("action") if isinstance(body, dict) else None
    kind = action.get("type") if isinstance(action, dict) else None
    return kind if isinstance(kind, str) else None


def handle(
    emu: HyperliquidEmulator, body: Any, *, fill_fraction: Decimal | None = None
) -> tuple[dict[str, Any], bool]:
    """The venue's answer, and whether state changed. Raises ``Malformed`` for HTTP 422."""
    kind = action_type(body)
    if kind is None or (kind not in _L1_TYPES and kind not in USER_SIGNED_TYPES):
        raise Malformed(f"unknown action type {kind!r}")
    action: dict[str, Any] = body["action"]
    nonce, signature = body.get("nonce"), body.get("signature")
    vault, expires = body.get("vaultAddress"), body.get("expiresAfter")
    if not isinstance(nonce, int) or isinstance(nonce, bool) or not isinstance(signature, dict):
        raise Malformed("nonce or signature")
    if expires is not None and not isinstance(expires, int):
        raise Malformed("expiresAfter")
    mainnet = emu.cfg.is_mainnet

    with emu.lock:
        emu.catch_up()
        try:
            if kind in USER_SIGNED_TYPES:
                signer = recover_user_signer(action, signature, mainnet=mainnet)
            else:
                signer = recover_l1_signer(
                    action,
                    signature,
                    nonce=nonce,
                    vault_address=vault,
                    expires_after=expires,
                    mainnet=mainnet,
                )
        except SignatureInvalid:
            return err("Invalid signature."), False
        user = _principal(emu, signer, user_signed=kind in USER_SIGNED_TYPES)
        if user is None:
            return err(f"User or API Wallet {signer} does not exist."), False
        if vault is not None:
            return err("Vault and sub-account trading is not supported by this emulator."), False
        wall = emu.wall_ms()
        if expires is not None and wall > expires:
            return err(f"Action expired: expiresAfter {expires} is before now ({wall})."), False
        if kind in USER_SIGNED_TYPES and action.get(_USER_NONCE_FIELD.get(kind, "nonce")) != nonce:
            return err("Invalid nonce: the action's nonce does not match the request's."), False
        problem = check_nonce(
            emu.state.nonces.setdefault(signer, []),
            nonce,
            now_ms=wall,
            past_ms=int(emu.cfg.nonce_past.total_seconds() * 1000),
            future_ms=int(emu.cfg.nonce_future.total_seconds() * 1000),
            capacity=emu.cfg.nonces_kept,
        )
        if problem is not None:
            return err(problem), False
        acct = emu.state.accounts[user]
        try:
            response = _apply(emu, kind, user, acct, action, fill_fraction)
        finally:
            # The nonce is spent even when the action's body turns out malformed.
            emu.trim(acct)
            emu.persist()
        return response, True


def _principal(emu: HyperliquidEmulator, signer: str, *, user_signed: bool) -> str | None:
    """The account an action acts on: the signer's own, or (L1 only) its master's."""
    if signer in emu.state.accounts:
        return signer
    agent = emu.state.agents.get(signer)
    if agent is not None and not user_signed and agent.master in emu.state.accounts:
        return agent.master
    return None


def _apply(
    emu: HyperliquidEmulator,
    kind: str,
    user: str,
    acct: st.AccountRec,
    action: dict[str, Any],
    fill_fraction: Decimal | None,
) -> dict[str, Any]:
    now = ms(emu.clock.now())
    problem: str | None
    if kind == "order":
        return ok("order", trading.place_orders(emu, acct, action, now, fill_fraction))
    if kind in ("cancel", "cancelByCloid"):
        return ok("cancel", trading.cancel(acct, action, now, by_cloid=kind == "cancelByCloid"))
    if kind == "updateLeverage":
        problem = trading.update_leverage(emu, acct, action)
    elif kind == "updateIsolatedMargin":
        problem = trading.update_isolated_margin(emu, acct, action)
    elif kind == "scheduleCancel":
        problem = trading.schedule_cancel(emu, acct, action)
    elif kind == "usdClassTransfer":
        problem = trading.usd_class_transfer(emu, acct, action, now)
    elif kind in ("usdSend", "withdraw3"):
        problem = trading.usd_send_or_withdraw(emu, user, acct, action, now)
    elif kind == "approveAgent":
        problem = trading.approve_agent(emu, user, action)
    else:  # pragma: no cover - handle() filters the kinds
        raise Malformed(kind)
    return err(problem) if problem is not None else ok()
