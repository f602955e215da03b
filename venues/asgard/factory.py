"""Venue objects from ``Settings``: what an activity class needs to hold (one client and
one RPC per worker) and how to make a per-user position manager from them."""

from __future__ import annotations

from collections.abc import Callable

from basis.config import Settings
from venues.asgard.client import AsgardClient
from venues.asgard.health import HealthUnit
from venues.asgard.manager import AsgardPositionManager
from venues.solana.driver import SubmitPolicy
from venues.solana.rpc import SolanaRpc
from venues.solana.signer import TransactionSigner, WalletSigner
from venues.solana.store import SubmissionStore
from venues.solana.validator import TransactionPolicy


def asgard_client(settings: Settings) -> AsgardClient:
    v = settings.venues
    return AsgardClient(
        v.asgard_url,
        v.asgard_api_key,
        timeout=v.request_timeout_seconds,
        health_unit=HealthUnit(v.asgard_health_unit),
    )


def solana_rpc(settings: Settings) -> SolanaRpc:
    return SolanaRpc(
        settings.venues.solana_rpc_url, timeout=settings.venues.request_timeout_seconds
    )


def transaction_policy(settings: Settings) -> TransactionPolicy:
    """The signer's allow-list: the standard programs, Asgard's, and any extra ones."""
    program = settings.venues.asgard_program_id
    if not program:
        if settings.mode != "paper":
            raise ValueError(
                f"venues.asgard_program_id: required in mode {settings.mode} (the signer "
                "refuses every program it does not know)"
            )
        # Imported here: production workers never load the emulator package.
        from venues.emulators.asgard.config import DEFAULT_PROGRAM_ID

        program = str(DEFAULT_PROGRAM_ID)
    return TransactionPolicy.with_programs(program, *settings.venues.solana_extra_programs)


def position_manager(
    settings: Settings,
    signer: WalletSigner,
    store: SubmissionStore,
    *,
    client: AsgardClient,
    rpc: SolanaRpc,
    policy: SubmitPolicy | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> AsgardPositionManager:
    """A manager for one user's wallet over the worker's shared client, RPC and store."""
    return AsgardPositionManager(
        client,
        rpc,
        TransactionSigner(signer, transaction_policy(settings)),
        store,
        policy=policy,
        on_progress=on_progress,
    )
