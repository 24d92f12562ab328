"""Unit: 20 concurrent writers each saving 50 interventions, on SQLite and PostgreSQL."""

import datetime as dt
import threading

from sqlalchemy import Engine, func, select, text

from data_access.interventions import InterventionInput, create_intervention
from data_access.schema import Account, InterventionRecord
from data_access.scope import Scope

WRITERS = 20
EACH = 50


def test_concurrent_writers_each_row_once_no_lock_errors(own_engine: Engine) -> None:
    with own_engine.connect() as conn:
        admin = conn.execute(text("SELECT id FROM users WHERE role = 'admin' ORDER BY id")).scalar()
        accounts = (
            conn.execute(
                select(Account.id)
                .where(Account.status == "active")
                .order_by(Account.id)
                .limit(WRITERS)
            )
            .scalars()
            .all()
        )
    scope = Scope(admin, "admin")
    start = threading.Barrier(WRITERS)
    errors: list[str] = []
    due = dt.date.today() + dt.timedelta(days=14)

    def writer(w: int) -> None:
        start.wait()
        for i in range(EACH):
            data = InterventionInput("care_visit", f"Concurrent visit {w}-{i}", admin, due)
            try:
                with own_engine.begin() as conn:
                    create_intervention(
                        conn,
                        scope,
                        accounts[w % len(accounts)],
                        data,
                        request_token=f"load-{w}-{i}",
                    )
            except Exception as exc:  # noqa: BLE001 - every failure is collected and reported
                errors.append(f"{w}-{i}: {exc.__class__.__name__}: {exc}")

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    with own_engine.connect() as conn:
        tokens = conn.execute(
            select(InterventionRecord.request_token, func.count())
            .where(InterventionRecord.request_token.like("load-%"))
            .group_by(InterventionRecord.request_token)
        ).all()
        if own_engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    assert len(tokens) == WRITERS * EACH
    assert {n for _, n in tokens} == {1}
