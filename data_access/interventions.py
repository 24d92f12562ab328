"""Interventions: create, edit, start, complete, cancel; playbooks; rule-triggered alerts.

Every write checks the writer's scope, validates, audits and bumps the data version in
the caller's transaction. Edits and status changes use optimistic locking on
``version``: a save based on an old version is refused with what is stored now.
Creation is idempotent: a repeated request (same token, or the same form submitted
twice within two minutes) returns the record the first one made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, func, insert, or_, select, update

from analytics import alerts
from analytics.playbooks import Playbook, plan
from data_access.frames import read_frame
from data_access.schema import (
    INTERVENTION_KINDS,
    INTERVENTION_OUTCOMES,
    INTERVENTION_PRIORITIES,
    OFFER_RESPONSES,
    Account,
    AccountMonthly,
    AccountScore,
    Holding,
    Interaction,
    InterventionRecord,
    LifecycleEvent,
    Product,
    StakeholderChange,
    SurveyResponse,
    Team,
    User,
)
from data_access.scope import Scope, scope_clause
from data_access.versioning import bump_data_version, record_audit
from data_access.writes import Conflict, NotPermitted, ValidationError

OPEN = ("planned", "in_progress")
DUPLICATE_WINDOW = dt.timedelta(minutes=2)
# Allowed status changes: action -> (from statuses, to status).
TRANSITIONS = {
    "start": (("planned",), "in_progress"),
    "complete": (("planned", "in_progress"), "done"),
    "cancel": (("planned", "in_progress"), "cancelled"),
    "reopen": (("done", "cancelled"), "planned"),
}
EDITABLE = ("kind", "title", "owner_id", "due_on", "priority", "expected_effect", "cost", "notes")


@dataclass(frozen=True)
class InterventionInput:
    """An intervention as a user enters it."""

    kind: str
    title: str
    owner_id: int | None
    due_on: dt.date | None
    priority: str = "normal"
    expected_effect: str = ""
    cost: float | None = None
    notes: str = ""
    offered_product: str | None = None
    offer_response: str | None = None


@dataclass(frozen=True)
class InterventionQuery:
    """Which interventions a view lists; empty tuples mean "all"."""

    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    owner_ids: tuple[int, ...] = ()
    team_ids: tuple[int, ...] = ()
    due_from: dt.date | None = None
    due_to: dt.date | None = None
    account_id: int | None = None
    triggers: tuple[str, ...] = ()
    limit: int = 5000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _jsonable(values: dict) -> dict:
    return {
        k: v.isoformat() if isinstance(v, dt.date | dt.datetime) else v for k, v in values.items()
    }


def _account_in_scope(conn: Connection, scope: Scope, account_id: int) -> dict:
    if not scope.can_write_accounts:
        raise NotPermitted("this role may not write")
    row = conn.execute(
        select(Account.id, Account.team_id, Account.owner_id).where(
            Account.id == account_id, scope_clause(scope)
        )
    ).one_or_none()
    if row is None:
        raise NotPermitted("account not found or not permitted")
    return dict(row._mapping)


def fetch_owner_choices(conn: Connection, scope: Scope, team_id: int | None = None) -> pd.DataFrame:
    """Users who may own an intervention: active account managers of the team (and admins)."""
    team = scope.team_id if scope.is_team_bound else team_id
    cond = [User.active.is_(True), User.role.in_(("account_manager", "admin"))]
    if team is not None:
        cond.append(or_(User.team_id == team, User.role == "admin"))
    return read_frame(
        conn,
        select(User.id, User.display_name, User.role, User.team_id)
        .where(*cond)
        .order_by(User.role != "account_manager", User.display_name),
    )


def validate(conn: Connection, account: dict, data: InterventionInput, today: dt.date) -> None:
    """Raise :class:`ValidationError` listing every problem of ``data``."""
    problems = []
    if data.kind not in INTERVENTION_KINDS:
        problems.append(("kind", "invalid_choice"))
    if not data.title.strip():
        problems.append(("title", "required"))
    elif len(data.title) > 200:
        problems.append(("title", "too_long_200"))
    if data.priority not in INTERVENTION_PRIORITIES:
        problems.append(("priority", "invalid_choice"))
    if len(data.expected_effect) > 200:
        problems.append(("expected_effect", "too_long_200"))
    if len(data.notes) > 5000:
        problems.append(("notes", "too_long_5000"))
    if data.cost is not None and not (0 <= data.cost <= 1e9):
        problems.append(("cost", "out_of_range"))
    if data.due_on is None:
        problems.append(("due_on", "required"))
    elif not (today - dt.timedelta(days=366) <= data.due_on <= today + dt.timedelta(days=731)):
        problems.append(("due_on", "out_of_range"))
    if data.owner_id is None:
        problems.append(("owner_id", "required"))
    else:
        owner = conn.execute(
            select(User.role, User.team_id, User.active).where(User.id == data.owner_id)
        ).one_or_none()
        if (
            owner is None
            or not owner.active
            or owner.role not in ("account_manager", "admin")
            or (owner.role == "account_manager" and owner.team_id != account["team_id"])
        ):
            problems.append(("owner_id", "owner_not_in_team"))
    if data.offer_response is not None and data.offer_response not in OFFER_RESPONSES:
        problems.append(("offer_response", "invalid_choice"))
    if data.offer_response is not None and data.offered_product is None:
        problems.append(("offered_product", "required"))
    if data.offered_product is not None and _product_id(conn, data.offered_product) is None:
        problems.append(("offered_product", "invalid_choice"))
    if problems:
        raise ValidationError(problems)


def _product_id(conn: Connection, code: str | None) -> int | None:
    if code is None:
        return None
    return conn.execute(select(Product.id).where(Product.code == code)).scalar()


def _open_accepted_product(
    conn: Connection, scope: Scope, account_id: int, product_id: int | None, day: dt.date
) -> None:
    """An accepted offer becomes a holding (unless the account already holds the product)."""
    if product_id is None:
        return
    held = conn.execute(
        select(Holding.id).where(
            Holding.account_id == account_id,
            Holding.product_id == product_id,
            Holding.closed_on.is_(None),
        )
    ).first()
    if held is not None:
        return
    new_id = conn.execute(
        insert(Holding)
        .values(account_id=account_id, product_id=product_id, opened_on=day)
        .returning(Holding.id)
    ).scalar_one()
    record_audit(
        conn,
        user_id=scope.user_id,
        action="create",
        entity="holding",
        entity_id=new_id,
        after={
            "account_id": account_id,
            "product_id": product_id,
            "opened_on": day.isoformat(),
            "reason": "offer accepted",
        },
    )


def _values(data: InterventionInput) -> dict:
    return {
        "kind": data.kind,
        "title": data.title.strip(),
        "owner_id": data.owner_id,
        "due_on": data.due_on,
        "priority": data.priority,
        "expected_effect": data.expected_effect.strip() or None,
        "cost": data.cost,
        "notes": data.notes.strip() or None,
        "offer_response": data.offer_response,
    }


def form_token(user_id: int, account_id: int, data: InterventionInput, nonce: str) -> str:
    """An idempotency token for one filled-in form (same form, same token)."""
    text = f"{user_id}|{account_id}|{nonce}|{sorted(_jsonable(_values(data)).items())}"
    return "f:" + hashlib.sha256(text.encode()).hexdigest()[:60]


def create_intervention(
    conn: Connection,
    scope: Scope,
    account_id: int,
    data: InterventionInput,
    *,
    request_token: str | None = None,
    trigger: str = "manual",
    rule: str | None = None,
    playbook: str | None = None,
    today: dt.date | None = None,
) -> tuple[int, bool]:
    """Validate and save a new intervention; returns ``(id, created)``.

    ``created`` is False when the request was a repeat (same ``request_token``, or the
    same writer saved the same values for the same account moments ago).
    """
    account = _account_in_scope(conn, scope, account_id)
    validate(conn, account, data, today or dt.date.today())
    values = _values(data)
    if request_token is not None:
        found = conn.execute(
            select(InterventionRecord.id).where(InterventionRecord.request_token == request_token)
        ).scalar_one_or_none()
        if found is not None:
            return found, False
    now = _now()
    repeat = conn.execute(
        select(InterventionRecord.id).where(
            InterventionRecord.account_id == account_id,
            InterventionRecord.created_by == scope.user_id,
            InterventionRecord.created_at >= now - DUPLICATE_WINDOW,
            *(getattr(InterventionRecord, k) == v for k, v in values.items() if v is not None),
        )
    ).scalar()
    if repeat is not None:
        return repeat, False
    row = {
        "account_id": account_id,
        **values,
        "offered_product_id": _product_id(conn, data.offered_product),
        "status": "planned",
        "trigger": trigger,
        "rule": rule,
        "playbook": playbook,
        "created_at": now,
        "created_by": scope.user_id,
        "request_token": request_token,
        "version": 1,
    }
    new_id = conn.execute(
        insert(InterventionRecord).values(**row).returning(InterventionRecord.id)
    ).scalar_one()
    record_audit(
        conn,
        user_id=scope.user_id,
        action="create",
        entity="intervention",
        entity_id=new_id,
        after=_jsonable({k: v for k, v in row.items() if k != "request_token"}),
    )
    if data.offer_response == "accepted":
        _open_accepted_product(
            conn, scope, account_id, row["offered_product_id"], today or dt.date.today()
        )
    bump_data_version(conn)
    return new_id, True


def _fresh(conn: Connection, intervention_id: int) -> dict:
    row = conn.execute(
        select(InterventionRecord.__table__).where(InterventionRecord.id == intervention_id)
    ).one()
    return dict(row._mapping)


def _stored(conn: Connection, scope: Scope, intervention_id: int) -> dict:
    row = conn.execute(
        select(InterventionRecord.__table__).where(InterventionRecord.id == intervention_id)
    ).one_or_none()
    if row is None:
        raise NotPermitted("intervention not found")
    current = dict(row._mapping)
    _account_in_scope(conn, scope, current["account_id"])
    return current


def _save_change(
    conn: Connection,
    scope: Scope,
    current: dict,
    expected_version: int,
    changes: dict,
    action: str,
) -> int:
    result = conn.execute(
        update(InterventionRecord)
        .where(
            InterventionRecord.id == current["id"],
            InterventionRecord.version == expected_version,
        )
        .values(
            **changes, version=expected_version + 1, updated_at=_now(), updated_by=scope.user_id
        )
    )
    if result.rowcount != 1:
        # Read again: the other writer committed after this transaction first looked.
        raise Conflict(_jsonable(_fresh(conn, current["id"])))
    record_audit(
        conn,
        user_id=scope.user_id,
        action=action,
        entity="intervention",
        entity_id=current["id"],
        before=_jsonable({k: current[k] for k in changes}),
        after=_jsonable(changes),
    )
    bump_data_version(conn)
    return expected_version + 1


def update_intervention(
    conn: Connection,
    scope: Scope,
    intervention_id: int,
    expected_version: int,
    data: InterventionInput,
    today: dt.date | None = None,
) -> int:
    """Save an edit if nobody saved since ``expected_version``; returns the new version.

    Raises :class:`Conflict` carrying the stored record when the version moved on.
    """
    current = _stored(conn, scope, intervention_id)
    account = _account_in_scope(conn, scope, current["account_id"])
    if current["version"] != expected_version:
        raise Conflict(_jsonable(current))
    day = today or dt.date.today()
    validate(conn, account, data, day)
    values = _values(data) | {"offered_product_id": _product_id(conn, data.offered_product)}
    changes = {k: v for k, v in values.items() if current[k] != v}
    if not changes:
        return expected_version
    version = _save_change(conn, scope, current, expected_version, changes, "update")
    if changes.get("offer_response") == "accepted" or (
        data.offer_response == "accepted" and "offered_product_id" in changes
    ):
        _open_accepted_product(
            conn, scope, current["account_id"], values["offered_product_id"], day
        )
    return version


def change_status(
    conn: Connection,
    scope: Scope,
    intervention_id: int,
    expected_version: int,
    action: str,
    *,
    outcome: str | None = None,
    note: str = "",
    on: dt.date | None = None,
) -> int:
    """Start, complete (with an outcome), cancel or reopen; returns the new version."""
    if action not in TRANSITIONS:
        raise ValidationError([("status", "invalid_choice")])
    current = _stored(conn, scope, intervention_id)
    if current["version"] != expected_version:
        raise Conflict(_jsonable(current))
    allowed_from, to = TRANSITIONS[action]
    problems = []
    if current["status"] not in allowed_from:
        problems.append(("status", "invalid_transition"))
    day = on or dt.date.today()
    if day > dt.date.today():
        problems.append(("completed_on", "future_date"))
    if action == "complete" and outcome not in INTERVENTION_OUTCOMES[:3]:
        problems.append(("outcome", "required"))
    if action == "cancel" and not note.strip():
        problems.append(("notes", "reason_required"))
    if len(note) > 5000:
        problems.append(("notes", "too_long_5000"))
    if problems:
        raise ValidationError(problems)
    changes: dict = {"status": to}
    if action == "start":
        changes["started_on"] = day
    elif action == "complete":
        changes |= {"completed_on": day, "outcome": outcome}
    elif action == "cancel":
        changes["outcome"] = None
    else:
        changes |= {"completed_on": None, "outcome": None}
    if note.strip():
        stamp = f"[{day.isoformat()} {action}] {note.strip()}"
        changes["notes"] = f"{current['notes']}\n{stamp}" if current["notes"] else stamp
    return _save_change(conn, scope, current, expected_version, changes, action)


# ------------------------------------------------------------------ reads
def fetch_interventions(conn: Connection, scope: Scope, query: InterventionQuery) -> pd.DataFrame:
    """Interventions of accounts in the viewer's scope, matching ``query``, newest due first."""
    owner = User.__table__.alias("owner")
    cond = [scope_clause(scope)]
    q = query
    if q.kinds:
        cond.append(InterventionRecord.kind.in_(q.kinds))
    if q.statuses:
        cond.append(InterventionRecord.status.in_(q.statuses))
    if q.tiers:
        cond.append(Account.tier.in_(q.tiers))
    if q.owner_ids:
        cond.append(InterventionRecord.owner_id.in_(q.owner_ids))
    if q.team_ids:
        cond.append(Account.team_id.in_(q.team_ids))
    if q.triggers:
        cond.append(InterventionRecord.trigger.in_(q.triggers))
    if q.account_id is not None:
        cond.append(InterventionRecord.account_id == q.account_id)
    if q.due_from is not None:
        cond.append(InterventionRecord.due_on >= q.due_from)
    if q.due_to is not None:
        cond.append(InterventionRecord.due_on <= q.due_to)
    df = read_frame(
        conn,
        select(
            InterventionRecord.id,
            InterventionRecord.account_id,
            Account.code.label("account_code"),
            Account.name.label("account_name"),
            Account.tier,
            Account.team_id,
            Team.name_en.label("team_en"),
            Team.name_zh.label("team_zh"),
            InterventionRecord.kind,
            InterventionRecord.title,
            InterventionRecord.status,
            InterventionRecord.priority,
            InterventionRecord.trigger,
            InterventionRecord.rule,
            InterventionRecord.playbook,
            InterventionRecord.owner_id,
            owner.c.display_name.label("owner"),
            InterventionRecord.due_on,
            InterventionRecord.started_on,
            InterventionRecord.completed_on,
            InterventionRecord.outcome,
            InterventionRecord.expected_effect,
            InterventionRecord.cost,
            InterventionRecord.notes,
            InterventionRecord.created_at,
            InterventionRecord.version,
        )
        .join(Account, Account.id == InterventionRecord.account_id)
        .join(Team, Team.id == Account.team_id)
        .outerjoin(owner, owner.c.id == InterventionRecord.owner_id)
        .where(*cond)
        .order_by(InterventionRecord.due_on.desc(), InterventionRecord.id.desc())
        .limit(q.limit),
    )
    for col in ("due_on", "started_on", "completed_on", "created_at"):
        df[col] = pd.to_datetime(df[col])
    return df


def fetch_intervention(conn: Connection, scope: Scope, intervention_id: int) -> dict | None:
    """One intervention the viewer may see, or None."""
    owner = User.__table__.alias("owner")
    row = conn.execute(
        select(
            InterventionRecord.__table__,
            Account.code.label("account_code"),
            Account.name.label("account_name"),
            Account.team_id,
            owner.c.display_name.label("owner"),
        )
        .join(Account, Account.id == InterventionRecord.account_id)
        .outerjoin(owner, owner.c.id == InterventionRecord.owner_id)
        .where(InterventionRecord.id == intervention_id, scope_clause(scope))
    ).one_or_none()
    return None if row is None else dict(row._mapping)


def fetch_scope_accounts(
    conn: Connection, scope: Scope, codes: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Active accounts the viewer may see (optionally only ``codes``), for pickers."""
    cond = [scope_clause(scope), Account.status == "active"]
    if codes:
        cond.append(Account.code.in_(codes))
    return read_frame(
        conn,
        select(
            Account.id.label("account_id"),
            Account.code,
            Account.name,
            Account.tier,
            Account.team_id,
            Account.owner_id,
        )
        .where(*cond)
        .order_by(Account.code),
    )


# -------------------------------------------------------------- playbooks
def preview_playbook(
    conn: Connection, scope: Scope, playbook: Playbook, codes: tuple[str, ...], start: dt.date
) -> pd.DataFrame:
    """What applying ``playbook`` to the accounts ``codes`` would create."""
    accounts = fetch_scope_accounts(conn, scope, codes)
    return plan(playbook, accounts, start, scope.user_id)


def apply_playbook(
    conn: Connection,
    scope: Scope,
    playbook: Playbook,
    codes: tuple[str, ...],
    start: dt.date,
    request_token: str,
) -> int:
    """Create the playbook's interventions for every account; returns how many were new.

    One transaction: a problem with any account writes nothing. Repeating the same
    request (same token) creates nothing more.
    """
    if not scope.can_write_accounts:
        raise NotPermitted("this role may not write")
    planned = preview_playbook(conn, scope, playbook, codes, start)
    if len(set(codes)) != planned["account_id"].nunique():
        raise NotPermitted("account not found or not permitted")
    created = 0
    for row in planned.itertuples(index=False):
        data = InterventionInput(
            kind=row.kind,
            title=row.title,
            owner_id=int(row.owner_id),
            due_on=row.due_on,
            priority=row.priority,
        )
        _, new = create_intervention(
            conn,
            scope,
            int(row.account_id),
            data,
            request_token=f"p:{request_token}:{row.account_id}:{row.step}"[:80],
            trigger="playbook",
            playbook=playbook.code,
            today=min(start, dt.date.today()),
        )
        created += int(new)
    return created


# ----------------------------------------------------------------- alerts
def latest_as_of(conn: Connection) -> dt.date | None:
    """The date alert rules are evaluated at: the end of the latest month with data."""
    month = conn.execute(select(func.max(AccountMonthly.month))).scalar()
    if month is None:
        return None
    return (pd.Timestamp(month) + pd.offsets.MonthEnd(0)).date()


def fetch_alert_signals(conn: Connection, as_of: dt.date, months_back: int) -> pd.DataFrame:
    """One row per active account with what the alert rules read."""
    accounts = read_frame(
        conn,
        select(Account.id.label("account_id"), Account.tier, Account.owner_id).where(
            Account.status == "active"
        ),
    )
    before = (
        pd.Timestamp(as_of) - pd.DateOffset(months=months_back) + pd.offsets.MonthEnd(0)
    ).date()
    scores = read_frame(
        conn,
        select(AccountScore.account_id, AccountScore.as_of, AccountScore.health_score).where(
            AccountScore.as_of.in_((as_of, before))
        ),
    )
    scores["as_of"] = pd.to_datetime(scores["as_of"]).dt.date
    now = scores[scores["as_of"] == as_of].set_index("account_id")["health_score"]
    then = scores[scores["as_of"] == before].set_index("account_id")["health_score"]
    det = read_frame(
        conn,
        select(
            SurveyResponse.account_id,
            SurveyResponse.responded_on,
            SurveyResponse.score,
        ).where(
            SurveyResponse.survey == "nps",
            SurveyResponse.score <= 6,
            SurveyResponse.responded_on <= as_of,
            SurveyResponse.responded_on > as_of - dt.timedelta(days=366),
        ),
    ).sort_values(["account_id", "responded_on"])
    last_det = det.groupby("account_id").last()
    contact = read_frame(
        conn,
        select(Interaction.account_id, func.max(Interaction.occurred_on).label("last"))
        .where(Interaction.occurred_on <= as_of)
        .group_by(Interaction.account_id),
    ).set_index("account_id")["last"]
    stage_rows = read_frame(
        conn,
        select(LifecycleEvent.account_id, LifecycleEvent.stage, LifecycleEvent.entered_on).where(
            LifecycleEvent.entered_on <= as_of
        ),
    ).sort_values(["account_id", "entered_on"], kind="stable")
    stage = stage_rows.groupby("account_id")["stage"].last()
    sponsor = read_frame(
        conn,
        select(StakeholderChange.account_id, func.max(StakeholderChange.changed_on).label("last"))
        .where(StakeholderChange.role == "decision_maker", StakeholderChange.changed_on <= as_of)
        .group_by(StakeholderChange.account_id),
    ).set_index("account_id")["last"]
    first = (pd.Timestamp(as_of).replace(day=1) - pd.DateOffset(months=5)).date()
    mid = (pd.Timestamp(as_of).replace(day=1) - pd.DateOffset(months=2)).date()
    rev = read_frame(
        conn,
        select(
            AccountMonthly.account_id,
            func.sum(AccountMonthly.revenue).filter(AccountMonthly.month >= mid).label("r3"),
            func.sum(AccountMonthly.revenue).filter(AccountMonthly.month < mid).label("p3"),
        )
        .where(AccountMonthly.month >= first, AccountMonthly.month <= as_of)
        .group_by(AccountMonthly.account_id),
    ).set_index("account_id")
    ids = accounts["account_id"]
    return accounts.assign(
        health_now=ids.map(now),
        health_before=ids.map(then),
        last_detractor_on=ids.map(last_det["responded_on"]) if len(last_det) else None,
        last_detractor_score=ids.map(last_det["score"]) if len(last_det) else None,
        last_contact_on=ids.map(contact),
        stage=ids.map(stage),
        last_sponsor_change_on=ids.map(sponsor),
        revenue_3m=ids.map(rev["r3"]).fillna(0.0),
        revenue_prev_3m=ids.map(rev["p3"]).fillna(0.0),
    )


def sync_alerts(
    conn: Connection,
    rules: alerts.AlertRules,
    as_of: dt.date | None = None,
    user_id: int | None = None,
) -> dict[str, int]:
    """Create suggested interventions for rules that fire; close those that cleared.

    A rule never creates a second suggestion for an account while one from the same rule
    is open. A suggestion nobody started (still planned) is closed with the outcome
    ``condition_cleared`` once its rule stops firing. Returns counts.
    """
    as_of = as_of or latest_as_of(conn)
    if as_of is None:
        return {"created": 0, "closed": 0, "open": 0}
    signals = fetch_alert_signals(conn, as_of, rules.health_drop_months)
    firing = alerts.evaluate(signals, rules, as_of)
    open_rows = read_frame(
        conn,
        select(
            InterventionRecord.id,
            InterventionRecord.account_id,
            InterventionRecord.rule,
            InterventionRecord.status,
            InterventionRecord.version,
        ).where(InterventionRecord.rule.is_not(None), InterventionRecord.status.in_(OPEN)),
    )
    open_keys = set(zip(open_rows["account_id"], open_rows["rule"], strict=True))
    fire_keys = set(zip(firing["account_id"], firing["rule"], strict=True))
    owners = signals.set_index("account_id")["owner_id"]
    now = _now()
    # Due a set number of days after the suggestion is made (not after the data month).
    due = max(as_of, now.date()) + dt.timedelta(days=rules.due_days)
    new_rows = []
    for row in firing.itertuples(index=False):
        if (row.account_id, row.rule) in open_keys:
            continue
        kind, priority = alerts.RULE_KIND[row.rule]
        owner = owners.get(row.account_id)
        new_rows.append(
            {
                "account_id": int(row.account_id),
                "kind": kind,
                "title": alerts.title_for(row.rule, row.value),
                "owner_id": None if pd.isna(owner) else int(owner),
                "due_on": due,
                "status": "planned",
                "priority": priority,
                "trigger": "rule",
                "rule": row.rule,
                "created_at": now,
                "created_by": user_id,
                "version": 1,
            }
        )
    if new_rows:
        conn.execute(insert(InterventionRecord), new_rows)
    still_firing = np.array(
        [
            (a, r) in fire_keys
            for a, r in zip(open_rows["account_id"], open_rows["rule"], strict=True)
        ],
        dtype=bool,
    )
    cleared = open_rows[(open_rows["status"] == "planned").to_numpy() & ~still_firing]
    if len(cleared):
        conn.execute(
            update(InterventionRecord)
            .where(
                InterventionRecord.id.in_([int(i) for i in cleared["id"]]),
                InterventionRecord.status == "planned",
            )
            .values(
                status="cancelled",
                outcome="condition_cleared",
                completed_on=as_of,
                version=InterventionRecord.version + 1,
                updated_at=now,
                updated_by=user_id,
            )
        )
    if new_rows or len(cleared):
        record_audit(
            conn,
            user_id=user_id,
            action="alerts",
            entity="intervention",
            entity_id=None,
            after={
                "as_of": as_of.isoformat(),
                "created": len(new_rows),
                "closed": len(cleared),
                "closed_ids": [int(i) for i in cleared["id"]][:500],
            },
        )
        bump_data_version(conn)
    return {"created": len(new_rows), "closed": len(cleared), "open": len(fire_keys)}


def fetch_my_alerts(conn: Connection, scope: Scope, today: dt.date, days: int = 14) -> pd.DataFrame:
    """Open rule suggestions in the viewer's scope, and their own open items due soon."""
    df = fetch_interventions(conn, scope, InterventionQuery(statuses=OPEN))
    if df.empty:
        return df
    soon = pd.Timestamp(today + dt.timedelta(days=days))
    mine = (df["owner_id"] == scope.user_id) & (df["due_on"] <= soon)
    return df[mine | df["rule"].notna()].sort_values(["due_on", "id"], kind="stable")
