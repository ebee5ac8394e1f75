"""Async SQLAlchemy plumbing: per-service metadata with a naming convention, engines and sessionmakers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, MetaData, Table, Text, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, Insert, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeEngine

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata(schema: str) -> MetaData:
    """Metadata for one service: every table lands in that service's own schema."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def async_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and select the asyncpg driver."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url.removeprefix(plain)
    return url


def make_engine(url: str, *, pool_size: int = 10, application_name: str = "tollway") -> AsyncEngine:
    """An asyncpg engine with pre-ping, so a restarted Postgres costs one failed checkout, not an outage."""
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": application_name}},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def unnest_insert(table: Table, columns: Sequence[Column[Any]]) -> Insert:
    """``INSERT … SELECT FROM unnest(:col1, :col2, …)``: one array parameter per column, whatever the batch size.

    The SQL text never changes, so it is compiled and prepared once, and a batch of thousands of rows stays far
    below Postgres' 32,767-parameter limit that a multi-row VALUES list would hit.
    """
    arrays = [bindparam(column.name, type_=ARRAY(_wire_type(column))) for column in columns]
    source = func.unnest(*arrays).table_valued(*(column.name for column in columns)).render_derived()
    values = [source.c[column.name].cast(column.type) for column in columns]
    return insert(table).from_select([column.name for column in columns], select(*values))


def _wire_type(column: Column[Any]) -> TypeEngine[Any]:
    # A JSONB array parameter would be read as a multi-dimensional array: JSON travels as text and is cast.
    return Text() if isinstance(column.type, JSONB) else column.type
