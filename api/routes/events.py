"""Your live event stream (server-sent events)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse

from api.auth import CurrentPrincipal, now_of, still_valid
from api.deps import SettingsDep
from api.errors import ApiError
from api.services.events import EVENT_TYPES, Cursor, EventStream
from wallets.keystore import WalletNotFoundError

router = APIRouter(prefix="/events", tags=["events"])


class EventStreamResponse(StreamingResponse):
    media_type = "text/event-stream"


_DESCRIPTION = (
    "Server-sent events, one JSON object per `data:` line with a `type`: "
    + ", ".join(f"`{t}`" for t in EVENT_TYPES)
    + ". Reconnect with `Last-Event-ID` to resume after the last event you saw."
)


# One server-sent event as it arrives on the wire; ``data`` is a JSON object (as text) whose
# ``type`` repeats the event name.
_EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": list(EVENT_TYPES)},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "id": {"type": "string", "pattern": r"^\d{1,19}-\d{1,19}$"},
        "retry": {"type": "integer"},
    },
    "required": ["event", "data"],
}
_ERROR = {
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
}


@router.get(
    "",
    response_class=EventStreamResponse,
    responses={
        200: {
            "description": _DESCRIPTION,
            "content": {"text/event-stream": {"schema": _EVENT_SCHEMA}},
        },
        # Errors are answered before the stream starts, as JSON.
        **{
            status: {"description": description, **_ERROR}
            for status, description in (
                (401, "Not signed in"),
                (403, "Not allowed"),
                (422, "Malformed Last-Event-ID"),
                (429, "Too many open streams, or rate limited"),
            )
        },
    },
)
async def stream(
    principal: CurrentPrincipal,
    request: Request,
    settings: SettingsDep,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", pattern=r"^\d{1,19}-\d{1,19}$")
    ] = None,
) -> EventStreamResponse:
    """Your positions opening, updating and closing, rate updates, pause state, balance
    changes, and a ping when nothing else happens. Only ever your own events."""
    user_id = principal.user.id
    open_streams: Counter[str] = request.app.state.streams
    key = str(user_id)
    if open_streams[key] >= settings.api.events.max_streams_per_user:
        raise ApiError("GEN-0007", "too many open event streams; close one first")
    try:
        wallets = await request.app.state.wallets.addresses(user_id)
    except WalletNotFoundError:
        wallets = None
    sessions = request.app.state.sessions

    async def alive() -> bool:
        return await still_valid(sessions, principal, now_of(request))

    events = EventStream(
        sessions=sessions,
        settings=settings,
        venues=request.app.state.venues,
        wallets=wallets,
        user_id=user_id,
        alive=alive,
        clock=request.app.state.clock,
    )

    async def body() -> AsyncIterator[str]:
        open_streams[key] += 1  # counted from the first byte: a stream never started never ends
        try:
            async for chunk in events.run(Cursor.parse(last_event_id)):
                yield chunk
        finally:
            open_streams[key] -= 1
            if open_streams[key] <= 0:
                del open_streams[key]

    return EventStreamResponse(
        body(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
