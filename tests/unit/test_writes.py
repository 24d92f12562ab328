"""Unit: data_access.writes — validated, scoped, audited writes on SQLite and PostgreSQL."""

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select, text

from data_access import writes
from data_access.schema import Account, AuditLog, Contact, Interaction
from data_access.scope import Scope
from data_access.versioning import fetch_data_version

TODAY = dt.date(2026, 7, 15)
MANAGER = Scope(user_id=4, role="account_manager", team_id=1)
EXEC = Scope(user_id=1, role="executive")


def _account(engine: Engine, team_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.min(Account.id)).where(Account.team_id == team_id)).scalar()


def _contact(engine: Engine, account_id: int) -> tuple[int, int]:
    with engine.connect() as conn:
        row = conn.execute(
            select(Contact.id, Contact.version)
            .where(Contact.account_id == account_id)
            .order_by(Contact.id)
        ).first()
    return row.id, row.version


def test_interaction_is_saved_audited_and_bumps_the_version(engine: Engine) -> None:
    aid = _account(engine, 1)
    cid, _ = _contact(engine, aid)
    with engine.connect() as conn:
        version = fetch_data_version(conn)
    data = writes.InteractionInput(
        channel="visit",
        occurred_on=dt.date(2026, 7, 1),
        subject="季度回顾",
        notes="<script>x</script>",
        sentiment=1,
        contact_id=cid,
    )
    with engine.begin() as conn:
        new_id = writes.record_interaction(conn, MANAGER, aid, data, today=TODAY)
    with engine.connect() as conn:
        row = conn.execute(
            select(Interaction.subject, Interaction.notes, Interaction.user_id).where(
                Interaction.id == new_id
            )
        ).one()
        audit = conn.execute(
            select(AuditLog.action, AuditLog.user_id).where(
                AuditLog.entity == "interaction", AuditLog.entity_id == str(new_id)
            )
        ).one()
        assert fetch_data_version(conn) == version + 1
        last = conn.execute(select(Contact.last_contacted_on).where(Contact.id == cid)).scalar()
    assert (row.subject, row.notes, row.user_id) == ("季度回顾", "<script>x</script>", 4)
    assert (audit.action, audit.user_id) == ("create", 4)
    assert last >= dt.date(2026, 7, 1)


def test_every_problem_is_reported_and_nothing_written(engine: Engine) -> None:
    aid = _account(engine, 1)
    bad = writes.InteractionInput(
        channel="fax", occurred_on=dt.date(2027, 1, 1), subject=" ", sentiment=5
    )
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(Interaction)).scalar()
    with pytest.raises(writes.ValidationError) as info, engine.begin() as conn:
        writes.record_interaction(conn, MANAGER, aid, bad, today=TODAY)
    assert info.value.problems == [
        ("channel", "invalid_choice"),
        ("subject", "required"),
        ("occurred_on", "future_date"),
        ("sentiment", "invalid_choice"),
    ]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Interaction)).scalar() == before


def test_manager_cannot_write_to_another_teams_account(engine: Engine) -> None:
    other = _account(engine, 2)
    data = writes.InteractionInput(channel="phone", occurred_on=TODAY, subject="x")
    with pytest.raises(writes.NotPermitted), engine.begin() as conn:
        writes.record_interaction(conn, MANAGER, other, data, today=TODAY)


def test_executive_reads_but_does_not_write(engine: Engine) -> None:
    data = writes.ContactInput(name="王五", title="CFO", buying_role="champion")
    with pytest.raises(writes.NotPermitted), engine.begin() as conn:
        writes.record_contact(conn, EXEC, _account(engine, 1), data, today=TODAY)


def test_contact_edit_conflict_between_two_connections(engine: Engine) -> None:
    """Two users edit the same contact from the same version: exactly one save wins."""
    aid = _account(engine, 1)
    cid, version = _contact(engine, aid)
    first = writes.ContactInput(name="甲", title="CFO", buying_role="champion", support=1)
    second = writes.ContactInput(name="乙", title="CEO", buying_role="decision_maker")
    with engine.begin() as conn_a:
        new_version = writes.update_contact(conn_a, MANAGER, cid, version, first, today=TODAY)
    assert new_version == version + 1
    with pytest.raises(writes.Conflict) as info, engine.begin() as conn_b:
        writes.update_contact(conn_b, MANAGER, cid, version, second, today=TODAY)
    assert info.value.current["name"] == "甲"
    assert info.value.current["version"] == version + 1
    with engine.begin() as conn_b:
        writes.update_contact(conn_b, MANAGER, cid, version + 1, second, today=TODAY)
    with engine.connect() as conn:
        name = conn.execute(text("SELECT name FROM contacts WHERE id = :i"), {"i": cid}).scalar()
        audits = conn.execute(
            select(func.count()).where(AuditLog.entity == "contact", AuditLog.entity_id == str(cid))
        ).scalar()
    assert name == "乙"
    assert audits >= 2


def test_contact_validation(engine: Engine) -> None:
    bad = writes.ContactInput(
        name="",
        title="x" * 121,
        buying_role="boss",
        support=7,
        relationship_strength=9,
        last_contacted_on=dt.date(2030, 1, 1),
    )
    with pytest.raises(writes.ValidationError) as info, engine.begin() as conn:
        writes.record_contact(conn, MANAGER, _account(engine, 1), bad, today=TODAY)
    assert [f for f, _ in info.value.problems] == [
        "name",
        "title",
        "buying_role",
        "support",
        "relationship_strength",
        "last_contacted_on",
    ]
