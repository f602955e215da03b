"""A local stand-in for Privy's server-wallet API, holding real keys.

It checks what Privy checks (Basic auth with the app id and secret, the ``privy-app-id``
header, idempotency keys, and, for wallets with an owner key, the authorization signature over
the canonical request) and signs what Privy signs (Solana ``signMessage``, EVM
``eth_signTypedData_v4``). Faults can be scripted: a status for the next requests, or signing
with another key than the wallet's.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from eth_account import Account
from eth_account.messages import encode_typed_data
from solders.keypair import Keypair
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class FakeWallet:
    id: str
    chain_type: str
    address: str
    secret: bytes
    owner: str | None


@dataclass
class FakePrivy:
    app_id: str = "privy-app-test"
    app_secret: str = "privy-secret-test-0123456789"
    wallets: dict[str, FakeWallet] = field(default_factory=dict)
    idempotent: dict[str, tuple[str, str]] = field(default_factory=dict)
    """key -> (request body, wallet id)"""
    requests: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    impostor: bool = False
    base_url: str = "http://privy.test"

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/wallets", self._create, methods=["POST"]),
                Route("/v1/wallets/{wallet_id}", self._get, methods=["GET"]),
                Route("/v1/wallets/{wallet_id}/rpc", self._rpc, methods=["POST"]),
            ]
        )

    def secret_of(self, address: str) -> bytes:
        return next(w.secret for w in self.wallets.values() if w.address == address)

    # ---- checks -------------------------------------------------------------------------------

    def _refuse(self, request: Request) -> JSONResponse | None:
        if self.fail_next:
            return JSONResponse({"error": "scripted failure"}, status_code=self.fail_next.pop(0))
        expected = base64.b64encode(f"{self.app_id}:{self.app_secret}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"error": "Invalid app ID or app secret."}, status_code=401)
        if request.headers.get("privy-app-id") != self.app_id:
            return JSONResponse({"error": "Missing or wrong privy-app-id"}, status_code=400)
        return None

    def _signed_by(self, request: Request, body: Any, owner: str) -> bool:
        """Whether the request carries a valid authorization signature by ``owner`` (base64
        SPKI DER of a P-256 key) over the canonical payload."""
        signature = request.headers.get("privy-authorization-signature")
        if not signature:
            return False
        headers = {k: v for k, v in request.headers.items() if k.startswith("privy-")}
        headers.pop("privy-authorization-signature", None)
        payload = {
            "version": 1,
            "method": request.method,
            "url": f"{self.base_url}{request.url.path}".rstrip("/"),
            "body": body,
            "headers": headers,
        }
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        key = serialization.load_der_public_key(base64.b64decode(owner))
        assert isinstance(key, ec.EllipticCurvePublicKey)
        try:
            key.verify(base64.b64decode(signature), canonical.encode(), ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, binascii.Error):
            return False
        return True

    # ---- endpoints ----------------------------------------------------------------------------

    async def _create(self, request: Request) -> JSONResponse:
        refused = self._refuse(request)
        if refused:
            return refused
        raw = (await request.body()).decode()
        body = json.loads(raw)
        self.requests.append(("POST", "/v1/wallets", body))
        key = request.headers.get("privy-idempotency-key")
        if key and key in self.idempotent:
            seen, wid = self.idempotent[key]
            if seen != raw:
                return JSONResponse({"error": "Invalid idempotency key reuse"}, status_code=400)
            return JSONResponse(self._view(self.wallets[wid]))
        owner = (body.get("owner") or {}).get("public_key")
        if owner is not None and not self._signed_by(request, body, owner):
            return JSONResponse({"error": "Invalid authorization signature"}, status_code=401)
        chain = body.get("chain_type")
        if chain == "solana":
            kp = Keypair()
            secret, address = bytes(kp), str(kp.pubkey())
        elif chain == "ethereum":
            acct = Account.create()
            secret, address = bytes(acct.key), acct.address
        else:
            return JSONResponse({"error": f"unsupported chain_type {chain}"}, status_code=400)
        wallet = FakeWallet(secrets.token_hex(12), chain, address, secret, owner)
        self.wallets[wallet.id] = wallet
        if key:
            self.idempotent[key] = (raw, wallet.id)
        return JSONResponse(self._view(wallet))

    async def _get(self, request: Request) -> JSONResponse:
        refused = self._refuse(request)
        if refused:
            return refused
        wallet = self.wallets.get(request.path_params["wallet_id"])
        if wallet is None:
            return JSONResponse({"error": "Wallet not found"}, status_code=404)
        return JSONResponse(self._view(wallet))

    async def _rpc(self, request: Request) -> JSONResponse:
        refused = self._refuse(request)
        if refused:
            return refused
        wallet = self.wallets.get(request.path_params["wallet_id"])
        if wallet is None:
            return JSONResponse({"error": "Wallet not found"}, status_code=404)
        body = json.loads(await request.body())
        self.requests.append(("POST", f"/v1/wallets/{wallet.id}/rpc", body))
        if wallet.owner is not None and not self._signed_by(request, body, wallet.owner):
            return JSONResponse({"error": "Invalid authorization signature"}, status_code=401)
        method, params = body.get("method"), body.get("params", {})
        secret = wallet.secret
        if self.impostor:
            secret = bytes(Keypair()) if wallet.chain_type == "solana" else Account.create().key
        if method == "signMessage" and wallet.chain_type == "solana":
            message = base64.b64decode(params["message"])
            sig = Keypair.from_bytes(secret).sign_message(message)
            data = {"signature": base64.b64encode(bytes(sig)).decode(), "encoding": "base64"}
        elif method == "eth_signTypedData_v4" and wallet.chain_type == "ethereum":
            td = params["typed_data"]
            full = {
                "types": td["types"],
                "primaryType": td["primary_type"],
                "domain": td["domain"],
                "message": td["message"],
            }
            signed = Account.sign_message(encode_typed_data(full_message=full), secret)
            data = {"signature": "0x" + bytes(signed.signature).hex(), "encoding": "hex"}
        else:
            return JSONResponse({"error": f"{method} on a {wallet.chain_type} wallet"}, 400)
        return JSONResponse({"method": method, "data": data})

    @staticmethod
    def _view(w: FakeWallet) -> dict[str, Any]:
        return {
            "id": w.id,
            "address": w.address,
            "chain_type": w.chain_type,
            "policy_ids": [],
            "additional_signers": [],
            "owner_id": "owner-key" if w.owner else None,
            "created_at": 1741834854578,
        }
