"""Paper deposits: new users in paper mode get play money on both emulated venues, through
the emulators' admin endpoints (never through a venue's public API)."""

from __future__ import annotations

import logging
from decimal import Decimal

import httpx

from basis.config import Settings
from wallets.keystore import UserWallets

log = logging.getLogger(__name__)


class PaperFaucet:
    def __init__(self, settings: Settings) -> None:
        if settings.mode != "paper":
            raise ValueError("paper deposits exist only in paper mode")
        e = settings.emulators
        self._hl = f"{settings.venues.hyperliquid_url.rstrip('/')}/admin/fund"
        self._asgard = f"http://{e.host}:{e.asgard_port}/admin/fund"
        self._usdc = e.paper_deposit_usd
        self._timeout = settings.venues.request_timeout_seconds

    async def deposit(self, wallets: UserWallets, usdc: Decimal | None = None) -> None:
        """Credit ``usdc`` (default: the configured deposit) on each venue, and SOL for
        Solana fees. Not idempotent: call it once per deposit."""
        amount = usdc if usdc is not None else self._usdc
        async with httpx.AsyncClient(timeout=self._timeout) as http:
            r = await http.post(
                self._hl, json={"address": wallets.evm_address, "usdc": str(amount)}
            )
            r.raise_for_status()
            r = await http.post(
                self._asgard,
                json={"wallet": wallets.solana_address, "usdc": str(amount), "sol": "1"},
            )
            r.raise_for_status()
        log.info("paper deposit of %s USDC per venue for %s", amount, wallets.user_id)
