"""Multi-row INSERTs for PostgreSQL whose text does not change with the number of rows.

The rows travel as one JSON parameter and are turned back into records on the server:
`INSERT INTO t (a, b) SELECT a, b FROM json_populate_recordset(NULL::t, $1::json)`. The
statement is the same for one row or 256, so asyncpg prepares it once per connection (a
multi-row VALUES list is a new statement for every batch size), and a batch is one string
made by the C JSON encoder, where column arrays cost asyncpg a type check per element.
Columns a row does not name get their defaults; JSON columns take the nested value as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table


@dataclass(frozen=True)
class JsonRowsInsert:
    """`INSERT INTO table (keys) SELECT keys FROM json_populate_recordset(...)`, its rows
    the parameter numbered `number`: `encode(rows)` gives its value."""

    table: Table
    keys: tuple[str, ...]
    number: int = 1

    @property
    def sql(self) -> str:
        names = ", ".join(self.keys)
        # Names from the table's metadata; the rows are the parameter.
        return (
            f"INSERT INTO {self.table.name} ({names}) SELECT {names} "  # noqa: S608
            f"FROM json_populate_recordset(NULL::{self.table.name}, ${self.number}::json)"
        )

    @staticmethod
    def encode(rows: Sequence[Mapping[str, Any]]) -> str:
        return json.dumps(rows, default=_scalar, separators=(",", ":"))


def _scalar(value: object) -> str:
    """What the JSON encoder does not know, as PostgreSQL's input functions read it."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} has no JSON form for a row")
