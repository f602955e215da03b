"""Solana JSON-RPC through ``solana``'s ``AsyncClient``, with typed results and errors.

Balances come back as ``Decimal`` token units; a signature status is a small value object
with the transaction error as its JSON text (``None`` when it succeeded). Transport failures,
HTTP 5xx/429 and an unhealthy node raise ``RpcUnavailable`` (retryable).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, TypeVar

import httpx2
from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Commitment as _Commitment
from solana.rpc.core import RPCException
from solana.rpc.models import TokenAccountOpts, TxOpts
from solders.pubkey import Pubkey
from solders.rpc.errors import NodeUnhealthyMessage, SendTransactionPreflightFailureMessage
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from venues.solana.errors import RpcRejected, RpcUnavailable

Commitment = Literal["processed", "confirmed", "finalized"]
_RANK: dict[str, int] = {"processed": 0, "confirmed": 1, "finalized": 2}
LAMPORTS_PER_SOL = 1_000_000_000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SignatureStatus:
    """Where a transaction stands on chain. It exists only once the transaction landed."""

    signature: str
    slot: int
    confirmation: Commitment
    err: str | None
    """The transaction error as JSON text, e.g. ``{"InstructionError":[3,{"Custom":1}]}``."""

    @property
    def succeeded(self) -> bool:
        return self.err is None

    def reached(self, commitment: Commitment) -> bool:
        return _RANK[self.confirmation] >= _RANK[commitment]


SendKind = Literal["sent", "already_processed", "blockhash_not_found", "preflight_failed"]


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What ``sendTransaction`` said. Only ``preflight_failed`` and ``blockhash_not_found``
    mean the node did not forward it; neither proves an earlier copy did not land."""

    kind: SendKind
    signature: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Simulation:
    err: str | None
    logs: tuple[str, ...]
    units_consumed: int | None


@dataclass(frozen=True, slots=True)
class TokenBalance:
    native: int
    decimals: int

    @property
    def amount(self) -> Decimal:
        return Decimal(self.native).scaleb(-self.decimals)


class SolanaRpc:
    """A thin, typed wrapper; one instance per RPC endpoint, safe to share."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        client: AsyncClient | None = None,
    ) -> None:
        # http2 off: plain-HTTP endpoints (emulator, most RPC gateways) speak HTTP/1.1, and
        # the transport retry is ours to decide (0): a resent sendTransaction is harmless but
        # every other retry belongs to the caller's policy.
        self.url = url
        self._client = client or AsyncClient(
            url, timeout=timeout, http2=False, max_transport_retries=0
        )

    async def close(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> SolanaRpc:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # ---- reads ---------------------------------------------------------------------------

    async def block_height(self, commitment: Commitment = "finalized") -> int:
        resp = await self._call(lambda: self._client.get_block_height(_Commitment(commitment)))
        return int(resp.value)

    async def latest_blockhash(self, commitment: Commitment = "confirmed") -> tuple[str, int]:
        """The latest blockhash and the last block height at which it is still valid."""
        resp = await self._call(lambda: self._client.get_latest_blockhash(_Commitment(commitment)))
        return str(resp.value.blockhash), int(resp.value.last_valid_block_height)

    async def lamports(self, owner: Pubkey, commitment: Commitment = "confirmed") -> int:
        resp = await self._call(lambda: self._client.get_balance(owner, _Commitment(commitment)))
        return int(resp.value)

    async def sol_balance(self, owner: Pubkey, commitment: Commitment = "confirmed") -> Decimal:
        return Decimal(await self.lamports(owner, commitment)).scaleb(-9)

    async def token_balance(
        self, owner: Pubkey, mint: Pubkey, commitment: Commitment = "confirmed"
    ) -> TokenBalance:
        """The owner's balance of ``mint`` over all its token accounts (0 if it has none)."""
        resp = await self._call(
            lambda: self._client.get_token_accounts_by_owner(
                owner, TokenAccountOpts(mint=mint), _Commitment(commitment)
            )
        )
        total, decimals = 0, None
        for keyed in resp.value:
            data = bytes(keyed.account.data)
            if len(data) < 72:
                raise RpcRejected(f"token account {keyed.pubkey} has {len(data)} bytes of data")
            # SPL token account layout: mint (32), owner (32), amount (u64 LE), ...
            if Pubkey(data[:32]) != mint:
                continue
            total += struct.unpack_from("<Q", data, 64)[0]
            if decimals is None:
                decimals = await self._decimals(keyed.pubkey, commitment)
        return TokenBalance(native=total, decimals=decimals if decimals is not None else 0)

    async def _decimals(self, account: Pubkey, commitment: Commitment) -> int:
        bal = await self._call(
            lambda: self._client.get_token_account_balance(account, _Commitment(commitment))
        )
        return int(bal.value.decimals)

    async def signature_statuses(self, signatures: Sequence[str]) -> list[SignatureStatus | None]:
        """Statuses in the order asked; ``None`` where the node has never seen it land.
        Searches the node's full history, so an old landing is not mistaken for a drop."""
        if not signatures:
            return []
        sigs = [Signature.from_string(s) for s in signatures]
        resp = await self._call(lambda: self._client.get_signature_statuses(sigs, True))
        out: list[SignatureStatus | None] = []
        for sig, st in zip(signatures, resp.value, strict=True):
            if st is None:
                out.append(None)
                continue
            raw = json.loads(st.to_json())
            level: Commitment = raw.get("confirmationStatus") or "processed"
            err = raw.get("err")
            out.append(
                SignatureStatus(
                    signature=sig,
                    slot=int(raw["slot"]),
                    confirmation=level,
                    err=None if err is None else json.dumps(err, separators=(",", ":")),
                )
            )
        return out

    # ---- writes --------------------------------------------------------------------------

    async def send_raw(self, tx: bytes, *, preflight: bool = True) -> SendOutcome:
        """Broadcast a signed transaction without waiting for confirmation."""
        signature = str(VersionedTransaction.from_bytes(tx).signatures[0])
        opts = TxOpts(
            skip_confirmation=True,
            skip_preflight=not preflight,
            preflight_commitment=_Commitment("confirmed"),
        )
        try:
            resp = await self._call(
                lambda: self._client.send_raw_transaction(tx, opts), reraise_rpc=True
            )
        except RPCException as exc:
            return _send_failure(signature, exc)
        return SendOutcome("sent", str(resp.value))

    async def simulate(self, tx: VersionedTransaction) -> Simulation:
        resp = await self._call(lambda: self._client.simulate_transaction(tx, sig_verify=True))
        raw = json.loads(resp.value.to_json())
        err = raw.get("err")
        return Simulation(
            err=None if err is None else json.dumps(err, separators=(",", ":")),
            logs=tuple(raw.get("logs") or ()),
            units_consumed=raw.get("unitsConsumed"),
        )

    # ---- plumbing ------------------------------------------------------------------------

    async def _call(self, fn: Callable[[], Awaitable[T]], *, reraise_rpc: bool = False) -> T:
        try:
            return await fn()
        except SolanaRpcException as exc:
            raise _transport_error(exc) from exc
        except httpx2.HTTPError as exc:  # pragma: no cover - the client wraps these
            raise RpcUnavailable(f"Solana RPC unreachable: {exc!r}") from exc
        except RPCException as exc:
            if reraise_rpc:
                raise
            payload = exc.args[0] if exc.args else exc
            if isinstance(payload, NodeUnhealthyMessage):
                raise RpcUnavailable(f"Solana RPC node unhealthy: {payload.message}") from exc
            raise RpcRejected(f"Solana RPC error: {payload}") from exc


def _transport_error(exc: SolanaRpcException) -> Exception:
    cause: Any = exc.__cause__
    if isinstance(cause, httpx2.HTTPStatusError):
        status = cause.response.status_code
        if status == 429 or status >= 500:
            return RpcUnavailable(f"Solana RPC answered HTTP {status}")
        return RpcRejected(f"Solana RPC answered HTTP {status}")
    return RpcUnavailable(f"Solana RPC unreachable: {cause!r}")


def _send_failure(signature: str, exc: RPCException) -> SendOutcome:
    payload = exc.args[0] if exc.args else None
    if isinstance(payload, SendTransactionPreflightFailureMessage):
        err = json.loads(payload.data.to_json()).get("err")
        text = json.dumps(err, separators=(",", ":"))
        if err == "AlreadyProcessed":
            return SendOutcome("already_processed", signature, text)
        if err == "BlockhashNotFound":
            return SendOutcome("blockhash_not_found", signature, text)
        return SendOutcome("preflight_failed", signature, text)
    if isinstance(payload, NodeUnhealthyMessage):
        raise RpcUnavailable(f"Solana RPC node unhealthy: {payload.message}") from exc
    raise RpcRejected(f"sendTransaction refused: {payload}") from exc
