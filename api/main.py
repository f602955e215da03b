"""The FastAPI application: assembles routers, middleware and error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from temporalio.client import Client

from api.errors import install_error_handlers
from api.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from api.routes import control, health, intents, positions
from api.temporal import TemporalConnector
from basis.config import Settings, get_settings
from basis.db import create_engine, session_factory

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, temporal: Client | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        app.state.temporal = TemporalConnector(settings, temporal)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="Asgard Basis",
        version="1.0.0",
        summary="Delta-neutral SOL funding basis trade: Asgard long, Hyperliquid short.",
        lifespan=lifespan,
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=f"{API_PREFIX}/redoc",
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    install_error_handlers(app)
    v1 = APIRouter(prefix=API_PREFIX)
    v1.include_router(health.router)
    v1.include_router(control.router)
    v1.include_router(intents.router)
    v1.include_router(positions.router)
    app.include_router(v1)

    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Content-Type", "X-CSRF-Token", "X-Request-ID", "Authorization"],
        )
    # Added last = outermost: the request id exists before any other middleware answers.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.api.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    return app
