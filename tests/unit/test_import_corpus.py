"""Unit: every malformed file of the corpus is rejected precisely and writes nothing.

The corpus lives in ``tests/data/import_corpus`` (rebuilt by its ``build.py``); each file
names the message code, row and column its rejection must carry. Runs on SQLite (where the
database file itself is compared byte for byte) and on PostgreSQL (row counts and a
checksum of every table).
"""

import hashlib
import json
from pathlib import Path

from sqlalchemy import Engine

from data_access.import_specs import error_messages
from data_access.importing import describe, run_import
from data_access.scope import Scope
from tests.conftest import table_checksums

CORPUS = Path(__file__).resolve().parents[1] / "data" / "import_corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
ADMIN = Scope(user_id=3, role="admin")


def _file_digest(engine: Engine) -> str | None:
    if engine.dialect.name != "sqlite":
        return None
    return hashlib.sha256(Path(engine.url.database).read_bytes()).hexdigest()


def test_the_corpus_is_large_enough() -> None:
    assert len(EXPECTED) >= 30
    assert {p.name for p in CORPUS.iterdir()} >= set(EXPECTED)


def test_every_malformed_file_is_rejected_precisely_and_writes_nothing(
    own_engine: Engine,
) -> None:
    before = table_checksums(own_engine)
    file_before = _file_digest(own_engine)
    messages = {lang: error_messages(lang) for lang in ("en", "zh")}
    wrong = []
    for name, case in EXPECTED.items():
        checked, result = run_import(
            own_engine, ADMIN, case["entity"], (CORPUS / name).read_bytes(), name
        )
        hits = [
            p
            for p in checked.problems
            if p.code == case["code"]
            and (case["row"] is None or p.row == case["row"])
            and (case["column"] is None or p.column == case["column"])
        ]
        if result is not None or checked.ok or not hits:
            wrong.append((name, [(p.row, p.column, p.code) for p in checked.problems[:3]]))
            continue
        for lang in ("en", "zh"):
            text = describe(hits[0], messages[lang])
            assert not text.startswith(case["code"]), (name, text)
            assert "{" not in text, (name, text)
    assert wrong == []
    assert table_checksums(own_engine) == before
    assert _file_digest(own_engine) == file_before
