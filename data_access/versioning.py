"""The data version (a counter in every cache key) and the audit trail."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select, update

from data_access.schema import AuditLog, DataVersion


def fetch_data_version(conn: Connection) -> int:
    """Current data version; 0 for a database that has never been written."""
    return conn.execute(select(DataVersion.version).where(DataVersion.id == 1)).scalar() or 0


def bump_data_version(conn: Connection) -> int:
    """Increase the data version inside the caller's transaction and return the new value."""
    updated = conn.execute(
        update(DataVersion).where(DataVersion.id == 1).values(version=DataVersion.version + 1)
    )
    if updated.rowcount == 0:
        conn.execute(insert(DataVersion).values(id=1, version=1))
    return fetch_data_version(conn)


def record_audit(
    conn: Connection,
    *,
    user_id: int | None,
    action: str,
    entity: str,
    entity_id: str | int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Write one audit row in the caller's transaction."""
    conn.execute(
        insert(AuditLog).values(
            at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
            user_id=user_id,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            before=before,
            after=after,
        )
    )
