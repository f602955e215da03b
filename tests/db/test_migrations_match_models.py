"""The migrations build exactly the schema the models declare, on both databases (a table or
column added to ``models/tables.py`` without a migration fails here)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import models.tables  # noqa: F401 - registers every table


async def test_the_migrated_schema_is_the_models_schema(db_engine: AsyncEngine) -> None:
    def diff(conn: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(conn), SQLModel.metadata))

    async with db_engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []
