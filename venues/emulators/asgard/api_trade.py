"""Asgard's building and submitting endpoints: create (and simulate), close, position
updates, and the three submit endpoints that verify, land and confirm signed transactions.

Fault points: ``asgard:<endpoint>`` for every route (latency, 5xx/429, timeout, 422);
``expire_blockhash`` on the build endpoints; ``drop_tx``, ``tx_error``, ``slow_confirm``,
``submit_timeout_after_landing`` and ``lost_response`` on the submit endpoints.
"""

from __future__ import annotations

import base64
import math
import uuid
from decimal import Decimal
from typing import Any

from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from starlette.responses import Response
from starlette.routing import Route

from models.domain import Asset, Protocol
from venues.asgard.tokens import TOKENS, USDC
from venues.emulators.asgard import program
from venues.emulators.asgard.chain import ASGARD_IX_EXECUTE, Chain, TxRejected
from venues.emulators.asgard.core import AsgardEmulator, DroppedResponse, asgard_error
from venues.emulators.asgard.state import ActionKind, ActionRec, PositionRec
from venues.emulators.asgard.txbuild import (
    bank_address,
    build_transaction,
    new_action_id,
    new_position_pda,
)
from venues.emulators.asgard.wire import (
    Refusal,
    asset_of_bank,
    f,
    field,
    json_response,
    number,
    position_json,
    pubkey,
    route,
)

_BPS = Decimal(10_000)


def trade_routes(emu: AsgardEmulator) -> list[Route]:
    return [
        route(emu, "create-position-simulate", _simulate),
        route(emu, "create-position", _create),
        route(emu, "submit-create-position-tx", _submit),
        route(emu, "close-position", _close),
        route(emu, "submit-close-position-tx", _submit),
        route(emu, "position/partial-close", _update("partial_close")),
        route(emu, "position/add-collateral", _update("add_collateral")),
        route(emu, "position/repay", _update("repay")),
        route(emu, "position/deleverage", _update("deleverage")),
        route(emu, "submit-position-update-tx", _submit),
    ]


# ---- open ---------------------------------------------------------------------------------


def _open_params(body: dict[str, Any], chain: Chain) -> dict[str, Any]:
    protocol = int(field(body, "protocol"))
    if int(field(body, "direction")) != 0:
        raise Refusal("UnsupportedDirection", "only LONG (0) positions are emulated")
    asset = asset_of_bank(protocol, str(field(body, "tokenABank")))
    if str(field(body, "tokenBBank")) != bank_address(protocol, USDC.mint):
        raise Refusal("InvalidBank", "tokenBBank is not the protocol's USDC bank")
    ctype = int(field(body, "collateralType"))
    if ctype not in (0, 1):
        raise Refusal("ValidationError", "collateralType must be 0 (token A) or 1 (token B)")
    token = USDC if ctype == 1 else TOKENS[asset]
    if str(field(body, "collateralMint")) != token.mint:
        raise Refusal("ValidationError", f"collateralMint must be {token.mint}")
    ms = chain.market.state_at(chain.time_of(chain.slot))
    return {
        "protocol": protocol,
        "asset": asset.value,
        "wallet": str(pubkey(body, "walletPubkey")),
        "collateral_type": ctype,
        "collateral_amount": str(token.from_native(int(field(body, "collateralAmountNative")))),
        "leverage": str(number(body, "leverage")),
        "slippage_bps": int(field(body, "slippageBps")),
        "tip": int(body.get("jitoTipLamport") or 0),
        "quote_price": str(program.swap_price(ms, asset.value)),
    }


def _quote(chain: Chain, p: dict[str, Any]) -> dict[str, Decimal]:
    ms = chain.market.state_at(chain.time_of(chain.slot))
    token = USDC if p["collateral_type"] == 1 else TOKENS[Asset(p["asset"])]
    have = program.balance(chain.state.wallet(p["wallet"]), token)
    if have < Decimal(p["collateral_amount"]):
        raise Refusal("InsufficientFunds", f"wallet holds {have} {token.symbol}")
    return program.quote_open(chain.state, ms, p, chain.cfg)


def _quote_json(p: dict[str, Any], q: dict[str, Decimal]) -> dict[str, Any]:
    token = TOKENS[Asset(p["asset"])]
    return {
        "protocol": p["protocol"],
        "tokenAMint": token.mint,
        "tokenBMint": USDC.mint,
        "expectedCollateralNative": str(token.to_native(q["collateral"])),
        "expectedDebtNative": str(USDC.to_native(q["debt"])),
        "entryPriceUsd": f(q["price"]),
        "healthFactor": f(q["health"] * 100),
    }


async def _simulate(emu: AsgardEmulator, body: dict[str, Any], point: str) -> Response:
    async with emu.session() as chain:
        p = _open_params(body, chain)
        return json_response(_quote_json(p, _quote(chain, p)))


async def _create(emu: AsgardEmulator, body: dict[str, Any], point: str) -> Response:
    async with emu.session(mutating=True) as chain:
        p = _open_params(body, chain)
        q = _quote(chain, p)
        wallet = Pubkey.from_string(p["wallet"])
        bh, lvbh = _blockhash(emu, chain, point)
        # A position account left by a half-done two-transaction open is reused.
        spare = next(
            (
                pos
                for pos in chain.state.positions.values()
                if pos.wallet == p["wallet"]
                and not pos.opened
                and pos.state == 0
                and (pos.protocol, pos.asset, pos.collateral_type)
                == (p["protocol"], p["asset"], p["collateral_type"])
            ),
            None,
        )
        pda = spare.pda if spare else str(new_position_pda(chain.state, wallet, emu.cfg.program_id))
        params = {**p, "position_id": str(uuid.uuid5(uuid.NAMESPACE_URL, pda))}
        token_mint = TOKENS[Asset(p["asset"])].mint
        if spare is None and emu.cfg.txs_per_open == 2:
            init = _action(chain, "init", p["wallet"], pda, params, lvbh)
            opener = _action(
                chain, "open", p["wallet"], pda, {**params, "requires_init": True}, lvbh
            )
            txs = [
                build_transaction(emu.cfg, wallet, bh, [init], tip_lamports=0, token_mint=None),
                build_transaction(
                    emu.cfg, wallet, bh, [opener], tip_lamports=p["tip"], token_mint=token_mint
                ),
            ]
        else:
            opener = _action(chain, "open", p["wallet"], pda, params, lvbh)
            txs = [
                build_transaction(
                    emu.cfg, wallet, bh, [opener], tip_lamports=p["tip"], token_mint=token_mint
                )
            ]
        return json_response(
            {
                **body,
                **_quote_json(p, q),
                "positionPda": pda,
                "blockhash": bh,
                "lastValidBlockHeight": lvbh,
                "signedTxs": txs,
            }
        )


# ---- close and updates --------------------------------------------------------------------


def _owned_position(chain: Chain, body: dict[str, Any]) -> PositionRec:
    pda = str(pubkey(body, "positionPDA"))
    pos = chain.state.positions.get(pda)
    if pos is None or not pos.opened:
        raise Refusal("PositionNotFound", f"no position {pda}")
    if pos.wallet != str(pubkey(body, "walletPubkey")):
        raise Refusal("WalletMismatch", "the position belongs to another wallet")
    if pos.protocol != int(field(body, "protocol")):
        raise Refusal("ValidationError", "protocol does not match the position")
    if pos.state != 0:
        raise Refusal("PositionNotActive", f"position {pda} is not active (state {pos.state})")
    return pos


async def _close(emu: AsgardEmulator, body: dict[str, Any], point: str) -> Response:
    async with emu.session(mutating=True) as chain:
        pos = _owned_position(chain, body)
        ms = chain.market.state_at(chain.time_of(chain.slot))
        params = {
            "quote_price": str(program.swap_price(ms, pos.asset)),
            "slippage_bps": int(body.get("slippageBps") or 50),
        }
        return _build_one(emu, chain, point, "close", pos, params, body)


def _update(kind: ActionKind) -> Any:
    async def handler(emu: AsgardEmulator, body: dict[str, Any], point: str) -> Response:
        async with emu.session(mutating=True) as chain:
            pos = _owned_position(chain, body)
            if Protocol(pos.protocol) not in program.UPDATE_PROTOCOLS:
                raise Refusal("UnsupportedProtocol", f"{kind} is offered on Kamino and Drift only")
            ms = chain.market.state_at(chain.time_of(chain.slot))
            params: dict[str, Any] = {
                "quote_price": str(program.swap_price(ms, pos.asset)),
                "slippage_bps": int(body.get("slippageBps") or 50),
            }
            if kind == "partial_close":
                params["fraction"] = str(number(body, "fraction"))
            else:
                token = USDC if kind == "repay" else TOKENS[Asset(pos.asset)]
                params["amount"] = str(token.from_native(int(field(body, "amountNative"))))
            return _build_one(emu, chain, point, kind, pos, params, body)

    return handler


def _build_one(
    emu: AsgardEmulator,
    chain: Chain,
    point: str,
    kind: ActionKind,
    pos: PositionRec,
    params: dict[str, Any],
    body: dict[str, Any],
) -> Response:
    bh, lvbh = _blockhash(emu, chain, point)
    action = _action(chain, kind, pos.wallet, pos.pda, params, lvbh)
    payout = USDC.mint if pos.collateral_type == 1 else TOKENS[Asset(pos.asset)].mint
    tx = build_transaction(
        emu.cfg,
        Pubkey.from_string(pos.wallet),
        bh,
        [action],
        tip_lamports=int(body.get("jitoTipLamport") or 0),
        token_mint=payout,
    )
    return json_response(
        {
            **body,
            "positionPda": pos.pda,
            "blockhash": bh,
            "lastValidBlockHeight": lvbh,
            "signedTxs": [tx],
        }
    )


def _action(
    chain: Chain, kind: ActionKind, wallet: str, pda: str, params: dict[str, Any], lvbh: int
) -> ActionRec:
    action = ActionRec(
        id=new_action_id(chain.state),
        kind=kind,
        wallet=wallet,
        pda=pda,
        params=params,
        last_valid_height=lvbh,
    )
    chain.state.actions[action.id] = action
    return action


def _blockhash(emu: AsgardEmulator, chain: Chain, point: str) -> tuple[str, int]:
    rule = emu.faults.pick(point, {"expire_blockhash"})
    if rule is None:
        return chain.latest_blockhash("confirmed")
    # Built with a blockhash this many slots old (default: already past its validity).
    age = int(rule.params.get("age", emu.cfg.blockhash_validity + 1))
    slot = chain.slot - age
    return chain.blockhash(slot), slot + emu.cfg.blockhash_validity


# ---- submit -------------------------------------------------------------------------------


async def _submit(emu: AsgardEmulator, body: dict[str, Any], point: str) -> Response:
    raw = field(body, "signedTxs")
    if not isinstance(raw, list) or not raw:
        raise Refusal("ValidationError", "signedTxs must be a non-empty list")
    try:
        txs = [VersionedTransaction.from_bytes(base64.b64decode(t)) for t in raw]
    except Exception as exc:  # base64 or solders deserialisation
        raise Refusal("InvalidTransaction", f"cannot decode a transaction: {exc}") from None
    rule = emu.tx_fault(point)
    async with emu.session(mutating=True) as chain:
        pdas = [_action_pda(chain, tx) for tx in txs]
        pda = next((p for p in pdas if p), None) or body.get("positionPda")
        fresh = []
        for tx in txs:
            try:
                chain.check(tx)
                fresh.append(tx)
            except TxRejected as exc:
                if exc.err != "AlreadyProcessed":
                    return asgard_error(422, _rejection_name(exc), exc.message)
        sigs = [str(tx.signatures[0]) for tx in txs]
        if rule is not None and rule.kind == "drop_tx":
            # params.only = [indices] drops just those; the others land.
            only = rule.params.get("only")
            if only is None:
                return _unconfirmed(sigs)
            fresh = [tx for i, tx in enumerate(txs) if i not in only and tx in fresh]
        if rule is not None and rule.kind == "slow_confirm":
            slots = int(rule.params.get("slots", 0)) or max(
                1, math.ceil(Decimal(str(rule.delay_s)) / emu.cfg.slot_seconds)
            )
            for tx in fresh:
                chain.queue(tx, chain.slot + slots)
            return _unconfirmed(sigs)
        try:
            for i, tx in enumerate(fresh):
                fail = rule is not None and rule.kind == "tx_error" and i == len(fresh) - 1
                chain.land(tx, chain.slot, fail=fail)
        except TxRejected as exc:
            return asgard_error(422, _rejection_name(exc), exc.message)
        landed = chain.state.landed
        errors = {s: landed[s].err for s in sigs if s in landed and landed[s].err}
        if rule is not None and rule.kind in ("submit_timeout_after_landing", "lost_response"):
            return DroppedResponse(rule.delay_s)
        if len(fresh) < len(txs) and rule is not None and rule.kind == "drop_tx":
            return _unconfirmed(sigs)
        if errors:
            return asgard_error(
                422, "TransactionFailed", "a transaction failed on chain", {"errors": errors}
            )
        pos = chain.state.positions.get(str(pda)) if pda else None
        if pos is None:
            return asgard_error(500, "InternalError", "landed, but no position was found")
        return json_response(position_json(pos))


def _unconfirmed(sigs: list[str]) -> Response:
    # Asgard sent the transactions but could not confirm them in time.
    return asgard_error(
        500, "TransactionNotConfirmed", "transaction not confirmed in time", {"signatures": sigs}
    )


def _action_pda(chain: Chain, tx: VersionedTransaction) -> str | None:
    keys = list(tx.message.account_keys)
    for ix in tx.message.instructions:
        data = bytes(ix.data)
        if keys[ix.program_id_index] == chain.cfg.program_id and data[:1] == bytes(
            [ASGARD_IX_EXECUTE]
        ):
            action = chain.state.actions.get(data[1:].hex())
            if action is not None:
                return action.pda
    return None


def _rejection_name(exc: TxRejected) -> str:
    if exc.kind == "signature":
        return "TransactionSignatureVerificationFailure"
    if exc.err == "BlockhashNotFound":
        return "BlockhashNotFound"
    return "TransactionSimulationFailed" if exc.kind == "preflight" else "InvalidTransaction"
