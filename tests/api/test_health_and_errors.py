"""Health probes, the error envelope, request ids, size limits and security headers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from api.security.codes import CapturingCodeSender
from api.services.accounts import set_role
from basis.clock import utc_now
from basis.config import Settings, load_settings
from basis.ports import free_port
from models.domain import UserRole
from tests.api.conftest import ApiFactory, FakeVenues, api_settings, bearer, serve

CODES = CapturingCodeSender()


@pytest.fixture
async def app_and_api(
    api_db: str, temporal_env: WorkflowEnvironment
) -> AsyncIterator[tuple[object, httpx.AsyncClient]]:
    app = create_app(
        api_settings(api_db),
        temporal=temporal_env.client,
        code_sender=CODES,
        venues=FakeVenues(),
    )
    async with serve(app) as client:
        yield app, client


@pytest.fixture
def api(app_and_api: tuple[object, httpx.AsyncClient]) -> httpx.AsyncClient:
    return app_and_api[1]


async def _operator(app: object, api: httpx.AsyncClient) -> dict[str, str]:
    await set_role(app.state.sessions, "ops@example.com", UserRole.OPERATOR, utc_now())  # type: ignore[attr-defined]
    return await bearer(api, CODES, "ops@example.com")


@pytest.fixture
async def ops(app_and_api: tuple[object, httpx.AsyncClient]) -> dict[str, str]:
    return await _operator(*app_and_api)


def _settings_without_temporal(db_url: str) -> Settings:
    s = api_settings(db_url)
    s.temporal.address = f"127.0.0.1:{free_port()}"
    return s


async def test_live_answers_ok(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/v1/health/live")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_ready_is_200_when_database_and_temporal_answer(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/v1/health/ready")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "temporal": "ok"}


async def test_ready_is_503_and_names_temporal_when_it_is_down(
    api_factory: ApiFactory, api_db: str
) -> None:
    async with api_factory(_settings_without_temporal(api_db)) as api:
        r = await api.get("/api/v1/health/ready")
    body = r.json()
    assert r.status_code == 503
    assert body["down"] == ["temporal"]
    assert body["checks"]["database"] == "ok"
    assert "unreachable" in body["checks"]["temporal"]


async def test_ready_is_503_and_names_the_database_when_it_is_down(
    api_factory: ApiFactory, temporal_env: WorkflowEnvironment
) -> None:
    dead = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing"
    settings = load_settings(database_url=dead)
    async with api_factory(settings, temporal=temporal_env.client) as api:
        r = await api.get("/api/v1/health/ready")
    assert r.status_code == 503
    assert r.json()["down"] == ["database"]


async def test_a_route_that_needs_temporal_answers_gen_0003_while_it_is_down(
    api_db: str,
) -> None:
    app = create_app(_settings_without_temporal(api_db), code_sender=CODES)
    async with serve(app) as api:
        r = await api.post("/api/v1/control/pause", json={}, headers=await _operator(app, api))
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "GEN-0003"
    assert "Temporal" in r.json()["error"]["message"]


async def test_an_unknown_path_answers_the_error_envelope_with_the_request_id(
    api: httpx.AsyncClient,
) -> None:
    r = await api.get("/api/v1/nowhere", headers={"X-Request-ID": "req-12345678"})
    assert r.status_code == 404
    assert r.headers["x-request-id"] == "req-12345678"
    assert r.json() == {
        "error": {
            "code": "GEN-0002",
            "message": "Not Found",
            "category": "general",
            "http_status": 404,
        },
        "request_id": "req-12345678",
    }


async def test_a_malformed_request_id_is_replaced_not_echoed(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/v1/health/live", headers={"X-Request-ID": "<script>"})
    assert r.headers["x-request-id"] != "<script>"
    assert len(r.headers["x-request-id"]) == 32


async def test_a_validation_error_is_422_and_names_the_field(
    api: httpx.AsyncClient, ops: dict[str, str]
) -> None:
    r = await api.post("/api/v1/control/pause", json={"reason": "x" * 501}, headers=ops)
    err = r.json()["error"]
    assert r.status_code == 422
    assert err["code"] == "VAL-0001"
    assert err["category"] == "validation"
    assert err["message"].startswith("reason:")
    assert err["details"]["errors"][0]["field"] == "reason"


async def test_malformed_json_is_a_clear_client_error(
    api: httpx.AsyncClient, ops: dict[str, str]
) -> None:
    r = await api.post(
        "/api/v1/control/pause",
        content=b"{not json",
        headers={"content-type": "application/json", **ops},
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "VAL-0006"


async def test_an_oversized_body_is_refused_before_it_is_read(
    api_factory: ApiFactory, api_db: str, temporal_env: WorkflowEnvironment
) -> None:
    settings = api_settings(api_db)
    settings.api.max_body_bytes = 2048
    async with api_factory(settings, temporal=temporal_env.client) as api:
        r = await api.post(
            "/api/v1/control/pause",
            content=b'{"reason": "' + b"a" * 4096 + b'"}',
            headers={"content-type": "application/json"},
        )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "GEN-0006"


async def test_every_response_carries_the_security_headers(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/v1/health/live")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"


async def test_an_unexpected_error_is_500_without_internals(api_db: str) -> None:
    app = create_app(load_settings(database_url=api_db))

    @app.get("/api/v1/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    async with serve(app) as api:
        r = await api.get("/api/v1/boom", headers={"X-Request-ID": "req-boom-0001"})
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "GEN-0001"
    assert r.json()["request_id"] == r.headers["x-request-id"] == "req-boom-0001"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "secret" not in r.text


async def test_the_openapi_schema_is_served_under_the_api_prefix(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/v1/openapi.json")
    assert r.status_code == 200
    assert "/api/v1/health/ready" in r.json()["paths"]
