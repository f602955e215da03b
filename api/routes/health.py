"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import ConnectorDep
from basis.db import ping

router = APIRouter(prefix="/health", tags=["health"])


class Live(BaseModel):
    status: str = "ok"


class Ready(BaseModel):
    status: str
    checks: dict[str, str]
    down: list[str]


@router.get("/live", response_model=Live)
async def live() -> Live:
    """The process is up and serving HTTP."""
    return Live()


@router.get("/ready", response_model=Ready, responses={503: {"model": Ready}})
async def ready(request: Request, connector: ConnectorDep) -> JSONResponse:
    """200 when the database and Temporal both answer; 503 naming what is down."""
    checks: dict[str, str] = {}
    try:
        await ping(request.app.state.engine)
        checks["database"] = "ok"
    except Exception as exc:  # any failure to answer SELECT 1 means not ready
        checks["database"] = f"unreachable: {type(exc).__name__}: {exc}"[:300]
    problem = await connector.problem()
    checks["temporal"] = "ok" if problem is None else f"unreachable: {problem}"[:300]
    down = sorted(k for k, v in checks.items() if v != "ok")
    body = Ready(status="ready" if not down else "not_ready", checks=checks, down=down)
    return JSONResponse(body.model_dump(), status_code=503 if down else 200)
