"""The control workflow: the path API -> Temporal -> activity -> database, end to end."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlmodel import select
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from api.services.control import apply_change, read_states
from basis.config import Settings, load_settings
from basis.db import create_engine, session_factory
from models.domain import GLOBAL_SCOPE, user_scope
from models.messages import ControlChange
from models.tables import AuditEvent
from worker import WorkerDeps, build_workers
from workflows.control import CONTROL_WORKFLOW_ID, ControlWorkflow


@pytest.fixture
async def stack(
    temporal_env: WorkflowEnvironment, sqlite_url: str, task_queue: str
) -> AsyncIterator[tuple[Client, Settings]]:
    settings = load_settings(database_url=sqlite_url)
    settings.temporal.task_queue = task_queue
    deps = WorkerDeps(settings=settings, engine=create_engine(sqlite_url))
    workers = build_workers(temporal_env.client, deps, roles=["engine"])
    async with workers[0]:
        yield temporal_env.client, settings
    await deps.aclose()


def _change(paused: bool, **kw: object) -> ControlChange:
    return ControlChange.model_validate(
        {"scope": GLOBAL_SCOPE, "paused": paused, "actor": "tester", **kw}
    )


async def test_pause_is_written_to_the_database_with_an_audit_event(
    stack: tuple[Client, Settings],
) -> None:
    client, settings = stack
    view = await apply_change(client, settings, _change(True, reason="maintenance"))
    assert view.paused
    assert view.reason == "maintenance"
    engine = create_engine(settings.database_url)
    async with session_factory(engine)() as s:
        states = await read_states(s)
        audit = (await s.exec(select(AuditEvent))).all()
    await engine.dispose()
    assert [(st.scope, st.paused) for st in states] == [(GLOBAL_SCOPE, True)]
    assert [(a.action, a.actor, a.entity_id) for a in audit] == [("pause", "tester", "global")]


async def test_resume_after_pause_leaves_trading_running_and_two_audit_events(
    stack: tuple[Client, Settings],
) -> None:
    client, settings = stack
    await apply_change(client, settings, _change(True))
    view = await apply_change(client, settings, _change(False))
    assert not view.paused
    handle = client.get_workflow_handle(CONTROL_WORKFLOW_ID)
    states = await handle.query(ControlWorkflow.states)
    assert not states[GLOBAL_SCOPE].paused
    engine = create_engine(settings.database_url)
    async with session_factory(engine)() as s:
        actions = [a.action for a in (await s.exec(select(AuditEvent))).all()]
    await engine.dispose()
    assert actions == ["pause", "resume"]


async def test_concurrent_changes_are_applied_one_at_a_time_in_a_single_workflow(
    stack: tuple[Client, Settings],
) -> None:
    client, settings = stack
    users = [user_scope(uuid.uuid4()) for _ in range(8)]
    views = await asyncio.gather(
        *(
            apply_change(
                client,
                settings,
                ControlChange(scope=u, paused=True, actor="tester"),
            )
            for u in users
        )
    )
    assert {v.scope for v in views} == set(users)
    states = await client.get_workflow_handle(CONTROL_WORKFLOW_ID).query(ControlWorkflow.states)
    assert set(users) <= set(states)


async def test_an_emergency_stop_that_is_not_a_pause_is_rejected_before_it_reaches_history(
    stack: tuple[Client, Settings],
) -> None:
    client, settings = stack
    await apply_change(client, settings, _change(False))
    with pytest.raises(WorkflowUpdateFailedError):
        await apply_change(client, settings, _change(False, emergency_stop=True))


def test_a_scope_that_is_neither_global_nor_a_user_is_refused() -> None:
    with pytest.raises(ValueError, match="scope must be"):
        ControlChange(scope="everyone", paused=True, actor="x")


async def test_the_workflow_survives_a_worker_restart_and_keeps_its_state(
    temporal_env: WorkflowEnvironment, sqlite_url: str, task_queue: str
) -> None:
    settings = load_settings(database_url=sqlite_url)
    settings.temporal.task_queue = task_queue
    client = temporal_env.client
    deps = WorkerDeps(settings=settings, engine=create_engine(sqlite_url))
    try:
        async with build_workers(client, deps, roles=["engine"])[0]:
            await apply_change(client, settings, _change(True, reason="first"))
        # No worker now: the workflow is parked in Temporal. A new worker picks it up.
        async with build_workers(client, deps, roles=["engine"])[0]:
            view = await apply_change(client, settings, _change(True, reason="second"))
            states = await client.get_workflow_handle(CONTROL_WORKFLOW_ID).query(
                ControlWorkflow.states
            )
        assert view.reason == "second"
        assert states[GLOBAL_SCOPE].reason == "second"
    finally:
        await deps.aclose()


async def test_two_workers_on_the_same_task_queues_share_the_work(
    temporal_env: WorkflowEnvironment, sqlite_url: str, task_queue: str
) -> None:
    settings = load_settings(database_url=sqlite_url)
    settings.temporal.task_queue = task_queue
    # A second connection stands for a second worker process.
    other = await Client.connect(
        temporal_env.client.service_client.config.target_host,
        namespace=temporal_env.client.namespace,
        data_converter=temporal_env.client.data_converter,
    )
    deps = WorkerDeps(settings=settings, engine=create_engine(sqlite_url))
    first = build_workers(temporal_env.client, deps, roles=["engine"])[0]
    second = build_workers(other, deps, roles=["engine"])[0]
    try:
        async with first, second:
            views = await asyncio.gather(
                *(
                    apply_change(
                        temporal_env.client,
                        settings,
                        ControlChange(scope=user_scope(uuid.uuid4()), paused=True, actor="t"),
                    )
                    for _ in range(10)
                )
            )
        assert len({v.scope for v in views}) == 10
    finally:
        await deps.aclose()
