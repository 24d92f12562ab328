"""Unit: intervention writes, locking, idempotency, playbooks and alert rules.

Everything runs on a private SQLite copy and on the real PostgreSQL server.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, text

from analytics import alerts
from analytics.playbooks import DEFAULT_PLAYBOOKS, plan
from data_access import interventions as iv
from data_access.engine import create_engine_for
from data_access.schema import Account, AuditLog, InterventionRecord, User
from data_access.scope import Scope
from data_access.versioning import fetch_data_version
from data_access.writes import Conflict, NotPermitted, ValidationError

TODAY = dt.date.today()
MANAGER = Scope(user_id=4, role="account_manager", team_id=1)
EXEC = Scope(user_id=1, role="executive")
ADMIN = Scope(user_id=3, role="admin")


def _account(engine: Engine, team_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.min(Account.id)).where(
                Account.team_id == team_id, Account.status == "active"
            )
        ).scalar()


def _manager(engine: Engine, team_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.min(User.id)).where(User.team_id == team_id, User.role == "account_manager")
        ).scalar()


def _data(engine: Engine, title: str, **changes: object) -> iv.InterventionInput:
    values = {
        "kind": "care_visit",
        "title": title,
        "owner_id": _manager(engine, 1),
        "due_on": TODAY + dt.timedelta(days=10),
        "priority": "high",
        "expected_effect": "NPS +5",
        "cost": 1200.0,
        "notes": "<b>bring the QBR deck</b>",
    }
    return iv.InterventionInput(**(values | changes))


def _count(engine: Engine, **where: object) -> int:
    with engine.connect() as conn:
        q = select(func.count()).select_from(InterventionRecord)
        for k, v in where.items():
            q = q.where(getattr(InterventionRecord, k) == v)
        return conn.execute(q).scalar()


def _stored(engine: Engine, intervention_id: int) -> dict:
    with engine.connect() as conn:
        row = conn.execute(
            select(InterventionRecord.__table__).where(InterventionRecord.id == intervention_id)
        ).one()
    return dict(row._mapping)


def test_create_is_validated_saved_audited_and_visible_at_once(engine: Engine) -> None:
    aid = _account(engine, 1)
    with engine.connect() as conn:
        before = fetch_data_version(conn)
    with engine.begin() as conn:
        new_id, created = iv.create_intervention(conn, MANAGER, aid, _data(engine, "关怀拜访 A"))
    assert created
    row = _stored(engine, new_id)
    assert row["status"] == "planned"
    assert row["version"] == 1
    assert row["created_by"] == MANAGER.user_id
    assert row["notes"] == "<b>bring the QBR deck</b>"  # stored as typed; shown escaped
    with engine.connect() as conn:
        assert fetch_data_version(conn) == before + 1
        audit = conn.execute(
            select(AuditLog.action, AuditLog.after).where(
                AuditLog.entity == "intervention", AuditLog.entity_id == str(new_id)
            )
        ).one()
        listed = iv.fetch_interventions(conn, MANAGER, iv.InterventionQuery(account_id=aid))
    assert audit.action == "create"
    assert audit.after["title"] == "关怀拜访 A"
    assert new_id in set(listed["id"])


def test_every_problem_is_reported_at_once(engine: Engine) -> None:
    aid = _account(engine, 1)
    other_team_manager = _manager(engine, 2)
    bad = _data(
        engine,
        " ",
        kind="lunch",
        priority="urgent",
        owner_id=other_team_manager,
        due_on=TODAY + dt.timedelta(days=900),
        cost=-5.0,
    )
    with engine.begin() as conn, pytest.raises(ValidationError) as info:
        iv.create_intervention(conn, MANAGER, aid, bad)
    assert sorted(info.value.problems) == [
        ("cost", "out_of_range"),
        ("due_on", "out_of_range"),
        ("kind", "invalid_choice"),
        ("owner_id", "owner_not_in_team"),
        ("priority", "invalid_choice"),
        ("title", "required"),
    ]


def test_scope_decides_who_may_write(engine: Engine) -> None:
    other = _account(engine, 2)
    own = _account(engine, 1)
    total = _count(engine)
    with engine.begin() as conn, pytest.raises(NotPermitted):
        iv.create_intervention(conn, MANAGER, other, _data(engine, "not mine"))
    with engine.begin() as conn, pytest.raises(NotPermitted):
        iv.create_intervention(conn, EXEC, own, _data(engine, "exec reads only"))
    assert _count(engine) == total
    with engine.connect() as conn:
        listed = iv.fetch_interventions(conn, MANAGER, iv.InterventionQuery())
        team_of = dict(conn.execute(select(Account.id, Account.team_id)).all())
    assert {team_of[a] for a in listed["account_id"]} == {1}


def test_double_submit_and_repeated_token_create_one_record(engine: Engine) -> None:
    aid = _account(engine, 1)
    data = _data(engine, "double click")
    with engine.begin() as conn:
        first, created1 = iv.create_intervention(conn, MANAGER, aid, data)
    with engine.begin() as conn:
        second, created2 = iv.create_intervention(conn, MANAGER, aid, data)
    assert (created1, created2) == (True, False)
    assert first == second
    assert _count(engine, title="double click") == 1
    token = iv.form_token(MANAGER.user_id, aid, _data(engine, "tokened"), "nonce-1")
    ids = set()
    for _ in range(3):
        with engine.begin() as conn:
            ids.add(
                iv.create_intervention(
                    conn, MANAGER, aid, _data(engine, "tokened"), request_token=token
                )[0]
            )
    assert len(ids) == 1
    assert _count(engine, title="tokened") == 1


def test_concurrent_edits_one_wins_the_other_is_told(engine: Engine) -> None:
    """Two real connections edit the same record at the same time."""
    aid = _account(engine, 1)
    with engine.begin() as conn:
        new_id, _ = iv.create_intervention(conn, MANAGER, aid, _data(engine, "shared"))
    other = create_engine_for(engine.url)
    outcome: dict[str, object] = {}

    def second_writer() -> None:
        try:
            with other.begin() as conn2:
                iv.update_intervention(conn2, MANAGER, new_id, 1, _data(engine, "B's title"))
            outcome["b"] = "saved"
        except Conflict as exc:
            outcome["b"] = exc.current

    with engine.begin() as conn1:
        iv.update_intervention(conn1, MANAGER, new_id, 1, _data(engine, "A's title"))
        thread = threading.Thread(target=second_writer)
        thread.start()
        time.sleep(0.5)  # B now waits on A's open transaction
    thread.join(timeout=30)
    other.dispose()
    row = _stored(engine, new_id)
    assert row["title"] == "A's title"
    assert row["version"] == 2
    assert isinstance(outcome["b"], dict)
    assert outcome["b"]["title"] == "A's title"  # what B is shown
    # B retries from the version it was shown: its input wins now.
    with engine.begin() as conn:
        assert iv.update_intervention(conn, MANAGER, new_id, 2, _data(engine, "B's title")) == 3
    assert _stored(engine, new_id)["title"] == "B's title"


def test_status_changes_follow_the_lifecycle(engine: Engine) -> None:
    aid = _account(engine, 1)
    with engine.begin() as conn:
        new_id, _ = iv.create_intervention(conn, MANAGER, aid, _data(engine, "lifecycle"))
    with engine.begin() as conn:
        v = iv.change_status(conn, MANAGER, new_id, 1, "start")
    with engine.begin() as conn, pytest.raises(ValidationError) as info:
        iv.change_status(conn, MANAGER, new_id, v, "complete")
    assert info.value.problems == [("outcome", "required")]
    with engine.begin() as conn, pytest.raises(Conflict):
        iv.change_status(conn, MANAGER, new_id, 1, "complete", outcome="achieved")
    with engine.begin() as conn:
        v = iv.change_status(conn, MANAGER, new_id, v, "complete", outcome="achieved", note="ok")
    row = _stored(engine, new_id)
    assert (row["status"], row["outcome"], row["completed_on"]) == ("done", "achieved", TODAY)
    assert row["notes"].endswith(f"[{TODAY.isoformat()} complete] ok")
    with engine.begin() as conn, pytest.raises(ValidationError) as info:
        iv.change_status(conn, MANAGER, new_id, v, "cancel", note="too late")
    assert info.value.problems == [("status", "invalid_transition")]
    with engine.begin() as conn:
        new2, _ = iv.create_intervention(conn, MANAGER, aid, _data(engine, "to cancel"))
    with engine.begin() as conn, pytest.raises(ValidationError) as info:
        iv.change_status(conn, MANAGER, new2, 1, "cancel")
    assert info.value.problems == [("notes", "reason_required")]


def test_playbook_preview_equals_what_apply_writes_once(engine: Engine) -> None:
    with engine.connect() as conn:
        codes = tuple(
            conn.execute(
                select(Account.code)
                .where(Account.team_id == 1, Account.status == "active")
                .order_by(Account.code)
                .limit(3)
            ).scalars()
        )
    playbook = DEFAULT_PLAYBOOKS[0]
    start = TODAY + dt.timedelta(days=1)
    with engine.connect() as conn:
        preview = iv.preview_playbook(conn, MANAGER, playbook, codes, start)
    assert len(preview) == 3 * len(playbook.steps)
    before = _count(engine, playbook=playbook.code)
    for _ in range(2):  # a repeated click with the same token adds nothing
        with engine.begin() as conn:
            iv.apply_playbook(conn, MANAGER, playbook, codes, start, "token-xyz")
    assert _count(engine, playbook=playbook.code) == before + len(preview)
    with engine.connect() as conn:
        other = conn.execute(
            select(Account.code).where(Account.team_id == 2, Account.status == "active").limit(1)
        ).scalar()
    total = _count(engine)
    with engine.begin() as conn, pytest.raises(NotPermitted):
        iv.apply_playbook(conn, MANAGER, playbook, (*codes, other), start, "token-2")
    assert _count(engine) == total  # all or nothing


def test_alert_rules_never_duplicate_and_close_when_cleared(engine: Engine) -> None:
    with engine.connect() as conn:
        as_of = iv.latest_as_of(conn)
    rules = alerts.AlertRules()
    with engine.begin() as conn:
        first = iv.sync_alerts(conn, rules, as_of)
    with engine.begin() as conn:
        again = iv.sync_alerts(conn, rules, as_of)
    assert (again["created"], again["closed"]) == (0, 0)
    with engine.connect() as conn:
        open_rows = pd.read_sql(
            text(
                "SELECT account_id, rule, status FROM interventions "
                "WHERE rule IS NOT NULL AND status IN ('planned', 'in_progress')"
            ),
            conn,
        )
    assert len(open_rows) >= first["open"] > 0
    assert not open_rows.duplicated(["account_id", "rule"]).any()
    # One suggestion is being worked on; then the health rule is switched off.
    started = int(
        _first_id(
            engine,
            "SELECT MIN(id) FROM interventions WHERE rule = 'health_drop' AND status = 'planned'",
        )
    )
    with engine.begin() as conn:
        iv.change_status(conn, ADMIN, started, _stored(engine, started)["version"], "start")
    closed_sql = (
        "SELECT COUNT(*) FROM interventions WHERE rule = 'health_drop' "
        "AND outcome = 'condition_cleared'"
    )
    closed_before = _first_id(engine, closed_sql)
    fewer = alerts.AlertRules(enabled=tuple(r for r in alerts.RULES if r != "health_drop"))
    with engine.begin() as conn:
        cleared = iv.sync_alerts(conn, fewer, as_of)
    assert cleared["closed"] > 0
    assert _first_id(engine, closed_sql) == closed_before + cleared["closed"]
    planned_left = _first_id(
        engine,
        "SELECT COUNT(*) FROM interventions WHERE rule = 'health_drop' AND status = 'planned'",
    )
    assert planned_left == 0
    assert _stored(engine, started)["status"] == "in_progress"  # work in hand is never closed


def _first_id(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def test_alert_evaluation_on_hand_made_signals() -> None:
    as_of = dt.date(2026, 6, 30)
    signals = pd.DataFrame(
        {
            "account_id": [1, 2, 3, 4],
            "tier": ["strategic", "value", "basic", "basic"],
            "health_now": [40.0, 70.0, 60.0, None],
            "health_before": [60.0, 72.0, 60.0, None],
            "last_detractor_on": [
                pd.Timestamp("2026-06-20"),
                None,
                pd.Timestamp("2026-04-01"),
                None,
            ],
            "last_detractor_score": [3, None, 5, None],
            "last_contact_on": [
                pd.Timestamp("2026-06-01"),
                pd.Timestamp("2026-03-01"),
                pd.Timestamp("2026-06-01"),
                None,
            ],
            "stage": ["mature", "at_risk", "growth", "growth"],
            "last_sponsor_change_on": [None, None, pd.Timestamp("2026-06-01"), None],
            "revenue_3m": [100.0, 100.0, 60.0, 0.0],
            "revenue_prev_3m": [100.0, 100.0, 100.0, 0.0],
        }
    )
    fired = alerts.evaluate(signals, alerts.AlertRules(), as_of)
    got = sorted(zip(fired["account_id"], fired["rule"], strict=True))
    assert got == [
        (1, "health_drop"),
        (1, "nps_detractor"),
        (2, "no_contact"),  # 121 days > value norm 60 + grace 30
        (2, "stage_at_risk"),
        (3, "revenue_drop"),
        (3, "sponsor_change"),
        (4, "no_contact"),  # never contacted
    ]
    assert fired.set_index(["account_id", "rule"]).loc[(1, "health_drop"), "value"] == 20


def test_playbook_plan_dates_and_owners() -> None:
    accounts = pd.DataFrame(
        {"account_id": [7, 8], "code": ["C7", "C8"], "name": ["a", "b"], "owner_id": [4, None]}
    )
    playbook = DEFAULT_PLAYBOOKS[0]
    planned = plan(playbook, accounts, dt.date(2026, 7, 1), me=9)
    assert len(planned) == 2 * len(playbook.steps)
    assert planned["due_on"].iloc[1] == dt.date(2026, 7, 1) + dt.timedelta(
        days=playbook.steps[1].offset_days
    )
    assert set(planned.loc[planned["account_id"] == 8, "owner_id"]) == {9}


def test_an_accepted_offer_opens_the_product_once(engine: Engine) -> None:
    with engine.connect() as conn:
        aid, product = conn.execute(
            text(
                "SELECT a.id, p.code FROM accounts a CROSS JOIN products p WHERE a.team_id = 1 "
                "AND a.status = 'active' AND NOT EXISTS (SELECT 1 FROM holdings h WHERE "
                "h.account_id = a.id AND h.product_id = p.id AND h.closed_on IS NULL) "
                "ORDER BY a.id, p.id LIMIT 1"
            )
        ).one()
    offer = _data(engine, "cross-sell offer", kind="cross_sell_campaign", offered_product=product)
    with engine.begin() as conn:
        new_id, _ = iv.create_intervention(conn, MANAGER, aid, offer)
    holdings_sql = text(
        "SELECT COUNT(*) FROM holdings h JOIN products p ON p.id = h.product_id "
        "WHERE h.account_id = :a AND p.code = :p AND h.closed_on IS NULL"
    )
    with engine.connect() as conn:
        assert conn.execute(holdings_sql, {"a": aid, "p": product}).scalar() == 0
    accepted = _data(
        engine,
        "cross-sell offer",
        kind="cross_sell_campaign",
        offered_product=product,
        offer_response="accepted",
    )
    with engine.begin() as conn:
        version = iv.update_intervention(conn, MANAGER, new_id, 1, accepted)
    with engine.begin() as conn:  # saving again changes nothing
        iv.update_intervention(conn, MANAGER, new_id, version, accepted)
    with engine.connect() as conn:
        assert conn.execute(holdings_sql, {"a": aid, "p": product}).scalar() == 1
    bad = _data(engine, "x", offer_response="maybe")
    with engine.begin() as conn, pytest.raises(ValidationError) as info:
        iv.create_intervention(conn, MANAGER, aid, bad)
    assert ("offer_response", "invalid_choice") in info.value.problems
    assert ("offered_product", "required") in info.value.problems
