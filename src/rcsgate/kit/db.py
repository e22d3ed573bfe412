"""Engine, sessions and column types that work the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, DateTime, Table, event, func, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out; SQLite stores it naive, so the zone is put back here."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


POOL_RECYCLE_SECONDS = 1800


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, *, pool_size: int = 32) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pool_pre_ping: it costs a round trip per checkout. A connection that died is
    # invalidated by the disconnect error itself (that request answers 503, the next gets a
    # fresh connection), and pool_recycle retires connections before servers time them out.
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size // 2, pool_recycle=POOL_RECYCLE_SECONDS
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; busy_timeout makes writers queue, not fail.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions of a session class of their own, so that session events listened for on it
    (kit.wakeup) are this sessionmaker's alone, not every context's in the process."""
    own = type("ContextSession", (Session,), {})
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=own
    )


def insert_ignoring_conflicts(
    dialect: Dialect, table: Table, conflict_columns: Sequence[str]
) -> Any:
    """`INSERT ... ON CONFLICT (columns) DO NOTHING` on either database: rows that would
    break that unique index are skipped, without waiting on or locking the rows they match."""
    module = postgresql if dialect.name == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))


def upsert(
    dialect: Dialect, table: Table, conflict_columns: Sequence[str], update_columns: Sequence[str]
) -> Any:
    """`INSERT ... ON CONFLICT (columns) DO UPDATE` of `update_columns` on either database.
    PostgreSQL refuses a statement that would update one row twice: give each key once."""
    module = postgresql if dialect.name == "postgresql" else sqlite
    statement = module.insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(conflict_columns),
        set_={name: statement.excluded[name] for name in update_columns},
    )


# Rows per statement or COPY chunk in bulk inserts: large enough to amortise round trips,
# small enough to bound memory and stay under SQLite's parameter limit.
BULK_BATCH = 5_000


async def bulk_insert(
    session: AsyncSession, table: Table, rows: Iterable[Mapping[str, Any]]
) -> int:
    """Insert plain rows in the session's transaction: COPY on PostgreSQL, batched
    executemany elsewhere. No ORM object is made per row."""
    connection = await session.connection()
    copy = connection.dialect.name == "postgresql"
    count = 0
    for batch in _batches(rows, BULK_BATCH):
        if copy:
            await _copy(connection, table, batch)
        else:
            await connection.execute(insert(table), batch)
        count += len(batch)
    return count


def _batches(rows: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    batch: list[Mapping[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _copy(connection: AsyncConnection, table: Table, batch: list[Mapping[str, Any]]) -> None:
    names = [column.name for column in table.columns if column.name in batch[0]]
    as_json = [i for i, name in enumerate(names) if isinstance(table.columns[name].type, JSON)]
    values = operator.itemgetter(*names)
    records = [_record(values(row), as_json) for row in batch]
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, records=records, columns=names
    )


def _record(values: tuple[Any, ...], as_json: list[int]) -> tuple[Any, ...]:
    """One COPY record; JSON columns go as text, which PostgreSQL parses."""
    if not any(values[i] is not None for i in as_json):
        return values
    record = list(values)
    for i in as_json:
        if record[i] is not None:
            record[i] = json.dumps(record[i])
    return tuple(record)


def utc_day(
    column: ColumnElement[datetime] | InstrumentedAttribute[datetime], dialect: str
) -> ColumnElement[str]:
    """`YYYY-MM-DD` of a UTCDateTime column, in UTC, on either database (SQLite keeps it
    naive UTC; PostgreSQL's own day depends on the session's time zone, so it is pinned)."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column)
