"""``basis codec-server``: Temporal's remote codec protocol, so operators read encrypted
payloads in the Temporal UI (or ``temporal workflow show --codec-endpoint``) without the UI
or the Temporal cluster ever holding the payload keys.

Protocol (Temporal's published codec-server protocol, see docs/SECURITY.md): ``POST
.../encode`` and ``POST .../decode`` take and return a ``Payloads`` message as protobuf JSON,
``{"payloads": [...]}``; only the last path segment selects the operation; the UI sends
``X-Namespace``. Every request needs ``Authorization: Bearer <temporal.codec_server_token>``
(the UI forwards it when configured with "pass access token", or an operator's proxy adds
it); cross-origin requests are answered only for ``temporal.codec_cors_origin``.
"""

from __future__ import annotations

import hmac
import json

from fastapi import FastAPI, Request, Response
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from basis.codec import EncryptionCodec, PayloadKeyError, PayloadKeys

_ALLOWED_HEADERS = "authorization, content-type, x-namespace"
_MAX_BODY = 4 * 1024 * 1024


def build_codec_app(keys: PayloadKeys, *, token: str, cors_origin: str, namespace: str) -> FastAPI:
    if len(token) < 16:
        raise ValueError("temporal.codec_server_token: set a token of at least 16 characters")
    codec = EncryptionCodec(keys)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    def cors(request: Request, response: Response) -> Response:
        origin = request.headers.get("origin")
        if origin and cors_origin and origin == cors_origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = _ALLOWED_HEADERS
            response.headers["Vary"] = "Origin"
        return response

    def error(request: Request, status: int, message: str) -> Response:
        body = json.dumps({"error": message})
        return cors(request, Response(body, status_code=status, media_type="application/json"))

    @app.options("/{path:path}")
    async def preflight(request: Request, path: str) -> Response:
        if not path.endswith(("encode", "decode")):
            return error(request, 404, "only /encode and /decode exist")
        origin = request.headers.get("origin")
        if origin is not None and origin != cors_origin:
            return Response(status_code=403)  # no CORS headers: the browser refuses
        return cors(request, Response(status_code=204))

    @app.post("/{path:path}")
    async def transcode(request: Request, path: str) -> Response:
        op = path.rstrip("/").rsplit("/", 1)[-1]
        if op not in ("encode", "decode"):
            return error(request, 404, "only /encode and /decode exist")
        origin = request.headers.get("origin")
        if origin is not None and origin != cors_origin:
            return Response(status_code=403)
        presented = request.headers.get("authorization", "")
        if not hmac.compare_digest(presented.encode(), f"Bearer {token}".encode()):
            return error(request, 401, "a bearer token is required")
        ns = request.headers.get("x-namespace")
        if ns is not None and ns != namespace:
            return error(request, 403, f"this codec serves namespace {namespace} only")
        body = await request.body()
        if len(body) > _MAX_BODY:
            return error(request, 413, f"body over {_MAX_BODY} bytes")
        try:
            msg = json_format.Parse(body, Payloads())
        except json_format.ParseError as exc:
            return error(request, 400, f"not a Payloads JSON message: {exc}")
        try:
            if op == "encode":
                out = await codec.encode(msg.payloads)
            else:
                out = await codec.decode(msg.payloads)
        except PayloadKeyError as exc:
            return error(request, 422, str(exc))
        text = json_format.MessageToJson(Payloads(payloads=out))
        return cors(request, Response(text, media_type="application/json"))

    return app
