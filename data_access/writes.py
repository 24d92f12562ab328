"""Writes account teams make from the profile: interactions and contacts.

Each function validates its input, checks the writer's scope, writes, audits and bumps
the data version inside the caller's transaction. Validation problems are raised as
:class:`ValidationError` with message codes the UI translates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from data_access.schema import BUYING_ROLES, CHANNELS, Account, Contact, Interaction
from data_access.scope import Scope, scope_clause
from data_access.versioning import bump_data_version, record_audit


class ValidationError(ValueError):
    """Input that cannot be saved; ``problems`` are ``(field, message code)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {c}" for f, c in problems))
        self.problems = problems


class NotPermitted(PermissionError):
    """The writer may not change this account."""


class Conflict(RuntimeError):
    """Someone else saved the record first; ``current`` holds what they saved."""

    def __init__(self, current: dict) -> None:
        super().__init__("the record was changed by someone else")
        self.current = current


@dataclass(frozen=True)
class InteractionInput:
    """A touchpoint as an account manager enters it."""

    channel: str
    occurred_on: dt.date
    subject: str
    notes: str = ""
    sentiment: int = 0
    contact_id: int | None = None


@dataclass(frozen=True)
class ContactInput:
    """A stakeholder as an account manager enters it."""

    name: str
    title: str
    buying_role: str
    support: int = 0
    relationship_strength: int = 3
    last_contacted_on: dt.date | None = None


def _writable_account(conn: Connection, scope: Scope, account_id: int) -> None:
    if not scope.can_write_accounts:
        raise NotPermitted("this role may not write")
    found = conn.execute(
        select(Account.id).where(Account.id == account_id, scope_clause(scope))
    ).first()
    if found is None:
        raise NotPermitted("account not found or not permitted")


def validate_interaction(
    conn: Connection, account_id: int, data: InteractionInput, today: dt.date
) -> None:
    """Raise :class:`ValidationError` listing every problem of ``data``."""
    problems = []
    if data.channel not in CHANNELS:
        problems.append(("channel", "invalid_choice"))
    if not data.subject.strip():
        problems.append(("subject", "required"))
    elif len(data.subject) > 200:
        problems.append(("subject", "too_long_200"))
    if len(data.notes) > 5000:
        problems.append(("notes", "too_long_5000"))
    if data.occurred_on > today:
        problems.append(("occurred_on", "future_date"))
    elif data.occurred_on < today - dt.timedelta(days=366):
        problems.append(("occurred_on", "too_old"))
    if data.sentiment not in (-1, 0, 1):
        problems.append(("sentiment", "invalid_choice"))
    if data.contact_id is not None:
        owner = conn.execute(
            select(Contact.account_id).where(Contact.id == data.contact_id)
        ).scalar_one_or_none()
        if owner != account_id:
            problems.append(("contact_id", "invalid_choice"))
    if problems:
        raise ValidationError(problems)


def record_interaction(
    conn: Connection,
    scope: Scope,
    account_id: int,
    data: InteractionInput,
    today: dt.date | None = None,
) -> int:
    """Validate and save an interaction; returns its id."""
    _writable_account(conn, scope, account_id)
    validate_interaction(conn, account_id, data, today or dt.date.today())
    values = {
        "account_id": account_id,
        "contact_id": data.contact_id,
        "user_id": scope.user_id,
        "channel": data.channel,
        "occurred_on": data.occurred_on,
        "subject": data.subject.strip(),
        "notes": data.notes.strip() or None,
        "sentiment": data.sentiment,
    }
    new_id = conn.execute(
        insert(Interaction).values(**values).returning(Interaction.id)
    ).scalar_one()
    if data.contact_id is not None:
        conn.execute(
            update(Contact)
            .where(
                Contact.id == data.contact_id,
                (Contact.last_contacted_on.is_(None))
                | (Contact.last_contacted_on < data.occurred_on),
            )
            .values(last_contacted_on=data.occurred_on)
        )
    record_audit(
        conn,
        user_id=scope.user_id,
        action="create",
        entity="interaction",
        entity_id=new_id,
        after={**values, "occurred_on": data.occurred_on.isoformat()},
    )
    bump_data_version(conn)
    return new_id


def validate_contact(data: ContactInput, today: dt.date) -> None:
    """Raise :class:`ValidationError` listing every problem of ``data``."""
    problems = []
    if not data.name.strip():
        problems.append(("name", "required"))
    elif len(data.name) > 120:
        problems.append(("name", "too_long_120"))
    if len(data.title) > 120:
        problems.append(("title", "too_long_120"))
    if data.buying_role not in BUYING_ROLES:
        problems.append(("buying_role", "invalid_choice"))
    if data.support not in (-2, -1, 0, 1, 2):
        problems.append(("support", "invalid_choice"))
    if data.relationship_strength not in (1, 2, 3, 4, 5):
        problems.append(("relationship_strength", "invalid_choice"))
    if data.last_contacted_on is not None and data.last_contacted_on > today:
        problems.append(("last_contacted_on", "future_date"))
    if problems:
        raise ValidationError(problems)


def _contact_values(data: ContactInput) -> dict:
    return {
        "name": data.name.strip(),
        "title": data.title.strip(),
        "buying_role": data.buying_role,
        "support": data.support,
        "relationship_strength": data.relationship_strength,
        "last_contacted_on": data.last_contacted_on,
    }


def _jsonable(values: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in values.items()}


def record_contact(
    conn: Connection,
    scope: Scope,
    account_id: int,
    data: ContactInput,
    today: dt.date | None = None,
) -> int:
    """Validate and add a stakeholder; returns its id."""
    _writable_account(conn, scope, account_id)
    validate_contact(data, today or dt.date.today())
    values = {"account_id": account_id, **_contact_values(data), "version": 1}
    new_id = conn.execute(insert(Contact).values(**values).returning(Contact.id)).scalar_one()
    record_audit(
        conn,
        user_id=scope.user_id,
        action="create",
        entity="contact",
        entity_id=new_id,
        after=_jsonable(values),
    )
    bump_data_version(conn)
    return new_id


def update_contact(
    conn: Connection,
    scope: Scope,
    contact_id: int,
    expected_version: int,
    data: ContactInput,
    today: dt.date | None = None,
) -> int:
    """Save an edit of a stakeholder if nobody saved since ``expected_version``.

    Returns the new version. Raises :class:`Conflict` with the stored values when the
    version moved on, so the user can compare and retry without losing their input.
    """
    row = conn.execute(select(Contact.__table__).where(Contact.id == contact_id)).one_or_none()
    if row is None:
        raise NotPermitted("contact not found")
    _writable_account(conn, scope, row.account_id)
    validate_contact(data, today or dt.date.today())
    values = _contact_values(data)
    result = conn.execute(
        update(Contact)
        .where(Contact.id == contact_id, Contact.version == expected_version)
        .values(**values, version=expected_version + 1)
    )
    if result.rowcount != 1:
        # Read again: the other writer committed after this transaction first looked.
        fresh = conn.execute(select(Contact.__table__).where(Contact.id == contact_id)).one()
        raise Conflict(_jsonable(dict(fresh._mapping)))
    before = {k: row._mapping[k] for k in values}
    record_audit(
        conn,
        user_id=scope.user_id,
        action="update",
        entity="contact",
        entity_id=contact_id,
        before=_jsonable(before),
        after=_jsonable(values),
    )
    bump_data_version(conn)
    return expected_version + 1
