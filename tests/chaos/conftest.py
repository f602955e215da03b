"""One chaos world per test module: emulators, a migrated SQLite database and a worker process
on the session's Temporal server, with the module's own task queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from basis.db import create_engine
from basis.migrate import upgrade
from tests.chaos.harness import ChaosWorld, chaos_world


@pytest.fixture(scope="module")
async def world(
    request: pytest.FixtureRequest,
    temporal_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ChaosWorld]:
    name = request.module.__name__.rsplit(".", 1)[-1].replace("_", "-")
    workdir = Path(tmp_path_factory.mktemp(name))
    url = f"sqlite+aiosqlite:///{workdir / 'basis.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    target = temporal_env.client.service_client.config.target_host
    async with chaos_world(temporal_env.client, target, url, name, workdir) as w:
        yield w
