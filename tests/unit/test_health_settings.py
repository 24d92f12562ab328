"""Unit: health weights and bands are a versioned admin setting the refresh job uses."""

import pytest
from sqlalchemy import select
from sqlalchemy.engine import URL

from analytics.health import HealthSettings
from data_access import settings
from data_access.engine import create_engine_for
from data_access.refresh import run_refresh
from data_access.schema import AuditLog, ModelRun
from data_access.scope import Scope
from data_access.writes import NotPermitted, ValidationError

ADMIN = Scope(user_id=3, role="admin")
WEIGHTS = {
    "value_trend": 2.0,
    "engagement": 1.0,
    "satisfaction": 1.0,
    "product_depth": 4.0,
    "open_risks": 0.0,
}


def test_saved_weights_are_normalised_versioned_audited_and_used_by_refresh(
    sqlite_url: URL,
) -> None:
    engine = create_engine_for(sqlite_url)
    with engine.connect() as conn:
        assert settings.fetch_health_settings(conn) == (0, HealthSettings())
    with pytest.raises(ValidationError), engine.begin() as conn:
        settings.record_health_settings(conn, ADMIN, WEIGHTS | {"open_risks": 2}, 60, 70)
    with pytest.raises(NotPermitted), engine.begin() as conn:
        settings.record_health_settings(conn, Scope(1, "executive"), WEIGHTS, 70, 40)
    with engine.begin() as conn:
        version = settings.record_health_settings(
            conn, ADMIN, {k: v / 10 for k, v in WEIGHTS.items()}, 70, 40
        )
    with engine.connect() as conn:
        number, saved = settings.fetch_health_settings(conn)
        audit = (
            conn.execute(
                select(AuditLog.after).where(AuditLog.entity_id == "health").order_by(AuditLog.id)
            )
            .scalars()
            .all()
        )
    assert number == version == 1
    assert saved.weights == {
        "value_trend": 0.25,
        "engagement": 0.125,
        "satisfaction": 0.125,
        "product_depth": 0.5,
        "open_risks": 0.0,
    }
    assert (saved.healthy_from, saved.watch_from) == (70.0, 40.0)
    assert len(audit) == 1
    run_refresh(engine)
    with engine.connect() as conn:
        params = (
            conn.execute(
                select(ModelRun.params)
                .where(ModelRun.kind == "health")
                .order_by(ModelRun.id.desc())
            )
            .scalars()
            .first()
        )
    engine.dispose()
    assert params["weights"] == saved.weights
    assert params["settings_version"] == 1
    assert params["healthy_from"] == 70.0
