"""Fixtures for the venue tests: a running Asgard + Solana emulator, a wallet, and a
submission store on each database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from solders.keypair import Keypair
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.venues.asgard.harness import Venue, reap_servers, running_venue
from venues.solana import SqlSubmissionStore


@pytest.fixture
async def venue() -> AsyncIterator[Venue]:
    async with running_venue() as v:
        yield v


@pytest.fixture
def store(db_engine: AsyncEngine) -> SqlSubmissionStore:
    return SqlSubmissionStore(db_engine)


@pytest.fixture
def wallet() -> Keypair:
    return Keypair()


@pytest.fixture(scope="session", autouse=True)
async def _stop_emulator_servers() -> AsyncIterator[None]:
    yield
    await reap_servers()
