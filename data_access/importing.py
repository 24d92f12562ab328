"""Validated, all-or-nothing imports of CSV and Excel files.

``check`` validates a whole file against the database and returns every problem by row
and column, writing nothing. ``apply`` writes a checked file in one transaction,
upserting by each entity's natural key, so importing the same file twice changes nothing.
``run_import`` does both (the command line and the admin page call it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, insert, select, update

from data_access import bulk, segments, stage_rollup, windows
from data_access.auth import NO_PASSWORD
from data_access.import_files import FileProblem, RawTable, read_table
from data_access.import_specs import (
    ENTITIES,
    INTERVENTION_REFERENCE_PREFIX,
    SCORE_RANGES,
    Entity,
    Field,
    auto_mapping,
    choice_lookup,
    normalise_header,
)
from data_access.schema import (
    Account,
    AccountMonthly,
    Base,
    Contact,
    Product,
    RevenueMonthly,
    Team,
    TierHistory,
    User,
)
from data_access.scope import Scope
from data_access.settings import fetch_tiering
from data_access.versioning import bump_data_version, record_audit
from data_access.writes import NotPermitted

Progress = Callable[[str, float], None]
MAX_PROBLEMS = 2000
EARLIEST = dt.date(1950, 1, 1)
FUTURE_YEARS = 5
CHUNK = 500
PRESETS_KEY = "import_presets"
FORMULA = re.compile(r"^(?:[=+@\t\r]|-[^\d\s.])")
NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?")
INTEGER = re.compile(r"[+-]?\d+(?:\.0+)?")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
TRUE = {"true", "yes", "y", "1", "是", "有效", "启用", "active", "t"}
FALSE = {"false", "no", "n", "0", "否", "无效", "停用", "inactive", "f"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: where (file row and column) and what (a message code)."""

    row: int | None
    column: str | None
    code: str
    value: str | None = None
    params: dict = field(default_factory=dict)


@dataclass
class Checked:
    """A validated file: the values to write (by database column) or the problems found."""

    entity: Entity
    mapping: dict[str, str]
    values: pd.DataFrame
    problems: list[Problem]
    n_problems: int
    rows: int
    encoding: str = ""
    kind: str = ""

    @property
    def ok(self) -> bool:
        return self.n_problems == 0


@dataclass(frozen=True)
class ImportResult:
    """What an applied import changed."""

    entity: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    data_version: int | None


class _Collector:
    def __init__(self, raw: RawTable | None) -> None:
        self.problems: list[Problem] = []
        self.count = 0
        self.bad = np.zeros(0 if raw is None else len(raw.frame), dtype=bool)
        self.lines = [] if raw is None else raw.line_numbers

    def file(self, code: str, column: str | None = None, **params: object) -> None:
        self.count += 1
        self.problems.append(Problem(None, column, code, None, params))

    def rows(self, mask: np.ndarray, column: str, code: str, values: pd.Series, **params) -> None:
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        self.bad[idx] = True
        self.count += len(idx)
        room = MAX_PROBLEMS - len(self.problems)
        for i in idx[: max(room, 0)]:
            value = values.iloc[i]
            shown = None if value is None else str(value)[:80]
            extra = {k: (v.iloc[i] if isinstance(v, pd.Series) else v) for k, v in params.items()}
            self.problems.append(Problem(self.lines[i], column, code, shown, extra))


def _fold(s: pd.Series) -> pd.Series:
    return s.map(lambda v: unicodedata.normalize("NFKC", v) if v else v)


def _parse_number(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    text = _fold(s).str.replace(r"[¥$€£\s\u00a0]|元|人民币|CNY|RMB", "", regex=True)
    negative = text.str.match(r"^\(.*\)$")
    text = text.str.replace(r"^\((.*)\)$", r"\1", regex=True)
    ok = text.str.fullmatch(NUMBER).fillna(False).to_numpy(dtype=bool)
    values = pd.to_numeric(text.where(ok).str.replace(",", "", regex=False), errors="coerce")
    values = values.where(~negative, -values)
    finite = np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    return values, ok & finite


def _parse_int(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    text = _fold(s)
    ok = text.str.fullmatch(INTEGER).fillna(False).to_numpy(dtype=bool)
    values = pd.to_numeric(text.where(ok), errors="coerce")
    return values, ok


def _parse_date(s: pd.Series, month: bool) -> tuple[pd.Series, np.ndarray]:
    text = _fold(s).str.strip()
    text = text.str.replace(r"[T\s]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$", "", regex=True)
    text = text.str.replace("年", "-").str.replace("月", "-").str.replace("日", "")
    text = text.str.replace(r"[/.]", "-", regex=True).str.rstrip("-")
    parts = text.str.extract(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?$")
    compact = text.str.extract(r"^(\d{4})(\d{2})(\d{2})?$")
    parts = parts.fillna(compact.where(parts[0].isna()))
    if not month:
        parts.loc[parts[2].isna(), 0] = None  # a date needs its day
    day = parts[2].fillna("1")
    stamp = pd.to_datetime(
        pd.DataFrame(
            {
                "year": pd.to_numeric(parts[0], errors="coerce"),
                "month": pd.to_numeric(parts[1], errors="coerce"),
                "day": pd.to_numeric(day, errors="coerce"),
            }
        ),
        errors="coerce",
    )
    ok = stamp.notna().to_numpy()
    if month:
        stamp = stamp.dt.to_period("M").dt.start_time
    values = pd.Series(
        [d.date() if pd.notna(d) else None for d in stamp], index=s.index, dtype=object
    )
    return values, ok


def _reference_maps(conn: Connection, entity: Entity) -> dict[str, dict[str, int]]:
    wanted = {f.ref for f in entity.fields if f.kind == "ref"}
    maps: dict[str, dict[str, int]] = {}
    if "accounts" in wanted:
        maps["accounts"] = dict(conn.execute(select(Account.code, Account.id)).all())
    if "products" in wanted:
        maps["products"] = dict(conn.execute(select(Product.code, Product.id)).all())
    if "teams" in wanted:
        maps["teams"] = dict(conn.execute(select(Team.code, Team.id)).all())
    if "users" in wanted:
        maps["users"] = dict(conn.execute(select(User.username, User.id)).all())
    if entity.name == "users":
        rows = conn.execute(select(User.email, User.username).where(User.email.is_not(None)))
        maps["emails"] = {email.lower(): username for email, username in rows}
    return maps


def _contact_ids(conn: Connection, account_ids: pd.Series, names: pd.Series) -> pd.Series:
    wanted = sorted(set(account_ids.dropna().astype(int)))
    found: dict[tuple[int, str], int] = {}
    for start in range(0, len(wanted), CHUNK):
        part = wanted[start : start + CHUNK]
        for cid, aid, name in conn.execute(
            select(Contact.id, Contact.account_id, Contact.name).where(Contact.account_id.in_(part))
        ):
            found.setdefault((aid, name), cid)
    return pd.Series(
        [
            found.get((int(a), n)) if pd.notna(a) and n else None
            for a, n in zip(account_ids, names, strict=True)
        ],
        index=names.index,
        dtype=object,
    )


def _check_field(
    f: Field,
    s: pd.Series,
    col: str,
    out: _Collector,
    today: dt.date,
    lookups: dict[str, dict[str, str]],
    refs: dict[str, dict[str, int]],
) -> pd.Series:
    empty = (s == "").to_numpy()
    if f.required:
        out.rows(empty, col, "required", s)
    present = ~empty
    if f.kind == "text":
        values = s.where(present, None)
        out.rows(
            present & (s.str.len() > f.max_len).to_numpy(), col, "too_long", s, limit=f.max_len
        )
        out.rows(present & s.str.contains(FORMULA).to_numpy(), col, "formula", s)
        if f.default is not None:
            values = values.fillna(f.default)
        return values
    if f.kind in ("int", "number"):
        values, ok = _parse_int(s) if f.kind == "int" else _parse_number(s)
        out.rows(present & ~ok, col, "not_integer" if f.kind == "int" else "not_number", s)
        inside = np.ones(len(s), dtype=bool)
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            if f.low is not None:
                inside &= ~(arr < f.low)
            if f.high is not None:
                inside &= ~(arr > f.high)
        out.rows(present & ok & ~inside, col, "out_of_range", s, low=f.low, high=f.high)
        values = values.astype(object).where(pd.notna(values), None)
        if f.kind == "int":
            values = values.map(lambda v: None if v is None else int(v))
        if f.default is not None:
            values = values.map(lambda v: f.default if v is None else v)
        return values
    if f.kind in ("date", "month"):
        values, ok = _parse_date(s, f.kind == "month")
        out.rows(present & ~ok, col, "not_month" if f.kind == "month" else "not_date", s)
        latest = today if f.past_only else today.replace(year=today.year + FUTURE_YEARS)
        too_early = values.map(lambda d: d is not None and d < EARLIEST).to_numpy(dtype=bool)
        too_late = values.map(lambda d: d is not None and d > latest).to_numpy(dtype=bool)
        out.rows(present & ok & too_early, col, "date_too_early", s, earliest=EARLIEST.isoformat())
        out.rows(present & ok & too_late, col, "date_too_late", s, latest=latest.isoformat())
        return values
    if f.kind == "bool":
        low = _fold(s).str.lower()
        values = low.map(lambda v: True if v in TRUE else False if v in FALSE else None)
        out.rows(present & values.isna().to_numpy(), col, "not_bool", s)
        return values.astype(object).where(present, f.default)
    if f.kind == "choice":
        lookup = lookups[f.name]
        values = s.map(lambda v: lookup.get(normalise_header(v)) if v else None)
        allowed = ", ".join(sorted(set(lookup.values())))
        out.rows(present & values.isna().to_numpy(), col, "bad_choice", s, allowed=allowed)
        return values.astype(object).where(present, f.default)
    if f.kind == "ref":
        if f.ref == "contacts":
            return s.where(present, None)  # resolved once the account is known
        known = refs[f.ref]
        values = s.map(known.get)
        missing = present & values.isna().to_numpy()
        if f.name == "parent":
            return s.where(present, None)  # may name an account further down the same file
        out.rows(missing, col, f"unknown_{f.ref}", s)
        return values.astype(object).where(present, None)
    raise ValueError(f"unknown field kind {f.kind!r}")


def _lookups(conn: Connection, entity: Entity) -> dict[str, dict[str, str]]:
    out = {}
    for f in entity.fields:
        if f.kind != "choice":
            continue
        extra = None
        if f.name == "tier":
            tiers = fetch_tiering(conn)[1].tiers
            extra = {}
            for t in tiers:
                extra.update({t.code: t.code, t.name_en: t.code, t.name_zh: t.code})
        out[f.name] = choice_lookup(f, extra)
    return out


def _check_emails(
    values: pd.DataFrame, owners: dict[str, str], column: str, shown: pd.Series, out: _Collector
) -> None:
    """E-mails (single sign-on) are stored in lower case and belong to one user each."""
    emails = values["email"].map(lambda e: e.strip().lower() if isinstance(e, str) else None)
    values["email"] = emails
    valid = emails.map(lambda e: e is None or bool(EMAIL.fullmatch(e))).to_numpy(dtype=bool)
    out.rows(~valid, column, "email_format", shown)
    first_user: dict[str, str] = {}
    taken = np.zeros(len(values), dtype=bool)
    for i, (email, user) in enumerate(zip(emails, values["username"], strict=True)):
        if email is None:
            continue
        owner = owners.get(email, first_user.setdefault(email, user))
        taken[i] = owner != user
    out.rows(valid & taken, column, "email_taken", shown)


def _cross_checks(
    entity: Entity, values: pd.DataFrame, raw: pd.DataFrame, mapping, out: _Collector, refs
) -> None:
    """Rules that involve more than one field of a row."""
    n = len(values)

    def column(name: str) -> str:
        return mapping.get(name, name)

    def shown(name: str) -> pd.Series:
        return raw[mapping[name]] if name in mapping else pd.Series([""] * n, index=values.index)

    def has(name: str) -> pd.Series:
        return values[name].notna() if name in values else pd.Series(False, index=values.index)

    def earlier(start: str, end: str) -> np.ndarray:
        if start not in values or end not in values:
            return np.zeros(n, dtype=bool)
        pairs = zip(values[start], values[end], strict=True)
        return np.array([a is not None and b is not None and b < a for a, b in pairs], dtype=bool)

    name = entity.name
    if name == "accounts":
        out.rows(
            earlier("onboarded_on", "churned_on"),
            column("churned_on"),
            "before_start",
            shown("churned_on"),
        )
        churned = (
            (values["status"] == "churned").to_numpy() if "status" in values else np.zeros(n, bool)
        )
        out.rows(
            churned & ~has("churned_on").to_numpy(),
            column("churned_on"),
            "churned_needs_date",
            shown("code"),
        )
        if "parent_id" in values:
            parent = values["parent_id"]
            known = set(refs["accounts"]) | set(values["code"])
            out.rows(
                parent.map(lambda p: p is not None and p not in known).to_numpy(dtype=bool),
                column("parent"),
                "unknown_accounts",
                shown("parent"),
            )
            out.rows(
                (parent == values["code"]).to_numpy(dtype=bool),
                column("parent"),
                "own_parent",
                shown("parent"),
            )
    if name == "users":
        managers = (values["role"] == "account_manager").to_numpy()
        out.rows(
            managers & ~has("team_id").to_numpy(),
            column("team"),
            "manager_needs_team",
            shown("username"),
        )
        if "email" in values:
            _check_emails(values, refs["emails"], column("email"), shown("email"), out)
    if name == "holdings":
        out.rows(
            earlier("opened_on", "closed_on"),
            column("closed_on"),
            "before_start",
            shown("closed_on"),
        )
    if name == "survey_responses":
        low = values["survey"].map(lambda v: SCORE_RANGES.get(v, (0, 10))[0])
        high = values["survey"].map(lambda v: SCORE_RANGES.get(v, (0, 10))[1])
        bad = [
            score is not None and not lo <= score <= hi
            for score, lo, hi in zip(values["score"], low, high, strict=True)
        ]
        out.rows(
            np.array(bad, dtype=bool),
            column("score"),
            "score_range",
            shown("score"),
            low=low,
            high=high,
            survey=values["survey"],
        )
    if name == "interventions":
        done = (values["status"] == "done").to_numpy() if "status" in values else np.zeros(n, bool)
        out.rows(
            done & ~has("completed_on").to_numpy(),
            column("completed_on"),
            "done_needs_date",
            shown("reference"),
        )
        answered = has("offer_response").to_numpy()
        out.rows(
            answered & ~has("offered_product_id").to_numpy(),
            column("offer_response"),
            "offer_needs_product",
            shown("offer_response"),
        )


def _duplicates(
    entity: Entity, values: pd.DataFrame, raw: RawTable, mapping, out: _Collector
) -> None:
    """Rows whose natural key repeats an earlier row of the same file."""
    key = list(entity.key)
    if not all(k in values for k in key):
        return
    keyed = _joined(values, key, "\x1f", _key_part)
    fields = [_field_for(entity, k) for k in key]
    shown = _joined(raw.frame, [mapping[f] for f in fields if f in mapping], " / ")
    seen: dict[str, int] = {}
    dup = np.zeros(len(values), dtype=bool)
    first = np.zeros(len(values), dtype=int)
    for i, (k, bad) in enumerate(zip(keyed, out.bad.copy(), strict=True)):
        if bad:
            continue
        if k in seen:
            dup[i] = True
            first[i] = raw.line_numbers[seen[k]]
        else:
            seen[k] = i
    columns = ", ".join(mapping[f] for f in fields if f in mapping)
    out.rows(dup, columns, "duplicate_key", shown, first=pd.Series(first, index=values.index))


def check(
    conn: Connection,
    entity_name: str,
    raw: RawTable,
    mapping: dict[str, str] | None = None,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> Checked:
    """Validate every row of ``raw`` as ``entity_name`` against the database; write nothing."""
    entity = ENTITIES[entity_name]
    today = today or dt.date.today()
    mapping = dict(mapping) if mapping else auto_mapping(entity, raw.columns)
    out = _Collector(raw)
    for fname, col in mapping.items():
        if col not in raw.columns:
            out.file("unmapped_column", col, field=fname)
    for f in entity.fields:
        if f.required and f.name not in mapping:
            out.file("missing_column", None, field=f.name)
    if out.count:
        return Checked(entity, mapping, pd.DataFrame(), out.problems, out.count, len(raw.frame))
    lookups = _lookups(conn, entity)
    refs = _reference_maps(conn, entity)
    values = pd.DataFrame(index=raw.frame.index)
    mapped = [f for f in entity.fields if f.name in mapping]
    for i, f in enumerate(mapped):
        col = mapping[f.name]
        values[f.column] = _check_field(f, raw.frame[col], col, out, today, lookups, refs)
        if progress:
            progress(f.name, 0.5 * (i + 1) / len(mapped))
    if "request_token" in values:
        prefix = INTERVENTION_REFERENCE_PREFIX
        values["request_token"] = prefix + values["request_token"].astype(str)
    if "contact_id" in values:
        names = values["contact_id"]
        ids = _contact_ids(conn, values["account_id"], names)
        unknown = (names.notna() & ids.isna() & values["account_id"].notna()).to_numpy(dtype=bool)
        out.rows(unknown, mapping["contact"], "unknown_contacts", names)
        values["contact_id"] = ids
    _cross_checks(entity, values, raw.frame, mapping, out, refs)
    _duplicates(entity, values, raw, mapping, out)
    problems = sorted(out.problems, key=lambda p: p.row or 0)
    return Checked(
        entity, mapping, values, problems, out.count, len(raw.frame), raw.encoding, raw.kind
    )


def _field_for(entity: Entity, column: str) -> str:
    for f in entity.fields:
        if f.column == column:
            return f.name
    return column


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Element-wise equality: two missing values are equal, numbers within a tiny tolerance."""
    out = np.empty(len(a), dtype=bool)
    for i, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        if _missing(x) or _missing(y):
            out[i] = _missing(x) and _missing(y)
        elif isinstance(x, float) or isinstance(y, float):
            out[i] = abs(float(x) - float(y)) <= 1e-9 * max(1.0, abs(float(x)), abs(float(y)))
        else:
            out[i] = x == y
    return out


def _joined(frame: pd.DataFrame, columns: list[str], sep: str, norm=str) -> pd.Series:
    """Row-wise text join of ``columns`` (much faster than ``DataFrame.agg``)."""
    parts = [[norm(v) for v in frame[c].tolist()] for c in columns]
    return pd.Series(
        [sep.join(p) for p in zip(*parts, strict=True)], index=frame.index, dtype=object
    )


def _existing(conn: Connection, table, columns: list[str], values: pd.DataFrame) -> pd.DataFrame:
    cols = [table.c[c] for c in columns]
    if "account_id" in table.c and "account_id" in values:
        ids = sorted(set(values["account_id"].dropna().astype(int)))
        parts = []
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            rows = conn.execute(select(*cols).where(table.c.account_id.in_(chunk))).all()
            parts.append(pd.DataFrame(rows, columns=columns, dtype=object))
        return (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame(columns=columns, dtype=object)
        )
    rows = conn.execute(select(*cols)).all()
    return pd.DataFrame(rows, columns=columns, dtype=object)


def _key_part(v: object) -> str:
    if _missing(v):
        return "\x00"
    if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
        return repr(float(v))
    return str(v)


def _key_text(frame: pd.DataFrame, key: list[str]) -> pd.Series:
    if frame.empty:
        return pd.Series([], dtype=object)
    return _joined(frame, key, "|", _key_part)


def _jsonable(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _upsert(
    conn: Connection,
    entity: Entity,
    values: pd.DataFrame,
    scope_user: int | None,
    extra_insert: dict,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[dict]]:
    """Insert new rows and update changed ones.

    Returns the inserted rows, the updated rows (new values), the same rows as they were
    before, and up to 100 changes described field by field for the audit trail.
    """
    table = Base.metadata.tables[entity.table]
    key = list(entity.key)
    # An optional key field the file does not have (a survey answer's contact) is empty.
    values = values.assign(**{c: None for c in key if c not in values.columns})
    value_cols = [c for c in values.columns if c not in key and c in table.c]
    has_id = "id" in table.c and key != ["id"]
    versioned = "version" in table.c
    fetch = key + value_cols + (["id"] if has_id else []) + (["version"] if versioned else [])
    existing = _existing(conn, table, fetch, values)
    incoming = values.reset_index(drop=True)
    in_key = _key_text(incoming, key)
    ex_key = _key_text(existing, key)
    position = (
        pd.Series(range(len(existing)), index=ex_key.to_numpy())
        if len(existing)
        else pd.Series(dtype=int)
    )
    matched = in_key.map(position) if len(existing) else pd.Series([np.nan] * len(incoming))
    is_new = matched.isna().to_numpy()
    new_rows = incoming[is_new]
    old = incoming[~is_new].reset_index(drop=True)
    before = existing.iloc[matched[~is_new].astype(int).to_numpy()].reset_index(drop=True)
    changed = np.zeros(len(old), dtype=bool)
    for c in value_cols:
        changed |= ~_same(old[c], before[c])
    upd = old[changed].reset_index(drop=True)
    prev = before[changed].reset_index(drop=True)
    changes = []
    for i in range(min(len(upd), 100)):
        diff = {
            c: [_jsonable(prev.at[i, c]), _jsonable(upd.at[i, c])]
            for c in value_cols
            if not _same(pd.Series([prev.at[i, c]]), pd.Series([upd.at[i, c]]))[0]
        }
        changes.append({"key": [_jsonable(upd.at[i, k]) for k in key], "changed": diff})
    if len(new_rows):
        frame = new_rows.copy()
        for col, default in extra_insert.items():
            if col not in frame:
                frame[col] = default() if callable(default) else default
        for f in entity.fields:
            if f.column not in frame and f.default is not None:
                frame[f.column] = f.default
        bulk.insert_frame(conn, table, frame)
    if len(upd):
        params = []
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        for i in range(len(upd)):
            row = {f"v_{c}": _jsonable_db(upd.at[i, c]) for c in value_cols}
            if has_id:
                row["k_id"] = int(prev.at[i, "id"])
            else:
                row.update({f"k_{k}": _jsonable_db(upd.at[i, k]) for k in key})
            if versioned:
                row["v_version"] = int(prev.at[i, "version"] or 0) + 1
            if "updated_at" in table.c:
                row["v_updated_at"] = now
                row["v_updated_by"] = scope_user
            params.append(row)
        sets = {c: bindparam(f"v_{c}") for c in value_cols}
        if versioned:
            sets["version"] = bindparam("v_version")
        if "updated_at" in table.c:
            sets["updated_at"] = bindparam("v_updated_at")
            sets["updated_by"] = bindparam("v_updated_by")
        where = (
            table.c.id == bindparam("k_id")
            if has_id
            else and_(*(table.c[k] == bindparam(f"k_{k}") for k in key))
        )
        stmt = update(table).where(where).values(sets)
        conn.execute(stmt, params)
    return new_rows, upd, prev, changes


def _jsonable_db(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _refresh_rollup(conn: Connection, values: pd.DataFrame) -> None:
    """Recompute ``account_monthly`` (and the 12-month windows read from it) for the accounts
    and months an import of revenue touched."""
    accounts = sorted(set(values["account_id"].astype(int)))
    first, last = min(values["month"]), max(values["month"])
    previous_last = conn.execute(select(func.max(AccountMonthly.month))).scalar()
    for start in range(0, len(accounts), CHUNK):
        part = accounts[start : start + CHUNK]
        conn.execute(
            delete(AccountMonthly).where(
                AccountMonthly.account_id.in_(part), AccountMonthly.month.between(first, last)
            )
        )
        conn.execute(
            insert(AccountMonthly).from_select(
                ["account_id", "month", "revenue", "products_held"],
                select(
                    RevenueMonthly.account_id,
                    RevenueMonthly.month,
                    func.sum(RevenueMonthly.revenue),
                    func.count(func.distinct(RevenueMonthly.product_id)),
                )
                .where(
                    RevenueMonthly.account_id.in_(part), RevenueMonthly.month.between(first, last)
                )
                .group_by(RevenueMonthly.account_id, RevenueMonthly.month),
            )
        )
    windows.after_rollup_change(conn, accounts, first, previous_last)


def _refresh_segments(conn: Connection, entity: str, changed: pd.DataFrame) -> None:
    """Rebuild the segment rollup where an import changed what it sums: the months of
    imported revenue or survey answers, everything when accounts changed (an account's
    tier, region, industry or team may have moved)."""
    if changed.empty:
        return
    if entity == "accounts":
        segments.rebuild(conn)
        stage_rollup.rebuild(conn)
    elif entity == "lifecycle_events":
        stage_rollup.rebuild(conn)
    elif entity == "revenue":
        segments.rebuild(conn, min(changed["month"]), max(changed["month"]), ("revenue",))
        stage_rollup.rebuild_if_months_changed(conn)
    elif entity == "survey_responses":
        days = pd.to_datetime(changed["responded_on"])
        first = days.min().date().replace(day=1)
        segments.rebuild(conn, first, days.max().date().replace(day=1), segments.SURVEYS)


def _link_parents(conn: Connection, values: pd.DataFrame) -> set[str]:
    """Point imported accounts at their parents (which may be new in the same file).

    Returns the codes of the accounts whose parent changed.
    """
    codes = dict(conn.execute(select(Account.code, Account.id)).all())
    current = dict(conn.execute(select(Account.code, Account.parent_id)).all())
    params = []
    for code, parent in zip(values["code"], values["parent_id"], strict=True):
        wanted = codes.get(parent) if parent else None
        if current.get(code) != wanted:
            params.append({"k_code": code, "v_parent": wanted})
    if params:
        conn.execute(
            update(Account.__table__)
            .where(Account.code == bindparam("k_code"))
            .values(parent_id=bindparam("v_parent")),
            params,
        )
    return {p["k_code"] for p in params}


def _tier_history(
    conn: Connection,
    inserted: pd.DataFrame,
    updated: pd.DataFrame,
    before: pd.DataFrame,
    reason: str,
) -> None:
    """Tier history rows for new accounts and for accounts whose tier the import changed."""
    today = dt.date.today()
    ids = dict(conn.execute(select(Account.code, Account.id)).all())
    moves = [
        (code, tier, None) for code, tier in zip(inserted["code"], inserted["tier"], strict=True)
    ]
    moves += [
        (code, tier, prev)
        for code, tier, prev in zip(updated["code"], updated["tier"], before["tier"], strict=True)
        if tier != prev
    ]
    rows = [
        {"account_id": ids[c], "tier": t, "previous_tier": p, "changed_on": today, "reason": reason}
        for c, t, p in moves
    ]
    if rows:
        conn.execute(insert(TierHistory), rows)


def apply(
    conn: Connection,
    scope: Scope,
    checked: Checked,
    file_name: str,
    digest: str,
    progress: Progress | None = None,
) -> ImportResult:
    """Write a checked file inside the caller's transaction (admins only)."""
    if scope.role != "admin":
        raise NotPermitted("only admins import data")
    if not checked.ok:
        raise ValueError("a file with problems cannot be applied")
    entity = checked.entity
    values = checked.values.copy()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    extra: dict = {}
    parents = None
    if entity.name == "accounts" and "parent_id" in values:
        parents = values[["code", "parent_id"]].copy()
        values = values.drop(columns=["parent_id"])
    if entity.name == "users":
        extra = {"password_hash": NO_PASSWORD, "created_at": now}
    if entity.name == "interventions":
        extra = {"created_at": now, "created_by": scope.user_id, "trigger": "manual", "version": 1}
    if entity.name == "contacts":
        extra = {"version": 1}
    if progress:
        progress("write", 0.6)
    inserted, updated, before, changes = _upsert(conn, entity, values, scope.user_id, extra)
    n_updated = len(updated)
    if parents is not None:
        relinked = _link_parents(conn, parents) - set(inserted["code"])
        n_updated = len(set(updated["code"]) | relinked)
    if entity.name == "accounts" and "tier" in values:
        _tier_history(conn, inserted, updated, before, f"import {file_name}"[:200])
    if entity.name == "revenue" and (len(inserted) or len(updated)):
        if progress:
            progress("rollup", 0.85)
        _refresh_rollup(conn, pd.concat([inserted, updated], ignore_index=True))
    _refresh_segments(conn, entity.name, pd.concat([inserted, updated], ignore_index=True))
    version = None
    if len(inserted) or n_updated:
        record_audit(
            conn,
            user_id=scope.user_id,
            action="import",
            entity=entity.name,
            entity_id=digest[:16],
            after={
                "file": file_name,
                "sha256": digest,
                "rows": checked.rows,
                "inserted": len(inserted),
                "updated": n_updated,
                "mapping": checked.mapping,
                "changes": changes,
            },
        )
        version = bump_data_version(conn)
    if progress:
        progress("done", 1.0)
    return ImportResult(
        entity.name,
        checked.rows,
        len(inserted),
        n_updated,
        checked.rows - len(inserted) - n_updated,
        version,
    )


def run_import(
    engine: Engine,
    scope: Scope,
    entity_name: str,
    data: bytes,
    file_name: str,
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
    max_bytes: int | None = None,
    progress: Progress | None = None,
) -> tuple[Checked, ImportResult | None]:
    """Read, check and (unless there are problems or ``dry_run``) write one file.

    Validation and writing happen in one transaction: a file with any problem writes
    nothing, and a failure while writing rolls everything back.
    """
    if scope.role != "admin":
        raise NotPermitted("only admins import data")
    entity = ENTITIES[entity_name]
    try:
        raw = read_table(data, file_name, **({"max_bytes": max_bytes} if max_bytes else {}))
    except FileProblem as exc:
        problem = Problem(
            exc.params.get("row"), exc.params.get("column"), exc.code, None, exc.params
        )
        return Checked(entity, mapping or {}, pd.DataFrame(), [problem], 1, 0), None
    if progress:
        progress("read", 0.05)
    digest = hashlib.sha256(data).hexdigest()
    with engine.begin() as conn:
        checked = check(conn, entity_name, raw, mapping, progress=progress)
        if not checked.ok or dry_run:
            return checked, None
        result = apply(conn, scope, checked, file_name, digest, progress)
    return checked, result


def _shown(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return value


def describe(problem: Problem, messages: Mapping[str, str]) -> str:
    """The problem as a sentence, from a message catalogue (``import.error.<code>``)."""
    template = messages.get(f"import.error.{problem.code}", problem.code)
    try:
        return template.format(**{k: _shown(v) for k, v in problem.params.items()})
    except (KeyError, IndexError):
        return template


def problems_frame(problems: list[Problem], describe: Callable[[Problem], str]) -> pd.DataFrame:
    """The error report: one line per problem with row, column, value and message."""
    return pd.DataFrame(
        [
            {"row": p.row, "column": p.column or "", "value": p.value or "", "message": describe(p)}
            for p in problems
        ],
        columns=["row", "column", "value", "message"],
    )


def fetch_presets(conn: Connection) -> dict[str, dict[str, dict[str, str]]]:
    """Saved column mappings: entity → preset name → {field: file column}."""
    from data_access.settings import _latest

    return _latest(conn, PRESETS_KEY)[1] or {}


def record_preset(
    conn: Connection, scope: Scope, entity: str, name: str, mapping: dict[str, str]
) -> int:
    """Save a column mapping under ``name`` (versioned and audited like every setting)."""
    from data_access.settings import _save

    current = fetch_presets(conn)
    problems = []
    if not name.strip() or len(name) > 60:
        problems.append(("name", "required" if not name.strip() else "too_long"))
    if entity not in ENTITIES:
        problems.append(("entity", "invalid_choice"))
    new = {k: dict(v) for k, v in current.items()}
    new.setdefault(entity, {})[name.strip()] = dict(mapping)
    return _save(conn, scope, PRESETS_KEY, new, problems, current)


__all__ = [
    "ENTITIES",
    "Checked",
    "FileProblem",
    "ImportResult",
    "Problem",
    "apply",
    "check",
    "describe",
    "fetch_presets",
    "problems_frame",
    "record_preset",
    "run_import",
]
