"""Privy server wallets: keys held by Privy, used over its REST API.

The HTTP surface used (Privy's public server-wallet API):

- ``POST /v1/wallets`` ``{"chain_type": "solana" | "ethereum", "owner"?}`` creates a wallet;
  the ``privy-idempotency-key`` header makes a retried or concurrent create return the same
  wallet (Privy keeps a key for 24 hours).
- ``GET /v1/wallets/{id}`` reads one.
- ``POST /v1/wallets/{id}/rpc`` signs: ``signMessage`` (Solana, base64 message in, base64
  ed25519 signature out) and ``eth_signTypedData_v4`` (EIP-712 typed data in, 65-byte hex
  signature out).

Every request carries HTTP Basic auth (app id, app secret) and ``privy-app-id``. When an
authorization key is configured, wallets are created owned by it and each non-GET request
carries ``privy-authorization-signature``: a P-256 ECDSA signature over the canonical JSON of
``{version, method, url, body, headers}``, so a leaked app secret alone cannot sign.

Every signature Privy returns is verified here against the wallet's own address before it is
used: a custodian answering for another key must never yield a transaction that looks signed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.address import is_checksum_address
from solders.pubkey import Pubkey
from solders.signature import Signature as SolanaSignature
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from basis.clock import Clock, utc_now
from basis.config import PrivySettings
from models.domain import Chain
from models.tables import Wallet
from venues.hyperliquid.signing import Signature, TypedData, TypedDataSigner
from wallets.keystore import UserWallets, WalletNotFoundError

log = logging.getLogger(__name__)

PROVIDER = "privy"
_CHAIN_TYPES = {Chain.SOLANA: "solana", Chain.EVM: "ethereum"}
_RETRIES = 2
_RETRY_STATUSES = {408, 409, 425, 429, 500, 502, 503, 504}


class PrivyError(Exception):
    """Privy refused or failed a request. ``retryable`` says whether the same request may
    succeed later (rate limit, outage) or never will (bad credentials, bad input)."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class PrivyWallet:
    id: str
    address: str
    chain_type: str


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical JSON for the values Privy requests carry (objects, arrays, strings,
    integers, booleans, null): sorted keys, no whitespace, UTF-8. Floats are refused because
    their canonical form needs the ECMAScript number printer; no request here has one."""

    def check(v: Any) -> None:
        if isinstance(v, float):
            raise TypeError("canonical_json: floats are not supported")
        if isinstance(v, Mapping):
            for k, item in v.items():
                if not isinstance(k, str):
                    raise TypeError("canonical_json: object keys must be strings")
                check(item)
        elif isinstance(v, list | tuple):
            for item in v:
                check(item)

    check(value)
    # Our keys are ASCII, where code-point order equals RFC 8785's UTF-16 order.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def load_authorization_key(value: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key as the Privy dashboard shows it (``wallet-auth:<base64 PKCS#8>``)
    or as PEM."""
    text = value.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            der = base64.b64decode(text.removeprefix("wallet-auth:"), validate=True)
            key = serialization.load_der_private_key(der, password=None)
    except ValueError as exc:
        raise ValueError("privy.authorization_key: not a P-256 private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("privy.authorization_key: must be a P-256 (secp256r1) key")
    return key


def public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    """The key's public half as base64 SubjectPublicKeyInfo DER (Privy's owner format)."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def authorization_payload(
    method: str, url: str, body: Any, headers: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "version": 1,
        "method": method,
        "url": url.rstrip("/"),
        "body": body,
        "headers": {k: v for k, v in headers.items() if k.startswith("privy-")},
    }


def sign_authorization(key: ec.EllipticCurvePrivateKey, payload: Mapping[str, Any]) -> str:
    signature = key.sign(canonical_json(payload), ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode()


class PrivyApi:
    """A small typed client for the wallet endpoints (one per process; safe to share)."""

    def __init__(
        self,
        settings: PrivySettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_delay: float = 0.2,
    ) -> None:
        if not settings.app_id or not settings.app_secret.get_secret_value():
            raise ValueError("Privy needs privy.app_id and privy.app_secret")
        self._app_id = settings.app_id
        self._base = settings.api_url.rstrip("/")
        secret = settings.app_secret.get_secret_value()
        self._auth_key = (
            load_authorization_key(settings.authorization_key.get_secret_value())
            if settings.authorization_key.get_secret_value()
            else None
        )
        self._retry_delay = retry_delay
        self._http = httpx.AsyncClient(
            base_url=self._base,
            auth=httpx.BasicAuth(self._app_id, secret),
            timeout=settings.request_timeout_seconds,
            transport=transport,
            headers={"privy-app-id": self._app_id},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def owner(self) -> dict[str, str] | None:
        """The ``owner`` of wallets we create: our authorization key, when there is one."""
        return {"public_key": public_key_b64(self._auth_key)} if self._auth_key else None

    async def create_wallet(self, chain_type: str, *, idempotency_key: str) -> PrivyWallet:
        body: dict[str, Any] = {"chain_type": chain_type}
        if self.owner:
            body["owner"] = self.owner
        data = await self._request("POST", "/v1/wallets", body, idempotency_key=idempotency_key)
        return _wallet(data, chain_type)

    async def get_wallet(self, wallet_id: str) -> PrivyWallet:
        data = await self._request("GET", f"/v1/wallets/{_path_id(wallet_id)}")
        return _wallet(data, str(data.get("chain_type", "")))

    async def rpc(self, wallet_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        data = await self._request("POST", f"/v1/wallets/{_path_id(wallet_id)}/rpc", dict(body))
        result = data.get("data")
        if data.get("method") != body["method"] or not isinstance(result, dict):
            raise PrivyError(f"Privy answered {body['method']} with an unexpected body")
        return result

    async def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        headers: dict[str, str] = {}
        if idempotency_key:
            headers["privy-idempotency-key"] = idempotency_key
        content = canonical_json(body) if body is not None else None
        if content is not None:
            headers["content-type"] = "application/json"
        if self._auth_key is not None and method != "GET":
            payload = authorization_payload(
                method, f"{self._base}{path}", body, {"privy-app-id": self._app_id, **headers}
            )
            headers["privy-authorization-signature"] = sign_authorization(self._auth_key, payload)
        attempt = 0
        while True:
            attempt += 1
            try:
                r = await self._http.request(method, path, content=content, headers=headers)
            except httpx.HTTPError as exc:
                err = PrivyError(f"Privy unreachable: {type(exc).__name__}", retryable=True)
            else:
                if r.is_success:
                    data = r.json()
                    if not isinstance(data, dict):
                        raise PrivyError("Privy answered with a non-object body")
                    return data
                err = PrivyError(
                    f"Privy answered {r.status_code} to {method} {path}: {_message(r)}",
                    status=r.status_code,
                    retryable=r.status_code in _RETRY_STATUSES,
                )
            # Every request here is safe to repeat: creates carry an idempotency key, signing
            # has no side effect and reads are reads.
            if not err.retryable or attempt > _RETRIES:
                raise err
            await asyncio.sleep(self._retry_delay * attempt)


def _path_id(wallet_id: str) -> str:
    if not wallet_id or not all(c.isalnum() or c in "-_" for c in wallet_id):
        raise PrivyError(f"not a Privy wallet id: {wallet_id!r}")
    return wallet_id


def _message(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:200]
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or body)[:200]
    return str(body)[:200]


def _wallet(data: Mapping[str, Any], chain_type: str) -> PrivyWallet:
    wid, address, kind = data.get("id"), data.get("address"), data.get("chain_type")
    if not isinstance(wid, str) or not isinstance(address, str) or kind != chain_type:
        raise PrivyError(f"Privy returned a malformed {chain_type} wallet")
    if chain_type == "solana":
        try:
            Pubkey.from_string(address)
        except ValueError as exc:
            raise PrivyError(f"Privy returned an invalid Solana address {address!r}") from exc
    elif not is_checksum_address(address):
        raise PrivyError(f"Privy returned an invalid EVM address {address!r}")
    return PrivyWallet(id=wid, address=address, chain_type=kind)


def _hexify(value: Any) -> Any:
    """JSON-ready typed data: bytes (Hyperliquid's connectionId) as 0x-hex."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): _hexify(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_hexify(v) for v in value]
    return value


class PrivyEvmSigner(TypedDataSigner):
    """Signs Hyperliquid's EIP-712 payloads with a Privy EVM wallet."""

    def __init__(self, api: PrivyApi, wallet_id: str, address: str) -> None:
        self._api = api
        self._wallet_id = wallet_id
        self._address = address

    @property
    def address(self) -> str:
        return self._address

    def __repr__(self) -> str:
        return f"PrivyEvmSigner({self._address})"

    async def sign_typed_data(self, typed_data: TypedData) -> Signature:
        data = dict(typed_data)
        body = {
            "method": "eth_signTypedData_v4",
            "params": {
                "typed_data": _hexify(
                    {
                        "types": data["types"],
                        "primary_type": data["primaryType"],
                        "domain": data["domain"],
                        "message": data["message"],
                    }
                )
            },
        }
        result = await self._api.rpc(self._wallet_id, body)
        raw = str(result.get("signature", ""))
        try:
            sig = bytes.fromhex(raw.removeprefix("0x"))
        except ValueError as exc:
            raise PrivyError("Privy returned a malformed EVM signature") from exc
        if len(sig) != 65:
            raise PrivyError(f"Privy returned a {len(sig)}-byte EVM signature")
        v = sig[64] if sig[64] >= 27 else sig[64] + 27
        signable = encode_typed_data(full_message=data)
        signer = Account.recover_message(signable, signature=sig[:64] + bytes([v]))
        if signer.lower() != self._address.lower():
            raise PrivyError(f"Privy signed as {signer}, not as the wallet {self._address}")
        r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big")
        return Signature(r=hex(r), s=hex(s), v=v)


class PrivySolanaSigner:
    """Signs Solana message bytes with a Privy Solana wallet (``WalletSigner``)."""

    def __init__(self, api: PrivyApi, wallet_id: str, address: str) -> None:
        self._api = api
        self._wallet_id = wallet_id
        self._pubkey = Pubkey.from_string(address)

    @property
    def pubkey(self) -> Pubkey:
        return self._pubkey

    def __repr__(self) -> str:
        return f"PrivySolanaSigner({self._pubkey})"

    async def sign_message(self, message: bytes) -> SolanaSignature:
        body = {
            "method": "signMessage",
            "params": {"message": base64.b64encode(message).decode(), "encoding": "base64"},
        }
        result = await self._api.rpc(self._wallet_id, body)
        try:
            raw = base64.b64decode(str(result.get("signature", "")), validate=True)
            signature = SolanaSignature.from_bytes(raw)
        except ValueError as exc:
            raise PrivyError("Privy returned a malformed Solana signature") from exc
        if not signature.verify(self._pubkey, message):
            raise PrivyError(f"Privy's signature was not made by {self._pubkey}")
        return signature


class PrivyWalletProvider:
    """``WalletProvider`` over Privy server wallets; the ``wallets`` table keeps each wallet's
    address and Privy id (no key material: Privy holds the keys)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], api: PrivyApi, clock: Clock = utc_now
    ) -> None:
        self._sessions = sessions
        self._api = api
        self._clock = clock

    async def aclose(self) -> None:
        await self._api.aclose()

    async def ensure_wallets(self, user_id: uuid.UUID) -> UserWallets:
        """Create whichever wallet is missing. Concurrent calls for one user send the same
        idempotency key, so Privy creates one wallet per chain; the unique (user, chain)
        row settles which call records it."""
        existing = await self._by_chain(user_id)
        created = False
        for chain, chain_type in _CHAIN_TYPES.items():
            if chain in existing:
                continue
            w = await self._api.create_wallet(
                chain_type, idempotency_key=f"basis-wallet-{user_id}-{chain.value}"
            )
            row = Wallet(
                user_id=user_id,
                chain=chain,
                address=w.address,
                provider=PROVIDER,
                provider_wallet_id=w.id,
                created_at=self._clock(),
            )
            try:
                async with self._sessions() as s, s.begin():
                    s.add(row)
                created = True
            except IntegrityError:
                pass  # recorded concurrently; the re-read below finds it
        if len(existing) < len(_CHAIN_TYPES):
            existing = await self._by_chain(user_id)
        return UserWallets(
            user_id=user_id,
            solana_address=existing[Chain.SOLANA].address,
            evm_address=existing[Chain.EVM].address,
            created=created,
        )

    async def addresses(self, user_id: uuid.UUID) -> UserWallets:
        rows = await self._by_chain(user_id)
        if Chain.SOLANA not in rows or Chain.EVM not in rows:
            raise WalletNotFoundError(f"user {user_id} has no wallets")
        return UserWallets(user_id, rows[Chain.SOLANA].address, rows[Chain.EVM].address)

    async def hyperliquid_signer(self, user_id: uuid.UUID) -> PrivyEvmSigner:
        row = await self._wallet(user_id, Chain.EVM)
        return PrivyEvmSigner(self._api, row[0], row[1])

    async def solana_signer(self, user_id: uuid.UUID) -> PrivySolanaSigner:
        row = await self._wallet(user_id, Chain.SOLANA)
        return PrivySolanaSigner(self._api, row[0], row[1])

    async def _wallet(self, user_id: uuid.UUID, chain: Chain) -> tuple[str, str]:
        row = (await self._by_chain(user_id)).get(chain)
        if row is None or row.provider != PROVIDER or not row.provider_wallet_id:
            raise WalletNotFoundError(f"user {user_id} has no Privy {chain.value} wallet")
        return row.provider_wallet_id, row.address

    async def _by_chain(self, user_id: uuid.UUID) -> dict[Chain, Wallet]:
        async with self._sessions() as s:
            rows = (await s.exec(select(Wallet).where(Wallet.user_id == user_id))).all()
        return {Chain(r.chain): r for r in rows}
