"""Unit: lifecycle stage rules, and the refresh job applying them idempotently."""

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from analytics.lifecycle import LifecycleRules, assign_stages
from data_access import settings
from data_access.engine import create_engine_for
from data_access.refresh import run_refresh
from data_access.scope import Scope
from data_access.writes import ValidationError


def test_rules_in_documented_order() -> None:
    frame = pd.DataFrame(
        {
            "tenure_months": [1, 10, 40, 40, 2],
            "health_score": [80, 80, 80, 30, 80],
            "revenue_3m": [10, 10, 10, 10, 5],
            "revenue_prev_3m": [10, 10, 10, 10, 10],
        }
    )
    out = assign_stages(frame, LifecycleRules())
    assert list(out["stage"]) == ["onboarding", "growth", "mature", "at_risk", "at_risk"]
    assert out["reason"].iloc[3] == "rule: health below 45"
    assert out["reason"].iloc[4] == "rule: revenue fell more than 25%"


def test_bad_rules_are_refused(sqlite_url: URL) -> None:
    engine = create_engine_for(sqlite_url)
    with pytest.raises(ValidationError) as info, engine.begin() as conn:
        settings.record_lifecycle_rules(
            conn, Scope(3, "admin"), LifecycleRules(onboarding_months=20, growth_months=10)
        )
    assert info.value.problems == [("lifecycle", "stage_months")]
    engine.dispose()


def test_refresh_applies_rules_once(sqlite_url: URL) -> None:
    engine = create_engine_for(sqlite_url)
    with engine.begin() as conn:
        version = settings.record_lifecycle_rules(
            conn, Scope(3, "admin"), LifecycleRules(at_risk_health_below=55.0)
        )
    first = run_refresh(engine)
    second = run_refresh(engine)
    with engine.connect() as conn:
        reasons = conn.execute(
            text("SELECT COUNT(*) FROM lifecycle_events WHERE reason LIKE :r"),
            {"r": f"%(rules v{version})"},
        ).scalar()
    assert first["stage_changes"] > 0
    assert second["stage_changes"] == 0
    assert reasons == first["stage_changes"]
    engine.dispose()
