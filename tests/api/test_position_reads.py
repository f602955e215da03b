"""Reading positions: what a list costs does not grow with the number of positions."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import event

from api.main import create_app
from api.security.codes import CapturingCodeSender
from basis.db import create_engine, session_factory
from models.domain import Asset, LegSide, LegStatus, PositionStatus, Venue
from models.tables import Leg, Position
from tests.api.conftest import FakeClock, FakeVenues, api_settings, api_token, serve, sign_in


async def _add_positions(db_url: str, user_id: uuid.UUID, n: int, clock: FakeClock) -> None:
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as s, s.begin():
            for _ in range(n):
                p = Position(
                    user_id=user_id,
                    asset=Asset.JITOSOL,
                    leverage=Decimal(3),
                    capital_usd=Decimal(10_000),
                    status=PositionStatus.OPEN,
                    created_at=clock(),
                    updated_at=clock(),
                )
                s.add(p)
                await s.flush()
                for venue, side, instrument in (
                    (Venue.HYPERLIQUID, LegSide.SHORT, "SOL-PERP"),
                    (Venue.ASGARD, LegSide.LONG, "jitoSOL"),
                ):
                    s.add(
                        Leg(
                            position_id=p.id,
                            venue=venue,
                            side=side,
                            status=LegStatus.OPEN,
                            instrument=instrument,
                            size=Decimal(100),
                            updated_at=clock(),
                        )
                    )
    finally:
        await engine.dispose()


async def test_listing_positions_reads_all_their_legs_in_one_query(api_db: str) -> None:
    clock, codes = FakeClock(), CapturingCodeSender()
    app = create_app(api_settings(api_db), code_sender=codes, venues=FakeVenues(), clock=clock)
    async with serve(app) as api:
        who = await sign_in(api, codes, "reader@example.com")
        headers = {"Authorization": f"Bearer {await api_token(api, who)}"}
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(args[2])

        event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)

        async def listed() -> tuple[int, list[dict[str, Any]]]:
            r = await api.get("/api/v1/positions", headers=headers)
            assert r.status_code == 200, r.text
            before = len(statements)
            statements.clear()
            return before, r.json()

        await listed()  # the token's first use records it; reads only from here on
        await _add_positions(api_db, uuid.UUID(who.id), 1, clock)
        one, _ = await listed()
        await _add_positions(api_db, uuid.UUID(who.id), 9, clock)
        ten, body = await listed()

    assert ten == one
    assert len(body) == 10
    assert all([leg["side"] for leg in p["legs"]] == ["long", "short"] for p in body)
