"""``basis codec-server``: Temporal's /encode and /decode for the UI, only with the bearer
token, and cross-origin only for the configured UI origin."""

from __future__ import annotations

import json

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from basis.codec import ENCODING, PayloadKeys, new_key_line
from basis.codec_server import build_codec_app

TOKEN = "codec-token-" + "t" * 24
UI = "https://temporal.example"
KEYS = PayloadKeys.parse(new_key_line("k1"))


@pytest.fixture
def client() -> httpx.AsyncClient:
    app = build_codec_app(KEYS, token=TOKEN, cors_origin=UI, namespace="basis")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://codec")


def _body(*data: bytes) -> str:
    msg = Payloads(payloads=[Payload(metadata={"encoding": b"json/plain"}, data=d) for d in data])
    return json_format.MessageToJson(msg)


def _payloads(text: str) -> list[Payload]:
    return list(json_format.Parse(text, Payloads()).payloads)


AUTH = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}


async def test_encode_then_decode_round_trips_for_the_bearer_of_the_token(
    client: httpx.AsyncClient,
) -> None:
    enc = await client.post("/encode", content=_body(b'"alice"'), headers=AUTH)
    assert enc.status_code == 200
    [p] = _payloads(enc.text)
    assert p.metadata["encoding"] == ENCODING and b"alice" not in p.data
    # Mounted at any depth: only the last path segment picks the operation.
    dec = await client.post(
        "/basis/decode", content=enc.text, headers={**AUTH, "x-namespace": "basis"}
    )
    assert dec.status_code == 200
    assert [q.data for q in _payloads(dec.text)] == [b'"alice"']


@pytest.mark.parametrize(
    "auth", [None, "Bearer wrong-token-of-some-length", f"Basic {TOKEN}", TOKEN]
)
async def test_without_the_token_nothing_is_decoded(
    client: httpx.AsyncClient, auth: str | None
) -> None:
    enc = await client.post("/encode", content=_body(b"secret"), headers=AUTH)
    headers = {"content-type": "application/json"} | ({"authorization": auth} if auth else {})
    r = await client.post("/decode", content=enc.text, headers=headers)
    assert r.status_code == 401
    assert b"secret" not in r.content


async def test_the_ui_origin_gets_cors_headers_and_no_other_origin_does(
    client: httpx.AsyncClient,
) -> None:
    pre = {
        "origin": UI,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type,x-namespace",
    }
    ok = await client.options("/decode", headers=pre)
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == UI
    assert ok.headers["access-control-allow-credentials"] == "true"
    assert "authorization" in ok.headers["access-control-allow-headers"]
    evil = await client.options("/decode", headers={**pre, "origin": "https://evil.example"})
    assert evil.status_code == 403
    assert "access-control-allow-origin" not in evil.headers
    # A real request from another origin is refused even with the token (no reflection).
    r = await client.post(
        "/decode", content=_body(b"x"), headers={**AUTH, "origin": "https://evil.example"}
    )
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers
    r = await client.post("/decode", content=_body(b"x"), headers={**AUTH, "origin": UI})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == UI


async def test_another_namespace_bad_json_and_unknown_paths_are_refused_by_name(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/decode", content=_body(b"x"), headers={**AUTH, "x-namespace": "x"})
    assert r.status_code == 403 and "namespace basis only" in r.json()["error"]
    r = await client.post("/decode", content="{not json", headers=AUTH)
    assert r.status_code == 400 and "Payloads" in r.json()["error"]
    r = await client.post("/transcode", content=_body(b"x"), headers=AUTH)
    assert r.status_code == 404


async def test_a_payload_under_a_key_the_server_lacks_is_a_422_naming_the_key(
    client: httpx.AsyncClient,
) -> None:
    other = build_codec_app(
        PayloadKeys.parse(new_key_line("k9")), token=TOKEN, cors_origin=UI, namespace="basis"
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other), base_url="http://other"
    ) as o:
        enc = await o.post("/encode", content=_body(b"x"), headers=AUTH)
    r = await client.post("/decode", content=enc.text, headers=AUTH)
    assert r.status_code == 422
    assert "k9" in json.loads(r.text)["error"]


def test_a_short_token_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="codec_server_token"):
        build_codec_app(KEYS, token="short", cors_origin=UI, namespace="basis")
