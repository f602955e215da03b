"""Recorded histories of every workflow (normal and faulted runs) replay against the current
code: a change that would break running workflows fails here, not in production.
Record them with `python -m tests.replay.record`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from worker import WORKFLOWS

HISTORIES = sorted(Path(__file__).with_name("histories").glob("*/*.json"))


def _load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))


def test_every_workflow_has_recorded_histories() -> None:
    recorded = {p.parent.name for p in HISTORIES}
    registered = {w.__temporal_workflow_definition.name for w in WORKFLOWS}  # type: ignore[attr-defined]
    assert registered <= recorded, f"no recorded history for {sorted(registered - recorded)}"


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_recorded_history_replays_against_the_current_code(path: Path) -> None:
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(_load(path))


async def test_recorded_histories_replay_through_the_encrypting_converter() -> None:
    """Workers with payload encryption on still replay histories written before it was on:
    the codec passes unencrypted payloads through."""
    import dataclasses

    from basis.codec import EncryptionCodec, PayloadKeys, new_key_line

    codec = EncryptionCodec(PayloadKeys.parse(new_key_line("k1")))
    converter = dataclasses.replace(pydantic_data_converter, payload_codec=codec)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=converter)
    for path in HISTORIES:
        await replayer.replay_workflow(_load(path))  # raises on any nondeterminism
