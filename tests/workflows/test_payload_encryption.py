"""With payload encryption on, a workflow runs as before through our clients, while its
history in Temporal holds only ciphertext; a reader without the key sees none of it."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.services.control import apply_change
from basis.codec import ENCODING, new_key_line
from basis.config import Settings, load_settings
from basis.db import create_engine
from basis.temporal import connect
from models.domain import GLOBAL_SCOPE
from models.messages import ControlChange
from worker import WorkerDeps, build_workers
from workflows.control import CONTROL_WORKFLOW_ID

KEYS = new_key_line("k1")


@pytest.fixture
async def encrypted(
    temporal_env: WorkflowEnvironment, sqlite_url: str, task_queue: str
) -> AsyncIterator[tuple[Client, Settings]]:
    target = temporal_env.client.service_client.config.target_host
    settings = load_settings(
        database_url=sqlite_url,
        temporal={
            "address": target,
            "task_queue": task_queue,
            "payload_encryption": True,
            "payload_keys": KEYS,
        },
    )
    client = await connect(settings)
    deps = WorkerDeps(settings=settings, engine=create_engine(sqlite_url))
    workers = build_workers(client, deps, roles=["engine"])
    async with workers[0]:
        yield client, settings
    await deps.aclose()


async def test_history_holds_ciphertext_while_our_clients_read_plain_values(
    encrypted: tuple[Client, Settings], temporal_env: WorkflowEnvironment
) -> None:
    client, settings = encrypted
    reason = "maintenance-window-7731"
    change = ControlChange.model_validate(
        {"scope": GLOBAL_SCOPE, "paused": True, "actor": "operator-x", "reason": reason}
    )
    view = await apply_change(client, settings, change)
    assert view.paused and view.reason == reason

    # The raw history, as anyone with Temporal access (UI, CLI, its database) reads it.
    history = await temporal_env.client.get_workflow_handle(CONTROL_WORKFLOW_ID).fetch_history()
    found = list(_payloads(history.to_json_dict()))
    assert len(found) >= 3, "expected the input, the update and the activity payloads"
    for payload in found:
        assert base64.b64decode(payload["metadata"]["encoding"]) == ENCODING, payload
    raw = history.to_json()
    for plain in (reason, "operator-x", "maintenance"):
        assert plain not in raw


def _payloads(node: Any) -> Iterator[dict[str, Any]]:
    """Every Payload message in a history's JSON form."""
    if isinstance(node, dict):
        if set(node) >= {"metadata", "data"} and isinstance(node["metadata"], dict):
            yield node
            return
        for value in node.values():
            yield from _payloads(value)
    elif isinstance(node, list):
        for value in node:
            yield from _payloads(value)
