"""Property-based fuzzing of every operation in the OpenAPI document (schemathesis), over real
HTTP against the real application (real workflows, the real ledger, scripted venues).

Valid and invalid inputs are generated from the schema. The properties: no answer is a server
error (5xx), every answer's status code is documented, and its body matches the documented
schema (the error envelope included). Examples per operation: ``BASIS_FUZZ_EXAMPLES``
(default 20, a fixed seed so a run is repeatable; raise it for a deeper local run).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from basis.ports import free_port
from basis.schedules import ensure_schedules
from tests.api.conftest import TradingEnv
from venues.emulators.combined import _QuietServer
from workflows.cycles import INTENT_SCAN_SCHEDULE_ID, MONITOR_SCHEDULE_ID

EXAMPLES = int(os.environ.get("BASIS_FUZZ_EXAMPLES", "20"))
SCHEDULE_IDS = (INTENT_SCAN_SCHEDULE_ID, MONITOR_SCHEDULE_ID)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    per_operation: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def fuzz(schema: Any, base_url: str, headers: dict[str, str], tally: Tally) -> None:
    """Runs in a worker thread: the event loop keeps serving the API meanwhile."""
    session = requests.Session()
    for result in schema.get_all_operations():
        fuzz_operation(result.ok(), base_url, headers, session, tally)


def fuzz_operation(
    operation: Any,
    base_url: str,
    headers: dict[str, str],
    session: requests.Session,
    tally: Tally,
) -> None:
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @hypothesis.settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, session=session, timeout=30)
        with tally.lock:
            tally.statuses[response.status_code] += 1
            tally.per_operation[operation.label] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # collect them all, report at the end
            with tally.lock:
                tally.failures.append(
                    f"{operation.label} -> {response.status_code}: {str(exc)[:1500]}\n"
                    f"  {case.as_curl_command()}"
                )

    run()


@pytest.mark.slow
async def test_no_generated_request_gets_a_server_error_or_an_undocumented_answer(
    trading: TradingEnv,
) -> None:
    trading.settings.api.events.max_stream_seconds = 0.2
    trading.settings.api.events.poll_seconds = 0.05
    operator = await trading.operator()
    document = (await trading.api.get("/api/v1/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(document)
    port = free_port()
    server = _QuietServer(
        uvicorn.Config(trading.app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    # /control/scan triggers the intent-scan schedule, which an engine worker creates at start.
    await ensure_schedules(trading.temporal, trading.settings)
    handles = [trading.temporal.get_schedule_handle(s) for s in SCHEDULE_IDS]
    for h in handles:
        await h.pause(note="fuzzing: triggered by hand only")
    tally = Tally()
    try:
        await asyncio.to_thread(fuzz, schema, f"http://127.0.0.1:{port}", operator, tally)
    finally:
        server.should_exit = True
        await serving
        for h in handles:
            await h.delete()
    requests_sent = sum(tally.statuses.values())
    server_errors = sum(n for s, n in tally.statuses.items() if s >= 500)
    print(  # the figures, for `pytest -s`
        f"\nfuzz: {requests_sent} requests over {len(tally.per_operation)} operations, "
        f"statuses {dict(sorted(tally.statuses.items()))}, 5xx: {server_errors}"
    )
    assert len(tally.per_operation) == len(document_operations(document))
    assert requests_sent >= len(tally.per_operation) * min(EXAMPLES, 5)
    assert server_errors == 0, tally.failures
    assert not tally.failures, "\n".join(tally.failures[:20])


def document_operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]
