"""The Solana JSON-RPC subset at ``POST /solana``, shaped so ``solana``'s ``AsyncClient``
parses every answer: getLatestBlockhash, getBlockHeight, getSlot, getHealth, getBalance,
getTokenAccountsByOwner, getTokenAccountBalance, sendTransaction, simulateTransaction,
getSignatureStatuses.

Fault points ``rpc:<method>``: latency, 5xx/429, timeout for all; ``drop_tx``, ``tx_error``,
``slow_confirm``, ``submit_timeout_after_landing`` and ``lost_response`` for sendTransaction.
"""

from __future__ import annotations

import base64
import math
import struct
from decimal import Decimal
from typing import Any

from solders.pubkey import Pubkey
from solders.token.associated import get_associated_token_address
from solders.transaction import VersionedTransaction
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from venues.asgard.tokens import BY_MINT
from venues.emulators.asgard.chain import Chain, Commitment, TxRejected
from venues.emulators.asgard.core import AsgardEmulator, DroppedResponse
from venues.solana.validator import TOKEN_PROGRAM

API_VERSION = "2.0.15"
_TOKEN_ACCOUNT_RENT = 2_039_280
_U64_MAX = 2**64 - 1


class RpcFailure(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


def rpc_endpoint(emu: AsgardEmulator) -> Any:
    async def handler(request: Request) -> Response:
        try:
            req = await request.json()
        except ValueError:
            return _reply(None, error=RpcFailure(-32700, "Parse error"))
        if not isinstance(req, dict) or not isinstance(req.get("method"), str):
            return _reply(None, error=RpcFailure(-32600, "Invalid request"))
        method, rid = req["method"], req.get("id")
        params = req.get("params") or []
        injected = await emu.pre_fault(f"rpc:{method}")
        if injected is not None:
            return injected
        try:
            if method == "sendTransaction":
                return await _send(emu, rid, params)
            async with emu.session(mutating=False) as chain:
                return _reply(rid, result=_dispatch(chain, method, params))
        except RpcFailure as exc:
            return _reply(rid, error=exc)

    return handler


def _reply(rid: Any, *, result: Any = None, error: RpcFailure | None = None) -> JSONResponse:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": rid}
    if error is None:
        body["result"] = result
    else:
        body["error"] = {"code": error.code, "message": error.message}
        if error.data is not None:
            body["error"]["data"] = error.data
    return JSONResponse(body)


def _config(params: list[Any], index: int) -> dict[str, Any]:
    cfg = params[index] if len(params) > index else None
    return cfg if isinstance(cfg, dict) else {}


def _commitment(params: list[Any], index: int) -> Commitment:
    level = _config(params, index).get("commitment") or "finalized"
    levels: dict[str, Commitment] = {
        "processed": "processed",
        "confirmed": "confirmed",
        "finalized": "finalized",
    }
    if level not in levels:
        raise RpcFailure(-32602, f"Invalid commitment {level}")
    return levels[level]


def _pubkey(params: list[Any], index: int) -> Pubkey:
    try:
        return Pubkey.from_string(str(params[index]))
    except (IndexError, ValueError):
        raise RpcFailure(-32602, "Invalid param: WrongSize") from None


def _ctx(chain: Chain, commitment: Commitment = "finalized") -> dict[str, Any]:
    return {"slot": chain.slot_for(commitment), "apiVersion": API_VERSION}


def _dispatch(chain: Chain, method: str, params: list[Any]) -> Any:
    if method == "getHealth":
        return "ok"
    if method == "getSlot":
        return chain.slot_for(_commitment(params, 0))
    if method == "getBlockHeight":
        return chain.height(_commitment(params, 0))
    if method == "getLatestBlockhash":
        c = _commitment(params, 0)
        bh, lvbh = chain.latest_blockhash(c)
        return {"context": _ctx(chain, c), "value": {"blockhash": bh, "lastValidBlockHeight": lvbh}}
    if method == "getBalance":
        owner = _pubkey(params, 0)
        wallet = chain.state.wallets.get(str(owner))
        return {"context": _ctx(chain), "value": wallet.lamports if wallet else 0}
    if method == "getTokenAccountsByOwner":
        return _token_accounts(chain, params)
    if method == "getTokenAccountBalance":
        return _token_account_balance(chain, _pubkey(params, 0))
    if method == "getSignatureStatuses":
        sigs = params[0] if params and isinstance(params[0], list) else []
        return {"context": _ctx(chain, "processed"), "value": [chain.status(s) for s in sigs]}
    if method == "simulateTransaction":
        tx = _decode(params)
        sig_verify = bool(_config(params, 1).get("sigVerify"))
        try:
            if sig_verify:
                chain.check(tx, blockhash=False)
            err = chain.simulate(tx)
        except TxRejected as exc:
            if exc.kind == "signature":
                raise RpcFailure(-32003, exc.message) from None
            err = exc.err
        value = {
            "err": err,
            "logs": [],
            "accounts": None,
            "unitsConsumed": 0 if err else 60_000,
            "returnData": None,
        }
        return {"context": _ctx(chain, "processed"), "value": value}
    raise RpcFailure(-32601, "Method not found")


def _token_accounts(chain: Chain, params: list[Any]) -> dict[str, Any]:
    owner = _pubkey(params, 0)
    flt = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
    encoding = _config(params, 2).get("encoding", "base64")
    if encoding != "base64":
        raise RpcFailure(-32602, f"Invalid param: encoding {encoding} is not supported here")
    wallet = chain.state.wallets.get(str(owner))
    mints = sorted(wallet.tokens) if wallet else []
    if "mint" in flt:
        mints = [m for m in mints if m == flt["mint"]]
    elif flt.get("programId") not in (None, str(TOKEN_PROGRAM)):
        mints = []
    value = []
    for mint in mints:
        mint_pk = Pubkey.from_string(mint)
        amount = wallet.tokens[mint] if wallet else 0
        data = _token_account_data(mint_pk, owner, amount)
        value.append(
            {
                "pubkey": str(get_associated_token_address(owner, mint_pk)),
                "account": {
                    "lamports": _TOKEN_ACCOUNT_RENT,
                    "owner": str(TOKEN_PROGRAM),
                    "data": [base64.b64encode(data).decode(), "base64"],
                    "executable": False,
                    "rentEpoch": _U64_MAX,
                    "space": len(data),
                },
            }
        )
    return {"context": _ctx(chain), "value": value}


def _token_account_data(mint: Pubkey, owner: Pubkey, amount: int) -> bytes:
    """The 165-byte SPL token account layout: mint, owner, amount, no delegate,
    initialised, not native, nothing delegated, no close authority."""
    return (
        bytes(mint)
        + bytes(owner)
        + struct.pack("<Q", amount)
        + bytes(36)
        + b"\x01"
        + bytes(12)
        + struct.pack("<Q", 0)
        + bytes(36)
    )


def _token_account_balance(chain: Chain, account: Pubkey) -> dict[str, Any]:
    for owner, wallet in chain.state.wallets.items():
        for mint, amount in wallet.tokens.items():
            owner_pk, mint_pk = Pubkey.from_string(owner), Pubkey.from_string(mint)
            if get_associated_token_address(owner_pk, mint_pk) == account:
                token = BY_MINT.get(mint)
                decimals = token.decimals if token else 0
                ui = Decimal(amount).scaleb(-decimals)
                return {
                    "context": _ctx(chain),
                    "value": {
                        "amount": str(amount),
                        "decimals": decimals,
                        "uiAmount": float(ui),
                        "uiAmountString": format(ui.normalize(), "f"),
                    },
                }
    raise RpcFailure(-32602, "Invalid param: could not find account")


def _decode(params: list[Any]) -> VersionedTransaction:
    encoding = _config(params, 1).get("encoding", "base58")
    if encoding != "base64":
        # The solana client always sends base64; base58 is deprecated upstream.
        raise RpcFailure(-32602, f"Invalid param: encoding {encoding} is not supported here")
    try:
        return VersionedTransaction.from_bytes(base64.b64decode(str(params[0])))
    except Exception as exc:  # base64 or solders deserialisation: the same answer
        raise RpcFailure(-32602, f"failed to deserialize transaction: {exc}") from None


async def _send(emu: AsgardEmulator, rid: Any, params: list[Any]) -> Response:
    tx = _decode(params)
    skip_preflight = bool(_config(params, 1).get("skipPreflight"))
    rule = emu.tx_fault("rpc:sendTransaction")
    async with emu.session(mutating=True) as chain:
        sig = str(tx.signatures[0])
        try:
            chain.check(tx)
        except TxRejected as exc:
            if exc.kind == "signature":
                raise RpcFailure(-32003, exc.message) from None
            if skip_preflight and exc.kind == "preflight":
                return _reply(rid, result=sig)  # accepted by the node, never lands
            raise RpcFailure(-32002, exc.message, _sim_data(exc.err)) from None
        if not skip_preflight:
            err = chain.simulate(tx)
            if err is not None:
                raise RpcFailure(
                    -32002,
                    "Transaction simulation failed: Error processing Instruction",
                    _sim_data(err),
                )
        if rule is not None and rule.kind == "drop_tx":
            return _reply(rid, result=sig)
        if rule is not None and rule.kind == "slow_confirm":
            slots = int(rule.params.get("slots", 0)) or max(
                1, math.ceil(Decimal(str(rule.delay_s)) / emu.cfg.slot_seconds)
            )
            chain.queue(tx, chain.slot + slots)
            return _reply(rid, result=sig)
        try:
            chain.land(tx, chain.slot, fail=rule is not None and rule.kind == "tx_error")
        except TxRejected as exc:
            raise RpcFailure(-32002, exc.message, _sim_data(exc.err)) from None
    if rule is not None and rule.kind in ("submit_timeout_after_landing", "lost_response"):
        return DroppedResponse(rule.delay_s)
    return _reply(rid, result=sig)


def _sim_data(err: Any) -> dict[str, Any]:
    return {
        "err": err,
        "logs": [],
        "accounts": None,
        "unitsConsumed": 0,
        "returnData": None,
        "innerInstructions": None,
    }
