"""The error envelope: ``{"error": {code, message, category, http_status, details?},
"request_id"}``. Every failure the API returns has this shape and a code from
``models.errors``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from basis.logging import correlation_id
from models.errors import ErrorSpec, spec

log = logging.getLogger("basis.api")


class ErrorBody(BaseModel):
    code: str
    message: str
    category: str
    http_status: int
    details: dict[str, Any] | None = None


class ErrorEnvelope(BaseModel):
    """Every failure the API returns."""

    error: ErrorBody
    request_id: str | None


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the envelope under these statuses."""
    return {
        s: {"model": ErrorEnvelope, "description": _DESCRIPTIONS.get(s, "Error")} for s in statuses
    }


_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Not signed in, or the credential is invalid",
    403: "Not allowed (role, CSRF token, disabled account)",
    404: "Not found (including other users' objects)",
    409: "Conflicts with the current state",
    413: "Request body too large",
    422: "Invalid input; the message names the field",
    429: "Rate limited; see Retry-After",
    502: "A venue or the wallet provider refused",
    503: "A dependency (Temporal, a venue) is unavailable",
}


class ApiError(Exception):
    """Raise from a route to answer with a code from the error table."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.spec: ErrorSpec = spec(code)
        self.message = message or self.spec.message
        self.details = details
        self.headers = headers
        super().__init__(f"{code}: {self.message}")


def envelope(
    error: ErrorSpec, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": error.code,
        "message": message,
        "category": error.category.value,
        "http_status": error.http_status,
    }
    if details:
        body["details"] = details
    return {"error": body, "request_id": correlation_id.get()}


def error_response(
    code: str,
    message: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    s = spec(code)
    return JSONResponse(
        envelope(s, message or s.message, details), status_code=s.http_status, headers=headers
    )


_HTTP_CODES = {
    400: "VAL-0006",
    401: "AUT-0001",
    403: "AUT-0003",
    404: "GEN-0002",
    405: "GEN-0005",
    409: "GEN-0004",
    413: "GEN-0006",
    422: "VAL-0001",
    429: "GEN-0007",
    503: "GEN-0003",
}


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[0] if loc else "request")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.spec.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            field = _field_of(tuple(err.get("loc", ())))
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            problems.append({"field": field, "message": msg, "type": err.get("type")})
        first = problems[0] if problems else {"field": "request", "message": "invalid"}
        code = "VAL-0002" if any(p["type"] == "missing" for p in problems) else "VAL-0001"
        if first.get("type") == "json_invalid":
            code = "VAL-0006"
        return error_response(code, f"{first['field']}: {first['message']}", {"errors": problems})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(
            exc.status_code, "GEN-0001" if exc.status_code >= 500 else "VAL-0001"
        )
        message = exc.detail if isinstance(exc.detail, str) else None
        return error_response(code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
        # Never leak internals: the log has the traceback, the client gets the request id.
        log.exception("unhandled error", exc_info=exc)
        return error_response("GEN-0001")
