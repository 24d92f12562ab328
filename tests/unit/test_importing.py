"""Unit: imports on SQLite and PostgreSQL — encodings, formats, upserts, all or nothing."""

import datetime as dt
import io

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from data_access import __main__ as cli
from data_access import importing
from data_access.auth import verify_login
from data_access.import_files import FileProblem, read_table
from data_access.import_specs import ENTITIES, auto_mapping
from data_access.schema import (
    Account,
    AccountMonthly,
    AuditLog,
    InterventionRecord,
    RevenueMonthly,
    TierHistory,
    User,
)
from data_access.scope import Scope
from data_access.versioning import fetch_data_version
from data_access.writes import NotPermitted
from tests.conftest import table_checksums

ADMIN = Scope(user_id=3, role="admin")


def _revenue_extract(engine: Engine, n: int = 300) -> pd.DataFrame:
    sql = (
        "SELECT a.code AS account, p.code AS product, r.month, r.revenue, r.balance "
        "FROM revenue_monthly r JOIN accounts a ON a.id = r.account_id "
        "JOIN products p ON p.id = r.product_id ORDER BY a.code, p.code, r.month"
    )
    with engine.connect() as conn:
        return pd.read_sql(sql, conn).head(n)


def _version(engine: Engine) -> int:
    with engine.connect() as conn:
        return fetch_data_version(conn)


def _xlsx(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_excel(out, index=False)
    return out.getvalue()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-31", dt.date(2025, 3, 31)),
        ("2025/3/1", dt.date(2025, 3, 1)),
        ("2025.03.01", dt.date(2025, 3, 1)),
        ("20250301", dt.date(2025, 3, 1)),
        ("2025年3月1日", dt.date(2025, 3, 1)),
        ("２０２５－０３－０１", dt.date(2025, 3, 1)),  # full-width, as typed with a Chinese IME
        ("2025-03-01 00:00:00", dt.date(2025, 3, 1)),
        ("2025-02-29", None),
        ("31/03/2025", None),
    ],
)
def test_dates_in_the_common_chinese_and_iso_formats(text: str, expected) -> None:
    values, ok = importing._parse_date(pd.Series([text]), month=False)
    assert (values[0] if ok[0] else None) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03", "2025-03-01"),
        ("202503", "2025-03-01"),
        ("2025年3月", "2025-03-01"),
        ("2025-03-31", "2025-03-01"),
    ],
)
def test_months_are_first_days(text: str, expected: str) -> None:
    values, ok = importing._parse_date(pd.Series([text]), month=True)
    assert ok[0]
    assert values[0] == dt.date.fromisoformat(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234,567.89", 1234567.89),
        ("¥12,000", 12000.0),
        ("１２３４", 1234.0),
        ("(500)", -500.0),
        ("3.5e3", 3500.0),
        ("1,23", None),
        ("1.234,56", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_amounts_with_thousands_separators(text: str, expected) -> None:
    values, ok = importing._parse_number(pd.Series([text]))
    assert (float(values[0]) if ok[0] else None) == expected


def test_encodings_are_detected() -> None:
    text = "account,name,buying_role\nC100001,王经理,决策者\n"
    for encoding in ("utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"):
        raw = read_table(text.encode(encoding), "x.csv")
        assert raw.frame.iloc[0]["name"] == "王经理", encoding
    with pytest.raises(FileProblem) as exc:
        read_table(text.encode(), "x.csv", max_bytes=10)
    assert exc.value.code == "too_large"


def test_chinese_headers_are_mapped_automatically() -> None:
    mapping = auto_mapping(ENTITIES["revenue"], ["客户编号", "产品代码", "月份", "收入", "备注"])
    assert mapping == {
        "account": "客户编号",
        "product": "产品代码",
        "month": "月份",
        "revenue": "收入",
    }


def test_the_same_file_twice_changes_nothing_in_every_format(own_engine: Engine) -> None:
    extract = _revenue_extract(own_engine)
    extract["month"] = pd.to_datetime(extract["month"]).dt.strftime("%Y年%m月")
    chinese = extract.rename(
        columns={"account": "客户编号", "product": "产品代码", "month": "月份", "revenue": "收入"}
    )
    before = table_checksums(own_engine)
    version = _version(own_engine)
    files = {
        "utf8.csv": extract.to_csv(index=False).encode("utf-8"),
        "bom.csv": chinese.to_csv(index=False).encode("utf-8-sig"),
        "gbk.csv": chinese.to_csv(index=False, sep=";").encode("gbk"),
        "sheet.xlsx": _xlsx(chinese),
    }
    for name, data in files.items():
        checked, result = importing.run_import(own_engine, ADMIN, "revenue", data, name)
        assert checked.ok, (name, checked.problems[:3])
        assert (result.inserted, result.updated, result.unchanged) == (0, 0, len(extract)), name
        assert result.data_version is None
    assert table_checksums(own_engine) == before
    assert _version(own_engine) == version


def test_changed_revenue_updates_the_fact_and_its_rollup(own_engine: Engine) -> None:
    extract = _revenue_extract(own_engine, 50)
    row = extract.iloc[7]
    extract.loc[7, "revenue"] = row["revenue"] + 1000
    new = pd.DataFrame(
        [{"account": row["account"], "product": row["product"], "month": "2019-01", "revenue": 5}]
    )
    data = pd.concat([extract, new]).to_csv(index=False).encode()
    version = _version(own_engine)
    _, result = importing.run_import(own_engine, ADMIN, "revenue", data, "rev.csv")
    assert (result.inserted, result.updated) == (1, 1)
    assert result.data_version == version + 1
    with own_engine.connect() as conn:
        aid = conn.execute(select(Account.id).where(Account.code == row["account"])).scalar()
        month = pd.Timestamp(row["month"]).date()
        fact = conn.execute(
            select(func.sum(RevenueMonthly.revenue)).where(
                RevenueMonthly.account_id == aid, RevenueMonthly.month == month
            )
        ).scalar()
        rollup = conn.execute(
            select(AccountMonthly.revenue).where(
                AccountMonthly.account_id == aid, AccountMonthly.month == month
            )
        ).scalar()
        audit = conn.execute(
            select(AuditLog.after).where(AuditLog.action == "import").order_by(AuditLog.id.desc())
        ).first()
    assert rollup == pytest.approx(fact)
    assert (audit.after["inserted"], audit.after["updated"]) == (1, 1)
    assert audit.after["changes"][0]["changed"]["revenue"][1] == pytest.approx(
        row["revenue"] + 1000
    )
    _, again = importing.run_import(own_engine, ADMIN, "revenue", data, "rev.csv")
    assert (again.inserted, again.updated, again.data_version) == (0, 0, None)


def test_accounts_upsert_by_code_with_tier_history_and_new_parents(own_engine: Engine) -> None:
    with own_engine.connect() as conn:
        code, tier = conn.execute(
            select(Account.code, Account.tier).where(Account.tier == "basic").limit(1)
        ).one()
    base = {"industry": "制造业", "region": "east", "segment": "mid", "team": "EAST-1"}
    rows = [
        {
            "code": "G000001",
            "name": "新集团",
            "tier": "战略客群",
            "onboarded_on": "2021/5/1",
            **base,
        },
        {
            "code": "G000002",
            "name": "新集团子公司",
            "tier": "value",
            "parent": "G000001",
            "onboarded_on": "2022年1月3日",
            **base,
        },
        {
            "code": code,
            "name": "改名后的客户",
            "tier": "Value",
            "onboarded_on": "2015-01-01",
            **base,
        },
    ]
    data = pd.DataFrame(rows).to_csv(index=False).encode()
    checked, result = importing.run_import(own_engine, ADMIN, "accounts", data, "acc.csv")
    assert checked.ok, checked.problems
    assert (result.inserted, result.updated) == (2, 1)
    with own_engine.connect() as conn:
        accounts = {
            r.code: r
            for r in conn.execute(
                select(
                    Account.code, Account.id, Account.tier, Account.parent_id, Account.name
                ).where(Account.code.in_(["G000001", "G000002", code]))
            )
        }
        moves = conn.execute(
            select(TierHistory.tier, TierHistory.previous_tier).where(
                TierHistory.account_id == accounts[code].id, TierHistory.reason == "import acc.csv"
            )
        ).all()
    assert accounts["G000001"].tier == "strategic"
    assert accounts["G000002"].parent_id == accounts["G000001"].id
    assert accounts[code].name == "改名后的客户"
    assert [tuple(m) for m in moves] == [("value", tier)]
    _, again = importing.run_import(own_engine, ADMIN, "accounts", data, "acc.csv")
    assert (again.inserted, again.updated) == (0, 0)


def test_interventions_upsert_by_reference_and_bump_their_version(own_engine: Engine) -> None:
    frame = pd.DataFrame(
        [
            {
                "reference": "CRM-77",
                "account": "C100001",
                "kind": "业务回顾",
                "title": "年度回顾",
                "due_on": "2026-12-01",
                "status": "planned",
            }
        ]
    )
    _, first = importing.run_import(
        own_engine, ADMIN, "interventions", frame.to_csv(index=False).encode(), "i.csv"
    )
    frame.loc[0, "status"] = "in_progress"
    _, second = importing.run_import(
        own_engine, ADMIN, "interventions", frame.to_csv(index=False).encode(), "i.csv"
    )
    with own_engine.connect() as conn:
        row = conn.execute(
            select(
                InterventionRecord.kind, InterventionRecord.status, InterventionRecord.version
            ).where(InterventionRecord.request_token == "import:CRM-77")
        ).one()
    assert (first.inserted, second.updated) == (1, 1)
    assert tuple(row) == ("business_review", "in_progress", 2)


def test_imported_users_cannot_sign_in_until_a_password_is_set(own_engine: Engine) -> None:
    data = "用户名,姓名,角色,团队\nnew_am,新经理,客户经理,EAST-1\n".encode("gbk")
    checked, result = importing.run_import(own_engine, ADMIN, "users", data, "u.csv")
    assert checked.ok, checked.problems
    assert result.inserted == 1
    with own_engine.connect() as conn:
        assert verify_login(conn, "new_am", "!") is None
        assert verify_login(conn, "new_am", "") is None


def test_a_failure_while_writing_rolls_everything_back(
    own_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    extract = _revenue_extract(own_engine, 20)
    extract["revenue"] += 1
    before = table_checksums(own_engine)

    def fail(*_args) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(importing, "_refresh_rollup", fail)
    with pytest.raises(RuntimeError):
        importing.run_import(
            own_engine, ADMIN, "revenue", extract.to_csv(index=False).encode(), "r.csv"
        )
    assert table_checksums(own_engine) == before


def test_only_admins_import(own_engine: Engine) -> None:
    with pytest.raises(NotPermitted):
        importing.run_import(
            own_engine, Scope(1, "executive"), "revenue", b"account\nC1\n", "r.csv"
        )


def test_presets_are_saved_versioned(own_engine: Engine) -> None:
    with own_engine.begin() as conn:
        importing.record_preset(conn, ADMIN, "revenue", "核心系统", {"account": "客户号"})
    with own_engine.connect() as conn:
        assert importing.fetch_presets(conn)["revenue"]["核心系统"] == {"account": "客户号"}


def test_the_command_line_imports_and_reports(
    own_engine: Engine, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("STRATA_DATABASE_URL", own_engine.url.render_as_string(hide_password=False))
    good = tmp_path / "lc.csv"
    good.write_text(
        "客户编号,阶段,日期,原因\nC100001,mature,2024-02-01,CRM\n", encoding="utf-8-sig"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("account,stage,entered_on\nC100001,flying,2024-02-01\n", encoding="utf-8")
    report = tmp_path / "report.csv"
    assert cli.main(["import", "lifecycle_events", str(good)]) == 0
    assert "1 new" in capsys.readouterr().out
    assert cli.main(["import", "lifecycle_events", str(good)]) == 0
    assert "1 unchanged" in capsys.readouterr().out
    assert cli.main(["import", "lifecycle_events", str(bad), "--report", str(report)]) == 1
    assert "Not an allowed value" in pd.read_csv(report)["message"][0]
    assert cli.main(["import", "revenue", str(good), "--map", "account=客户编号"]) == 1


def test_user_emails_are_lower_case_and_belong_to_one_user(own_engine: Engine) -> None:
    first = b"username,display_name,role,email\nsso.one,One,executive,One@Bank.CN\n"
    checked, result = importing.run_import(own_engine, ADMIN, "users", first, "u1.csv")
    assert checked.ok, checked.problems
    assert result.inserted == 1
    second = b"username,display_name,role,email\nsso.two,Two,executive,one@bank.cn\n"
    checked, result = importing.run_import(own_engine, ADMIN, "users", second, "u2.csv")
    assert result is None
    assert [(p.row, p.column, p.code) for p in checked.problems] == [(2, "email", "email_taken")]
    with own_engine.connect() as conn:
        stored = conn.execute(select(User.email).where(User.username == "sso.one")).scalar_one()
    assert stored == "one@bank.cn"
    _, again = importing.run_import(own_engine, ADMIN, "users", first, "u1.csv")
    assert (again.inserted, again.updated) == (0, 0)
