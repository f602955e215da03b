"""docs/API.md keeps up with the code: every error code and every endpoint is in it."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.routing import iter_route_contexts

from api.main import API_PREFIX, create_app
from basis.config import load_settings
from models.errors import ERRORS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "API.md").read_text()


def test_every_error_code_is_documented_with_its_status() -> None:
    for code, spec in ERRORS.items():
        row = rf"\| `{code}` \| {spec.http_status} \| {re.escape(spec.message)} \|"
        assert re.search(row, DOC), code


def test_every_endpoint_is_documented() -> None:
    app = create_app(load_settings())
    documented = DOC.replace("`, `", "` `")
    for route in iter_route_contexts(app.routes):
        assert route.path is not None
        path = route.path.removeprefix(API_PREFIX)
        if path.startswith(("/docs", "/redoc", "/openapi")):
            continue
        tail = path.rsplit("/", 1)[-1]
        assert path in documented or f"/{tail}`" in documented, path
