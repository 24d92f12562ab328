"""Rebuild the corpus of malformed import files and ``expected.json``.

Run ``python tests/data/import_corpus/build.py`` after changing a case. Every file here
must be rejected with the named message code (at the named row and column, where given)
and leave the database unchanged; ``tests/unit/test_import_corpus.py`` checks that on
SQLite and on PostgreSQL against the test fixture portfolio (account C100001 exists and
has no contact named 无名氏; products DEP and LOAN exist; team EAST-1 exists).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent

REVENUE = "account,product,month,revenue\n"
ACCOUNTS = "code,name,industry,region,segment,tier,team,onboarded_on,status,churned_on\n"
HOLDINGS = "account,product,opened_on,closed_on\n"
INTERACTIONS = "account,occurred_on,channel,subject,contact\n"


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _zip_without_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    return out.getvalue()


GOOD_XLSX = _xlsx(
    [
        ["客户编号", "产品代码", "月份", "收入"],
        ["C100001", "DEP", "2025-01", 1000.5],
        ["C100001", "LOAN", "2025-01", 2000],
    ]
)

# (file name, entity, content, expected code, expected row or None, expected column or None)
CASES: list[tuple[str, str, bytes, str, int | None, str | None]] = [
    ("empty.csv", "revenue", b"", "empty", None, None),
    ("whitespace_only.csv", "revenue", b"  \r\n\r\n  ", "empty", None, None),
    ("header_only.csv", "revenue", REVENUE.encode(), "no_rows", None, None),
    (
        "png_renamed.csv",
        "accounts",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
        "binary",
        None,
        None,
    ),
    ("zip_renamed.xlsx", "accounts", _zip_without_workbook(), "xlsx_broken", None, None),
    ("truncated.xlsx", "revenue", GOOD_XLSX[: len(GOOD_XLSX) // 2], "xlsx_broken", None, None),
    (
        "excel_97.xls",
        "revenue",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512),
        "xls_old",
        None,
        None,
    ),
    (
        "text_as_xlsx.xlsx",
        "revenue",
        (REVENUE + "C100001,DEP,2025-01,5\n").encode(),
        "xlsx_broken",
        None,
        None,
    ),
    (
        "latin1.csv",
        "contacts",
        "account,name,buying_role\nC100001,Müller Café,user\n".encode("latin-1"),
        "encoding",
        None,
        None,
    ),
    (
        "missing_column.csv",
        "revenue",
        b"account,product,month\nC100001,DEP,2025-01\n",
        "missing_column",
        None,
        None,
    ),
    (
        "duplicate_header.csv",
        "revenue",
        b"account,product,month,revenue,Revenue\nC100001,DEP,2025-01,1,2\n",
        "duplicate_header",
        None,
        None,
    ),
    (
        "blank_header.csv",
        "revenue",
        b"account,,month,revenue\nC100001,DEP,2025-01,1\n",
        "blank_header",
        None,
        None,
    ),
    (
        "ragged_row.csv",
        "revenue",
        (REVENUE + "C100001,DEP,2025-01,1\nC100001,DEP,2025-02,1,9,9\n").encode(),
        "row_width",
        3,
        None,
    ),
    (
        "unclosed_quote.csv",
        "revenue",
        (REVENUE + 'C100001,DEP,"2025-01,1\n').encode(),
        "csv_broken",
        None,
        None,
    ),
    (
        "impossible_date.csv",
        "holdings",
        (HOLDINGS + "C100001,DEP,2024-02-30,\n").encode(),
        "not_date",
        2,
        "opened_on",
    ),
    (
        "bad_month.csv",
        "revenue",
        (REVENUE + "C100001,DEP,2025-13,10\n").encode(),
        "not_month",
        2,
        "month",
    ),
    (
        "future_date.csv",
        "interactions",
        (INTERACTIONS + "C100001,2099-01-05,visit,Review,\n").encode(),
        "date_too_late",
        2,
        "occurred_on",
    ),
    (
        "ancient_date.csv",
        "holdings",
        (HOLDINGS + "C100001,DEP,1899-12-31,\n").encode(),
        "date_too_early",
        2,
        "opened_on",
    ),
    (
        "negative_revenue.csv",
        "revenue",
        (REVENUE + "C100001,DEP,2025-01,-250\n").encode(),
        "out_of_range",
        2,
        "revenue",
    ),
    (
        "absurd_revenue.csv",
        "revenue",
        (REVENUE + 'C100001,DEP,2025-01,"9,000,000,000,000,000"\n').encode(),
        "out_of_range",
        2,
        "revenue",
    ),
    (
        "not_a_number.csv",
        "revenue",
        (REVENUE + "C100001,DEP,2025-01,12abc\n").encode(),
        "not_number",
        2,
        "revenue",
    ),
    (
        "european_decimal.csv",
        "revenue",
        (REVENUE + 'C100001,DEP,2025-01,"1.234,56"\n').encode(),
        "not_number",
        2,
        "revenue",
    ),
    (
        "unknown_account.csv",
        "revenue",
        (REVENUE + "C100001,DEP,2025-01,1\nX999999,DEP,2025-01,1\n").encode(),
        "unknown_accounts",
        3,
        "account",
    ),
    (
        "unknown_product.csv",
        "revenue",
        (REVENUE + "C100001,GOLD,2025-01,1\n").encode(),
        "unknown_products",
        2,
        "product",
    ),
    (
        "unknown_team.csv",
        "accounts",
        (
            ACCOUNTS + "N000001,新客户,technology,east,mid,value,NOPE-9,2020-01-01,active,\n"
        ).encode(),
        "unknown_teams",
        2,
        "team",
    ),
    (
        "unknown_tier.csv",
        "accounts",
        (
            ACCOUNTS + "N000001,新客户,technology,east,mid,platinum,EAST-1,2020-01-01,active,\n"
        ).encode(),
        "bad_choice",
        2,
        "tier",
    ),
    (
        "gbk_unknown_industry.csv",
        "accounts",
        (ACCOUNTS + "N000001,新客户,航天,east,mid,战略客群,EAST-1,2020-01-01,active,\n").encode(
            "gbk"
        ),
        "bad_choice",
        2,
        "industry",
    ),
    (
        "duplicate_keys.csv",
        "revenue",
        (
            REVENUE + "C100001,DEP,2025-01,1\nC100001,LOAN,2025-01,2\nC100001,DEP,2025年1月,3\n"
        ).encode(),
        "duplicate_key",
        4,
        None,
    ),
    (
        "formula_injection.csv",
        "contacts",
        b'account,name,buying_role\nC100001,"=HYPERLINK(""http://x.example"",""click"")",user\n',
        "formula",
        2,
        "name",
    ),
    (
        "formula_injection.xlsx",
        "interactions",
        _xlsx(
            [
                ["account", "occurred_on", "channel", "subject"],
                ["C100001", "2025-01-05", "visit", "@SUM(1+1)*cmd|' /C calc'!A0"],
            ]
        ),
        "formula",
        2,
        "subject",
    ),
    (
        "huge_cell.csv",
        "interactions",
        (INTERACTIONS + "C100001,2025-01-05,visit,Review," + "x" * 20_000 + "\n").encode(),
        "huge_cell",
        2,
        "contact",
    ),
    (
        "huge_field.csv",
        "interactions",
        (INTERACTIONS + 'C100001,2025-01-05,visit,"' + "y" * 300_000 + '",\n').encode(),
        "huge_field",
        None,
        None,
    ),
    (
        "name_too_long.csv",
        "contacts",
        ("account,name,buying_role\nC100001," + "张" * 130 + ",user\n").encode(),
        "too_long",
        2,
        "name",
    ),
    (
        "required_empty.csv",
        "revenue",
        (REVENUE + ",DEP,2025-01,1\n").encode(),
        "required",
        2,
        "account",
    ),
    (
        "csat_out_of_scale.csv",
        "survey_responses",
        b"account,survey,score,responded_on\nC100001,csat,6,2025-03-01\n",
        "score_range",
        2,
        "score",
    ),
    (
        "churned_without_date.csv",
        "accounts",
        (
            ACCOUNTS + "N000001,新客户,technology,east,mid,value,EAST-1,2020-01-01,churned,\n"
        ).encode(),
        "churned_needs_date",
        2,
        "churned_on",
    ),
    (
        "closed_before_opened.csv",
        "holdings",
        (HOLDINGS + "C100001,DEP,2024-05-01,2024-04-30\n").encode(),
        "before_start",
        2,
        "closed_on",
    ),
    (
        "manager_without_team.csv",
        "users",
        b"username,display_name,role,team\nnew_am,New Manager,account_manager,\n",
        "manager_needs_team",
        2,
        "team",
    ),
    (
        "done_without_date.csv",
        "interventions",
        b"reference,account,kind,title,status\nCRM-1,C100001,care_visit,Visit,done\n",
        "done_needs_date",
        2,
        "completed_on",
    ),
    (
        "not_a_boolean.csv",
        "users",
        b"username,display_name,role,team,active\nnew_exec,New Exec,executive,,maybe\n",
        "not_bool",
        2,
        "active",
    ),
    (
        "unknown_contact.csv",
        "interactions",
        (INTERACTIONS + "C100001,2025-01-05,visit,Review,无名氏\n").encode(),
        "unknown_contacts",
        2,
        "contact",
    ),
    (
        "xlsx_bad_date.xlsx",
        "holdings",
        _xlsx([["account", "product", "opened_on"], ["C100001", "DEP", "31/31/2024"]]),
        "not_date",
        2,
        "opened_on",
    ),
    (
        "email_twice.csv",
        "users",
        b"username,display_name,role,email\nnew_a,A,executive,Li.Na@bank.cn\nnew_b,B,executive,li.na@BANK.cn\n",
        "email_taken",
        3,
        "email",
    ),
    (
        "semicolon_unknown_account.csv",
        "revenue",
        b"account;product;month;revenue\nC1;DEP;2025-01;1\n",
        "unknown_accounts",
        2,
        "account",
    ),
]


def main() -> None:
    expected = {}
    for name, entity, content, code, row, column in CASES:
        (HERE / name).write_bytes(content)
        expected[name] = {"entity": entity, "code": code, "row": row, "column": column}
    (HERE / "expected.json").write_text(
        json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"{len(CASES)} malformed files written to {HERE}")


if __name__ == "__main__":
    main()
