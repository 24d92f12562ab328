"""Versioned admin settings: every save is a new version; snapshots record the one used."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, func, insert, select, update

from analytics.alerts import AlertRules
from analytics.health import COMPONENTS, HealthSettings
from analytics.lifecycle import LifecycleRules
from analytics.playbooks import DEFAULT_PLAYBOOKS, Playbook
from analytics.tiering import TieringSettings, TierSpec
from data_access import segments, stage_rollup
from data_access.schema import Account, AccountScore, SettingVersion, TierHistory
from data_access.scope import Scope
from data_access.versioning import bump_data_version, record_audit
from data_access.writes import NotPermitted, ValidationError

TIERING = "tiering"
LIFECYCLE = "lifecycle"
ALERTS = "alert_rules"
HEALTH = "health"
PLAYBOOKS = "playbooks"
SATISFACTION = "satisfaction"
__all__ = [
    "AlertRules",
    "HealthSettings",
    "LifecycleRules",
    "Playbook",
    "TierSpec",
    "TieringSettings",
]


def _latest(conn: Connection, key: str) -> tuple[int, dict | None]:
    """Version and value of the newest saved setting ``key`` (0 and None if never saved)."""
    row = conn.execute(
        select(SettingVersion.version, SettingVersion.value)
        .where(SettingVersion.key == key)
        .order_by(SettingVersion.version.desc())
        .limit(1)
    ).one_or_none()
    return (row.version, row.value) if row else (0, None)


def _save(
    conn: Connection, scope: Scope, key: str, value: dict, problems: list, before: dict
) -> int:
    """Check role and problems, then store ``value`` as the next version, audited."""
    if scope.role != "admin":
        raise NotPermitted("only admins change settings")
    if problems:
        raise ValidationError(problems)
    version = _latest(conn, key)[0] + 1
    conn.execute(
        insert(SettingVersion).values(
            key=key,
            version=version,
            value=value,
            created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
            created_by=scope.user_id,
        )
    )
    record_audit(
        conn,
        user_id=scope.user_id,
        action="update",
        entity="setting",
        entity_id=key,
        before=before,
        after=value,
    )
    bump_data_version(conn)
    return version


def fetch_lifecycle_rules(conn: Connection) -> tuple[int, LifecycleRules]:
    """The current lifecycle stage rules and their version (0 = built-in defaults)."""
    version, value = _latest(conn, LIFECYCLE)
    return version, LifecycleRules(**value) if value else LifecycleRules()


def record_lifecycle_rules(conn: Connection, scope: Scope, rules: LifecycleRules) -> int:
    """Validate and save a new version of the lifecycle rules (admins only)."""
    current = fetch_lifecycle_rules(conn)[1]
    return _save(conn, scope, LIFECYCLE, vars(rules), rules.problems(), vars(current))


def fetch_tiering(conn: Connection) -> tuple[int, TieringSettings]:
    """The current tiering settings and their version (0 = built-in defaults)."""
    version, value = _latest(conn, TIERING)
    return version, TieringSettings.from_json(value) if value else TieringSettings()


def fetch_tiering_history(conn: Connection) -> list[dict]:
    """All saved versions of the tiering settings, newest first."""
    rows = conn.execute(
        select(
            SettingVersion.version,
            SettingVersion.value,
            SettingVersion.created_at,
            SettingVersion.created_by,
        )
        .where(SettingVersion.key == TIERING)
        .order_by(SettingVersion.version.desc())
    ).all()
    return [dict(r._mapping) for r in rows]


def record_tiering(conn: Connection, scope: Scope, settings: TieringSettings) -> int:
    """Validate and save a new version of the tiering settings (admins only)."""
    current = fetch_tiering(conn)[1]
    return _save(conn, scope, TIERING, settings.to_json(), settings.problems(), current.to_json())


def apply_suggested_tiers(conn: Connection, scope: Scope) -> int:
    """Move every active account to the tier its latest snapshot suggests.

    Writes one ``tier_history`` row per change with the score and settings version as
    the reason, updates ``accounts.tier``, audits the batch; returns the number moved.
    """
    if scope.role != "admin":
        raise NotPermitted("only admins apply tiers")
    latest = conn.execute(
        select(func.max(AccountScore.as_of)).where(AccountScore.suggested_tier.is_not(None))
    ).scalar()
    if latest is None:
        return 0
    rows = conn.execute(
        select(
            Account.id,
            Account.tier,
            AccountScore.suggested_tier,
            AccountScore.tier_score,
            AccountScore.tiering_version,
        )
        .join(
            AccountScore, (AccountScore.account_id == Account.id) & (AccountScore.as_of == latest)
        )
        .where(Account.status == "active", AccountScore.suggested_tier != Account.tier)
    ).all()
    today = dt.date.today()
    for r in rows:
        conn.execute(update(Account).where(Account.id == r.id).values(tier=r.suggested_tier))
        conn.execute(
            insert(TierHistory).values(
                account_id=r.id,
                tier=r.suggested_tier,
                previous_tier=r.tier,
                changed_on=today,
                reason=(
                    f"tier review (settings v{r.tiering_version}): value score {r.tier_score:.1f}"
                ),
            )
        )
    if rows:
        # The segment totals and stage counts are kept per tier.
        segments.rebuild(conn)
        stage_rollup.rebuild(conn)
    record_audit(
        conn,
        user_id=scope.user_id,
        action="apply_tiers",
        entity="accounts",
        entity_id=None,
        after={"moved": len(rows), "as_of": latest.isoformat()},
    )
    bump_data_version(conn)
    return len(rows)


def fetch_alert_rules(conn: Connection) -> tuple[int, AlertRules]:
    """The current alert rules and their version (0 = built-in defaults)."""
    version, value = _latest(conn, ALERTS)
    return version, AlertRules.from_json(value) if value else AlertRules()


def record_alert_rules(conn: Connection, scope: Scope, rules: AlertRules) -> int:
    """Validate and save a new version of the alert rules (admins only)."""
    current = fetch_alert_rules(conn)[1]
    return _save(conn, scope, ALERTS, rules.to_json(), rules.problems(), current.to_json())


def fetch_playbooks(conn: Connection) -> tuple[int, tuple[Playbook, ...]]:
    """The current playbooks and their version (0 = built-in defaults)."""
    version, value = _latest(conn, PLAYBOOKS)
    if not value:
        return version, DEFAULT_PLAYBOOKS
    return version, tuple(Playbook.from_json(p) for p in value["playbooks"])


def record_playbooks(conn: Connection, scope: Scope, playbooks: tuple[Playbook, ...]) -> int:
    """Validate and save a new version of the playbooks (admins only)."""
    problems = sorted({p for pb in playbooks for p in pb.problems()})
    codes = [pb.code for pb in playbooks]
    if len(set(codes)) != len(codes):
        problems.append(("code", "duplicate"))
    if not playbooks:
        problems.append(("steps", "required"))
    current = fetch_playbooks(conn)[1]
    return _save(
        conn,
        scope,
        PLAYBOOKS,
        {"playbooks": [p.to_json() for p in playbooks]},
        problems,
        {"playbooks": [p.to_json() for p in current]},
    )


SATISFACTION_DEFAULTS = {"min_n": 30, "followup_days": 14}


def fetch_satisfaction_settings(conn: Connection) -> tuple[int, dict]:
    """Minimum answers per figure and the follow-up window for detractors, with version."""
    version, value = _latest(conn, SATISFACTION)
    return version, SATISFACTION_DEFAULTS | (value or {})


def record_satisfaction_settings(conn: Connection, scope: Scope, min_n: int, days: int) -> int:
    """Validate and save the satisfaction settings (admins only)."""
    problems = []
    if not 5 <= min_n <= 1000:
        problems.append(("min_n", "out_of_range"))
    if not 1 <= days <= 90:
        problems.append(("followup_days", "out_of_range"))
    current = fetch_satisfaction_settings(conn)[1]
    value = {"min_n": int(min_n), "followup_days": int(days)}
    return _save(conn, scope, SATISFACTION, value, problems, current)


def fetch_health_settings(conn: Connection) -> tuple[int, HealthSettings]:
    """The expert health weights and band thresholds in force, with their version."""
    version, value = _latest(conn, HEALTH)
    if not value:
        return 0, HealthSettings()
    return version, HealthSettings(
        weights={c: float(value["weights"][c]) for c in COMPONENTS},
        healthy_from=float(value["healthy_from"]),
        watch_from=float(value["watch_from"]),
    )


def record_health_settings(
    conn: Connection,
    scope: Scope,
    weights: dict[str, float],
    healthy_from: float,
    watch_from: float,
) -> int:
    """Validate and save new health weights and bands (admins); the next refresh uses them.

    Weights are stored normalised to sum to 1.
    """
    problems = []
    if set(weights) != set(COMPONENTS) or any(w < 0 or w > 1 for w in weights.values()):
        problems.append(("weights", "out_of_range"))
    elif sum(weights.values()) <= 0:
        problems.append(("weights", "required"))
    if not 0 <= watch_from < healthy_from <= 100:
        problems.append(("bands", "out_of_range"))
    current = fetch_health_settings(conn)[1]
    before = {
        "weights": current.weights,
        "healthy_from": current.healthy_from,
        "watch_from": current.watch_from,
    }
    total = sum(weights.values()) or 1.0
    value = {
        "weights": {c: round(float(weights.get(c, 0)) / total, 4) for c in COMPONENTS},
        "healthy_from": float(healthy_from),
        "watch_from": float(watch_from),
    }
    return _save(conn, scope, HEALTH, value, problems, before)
