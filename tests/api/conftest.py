"""An in-process API client that runs the app's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from api.main import create_app
from basis.config import Settings

ApiFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@pytest.fixture
def api_factory() -> ApiFactory:
    @asynccontextmanager
    async def make(settings: Settings, **kw: object) -> AsyncIterator[httpx.AsyncClient]:
        async with serve(create_app(settings, **kw)) as client:  # type: ignore[arg-type]
            yield client

    return make
