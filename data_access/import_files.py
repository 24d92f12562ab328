"""Reading an uploaded file into a table of text cells: CSV in any common encoding, or xlsx.

Nothing here knows about entities; it answers "what rows and columns does this file hold?"
and refuses files it cannot read with a :class:`FileProblem` whose ``code`` names a
translated message (``import.error.<code>``).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field

import pandas as pd

MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 1_000_000
MAX_CELL = 10_000
DELIMITERS = ",;\t|"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"


class FileProblem(ValueError):
    """The file as a whole cannot be read; nothing was written."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class RawTable:
    """Every cell as stripped text; ``rows[i]`` is file line/row ``first_row + i``."""

    columns: list[str]
    frame: pd.DataFrame
    encoding: str
    kind: str
    line_numbers: list[int] = field(default_factory=list)


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise FileProblem("encoding") from exc
    if b"\x00" in data[:8192]:
        raise FileProblem("binary")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding, errors="strict"), encoding
        except UnicodeDecodeError:
            continue
    raise FileProblem("encoding")


def _sniff(sample: str) -> str:
    first = sample.split("\n", 1)[0]
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


def _header(cells: list[str]) -> list[str]:
    names = [c.strip().lstrip("\ufeff") for c in cells]
    while names and not names[-1]:
        names.pop()
    for i, name in enumerate(names):
        if not name:
            raise FileProblem("blank_header", column=i + 1)
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            raise FileProblem("duplicate_header", column=name)
        seen.add(name.lower())
    return names


def _check_cells(rows: list[list[str]], lines: list[int], columns: list[str]) -> None:
    width = len(columns)
    for cells, line in zip(rows, lines, strict=True):
        extra = cells[width:]
        if any(c.strip() for c in extra):
            raise FileProblem("row_width", row=line, found=len(cells), expected=width)
        for name, cell in zip(columns, cells, strict=False):
            if len(cell) > MAX_CELL:
                raise FileProblem("huge_cell", row=line, column=name, limit=MAX_CELL)


def _table(rows: list[list[str]], lines: list[int], encoding: str, kind: str) -> RawTable:
    if not rows:
        raise FileProblem("empty")
    columns = _header(rows[0])
    if not columns:
        raise FileProblem("empty")
    body, body_lines = [], []
    for cells, line in zip(rows[1:], lines[1:], strict=True):
        if any(c.strip() for c in cells):
            body.append(cells)
            body_lines.append(line)
    if not body:
        raise FileProblem("no_rows")
    if len(body) > MAX_ROWS:
        raise FileProblem("too_many_rows", limit=MAX_ROWS)
    _check_cells(body, body_lines, columns)
    width = len(columns)
    padded = [(c + [""] * width)[:width] for c in body]
    frame = pd.DataFrame(padded, columns=columns, dtype=object)
    frame = frame.apply(lambda s: s.str.strip())
    return RawTable(columns, frame, encoding, kind, body_lines)


def read_csv(data: bytes) -> RawTable:
    """Rows of a delimited text file; encoding and delimiter are detected."""
    text, encoding = _decode(data)
    if not text.strip():
        raise FileProblem("empty")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff(text[:65536]), strict=True)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for cells in reader:
            rows.append(cells)
            lines.append(reader.line_num)
            if len(rows) > MAX_ROWS + 1:
                raise FileProblem("too_many_rows", limit=MAX_ROWS)
    except csv.Error as exc:
        if "field larger" in str(exc):
            raise FileProblem("huge_field", row=reader.line_num + 1) from exc
        raise FileProblem("csv_broken", row=reader.line_num + 1) from exc
    return _table(rows, lines, encoding, "csv")


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def read_xlsx(data: bytes) -> RawTable:
    """Rows of the first worksheet of an Excel workbook (values, not formulas)."""
    from openpyxl import load_workbook  # imported here: only imports of xlsx files need it

    if not data.startswith(ZIP_MAGIC):
        raise FileProblem("xlsx_broken")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        raise FileProblem("xlsx_broken") from exc
    try:
        sheet = book.worksheets[0]
        rows: list[list[str]] = []
        lines: list[int] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            rows.append([_cell_text(v) for v in values])
            lines.append(number)
            if len(rows) > MAX_ROWS + 1:
                raise FileProblem("too_many_rows", limit=MAX_ROWS)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        raise FileProblem("xlsx_broken") from exc
    finally:
        book.close()
    return _table(rows, lines, "xlsx", "xlsx")


def read_table(data: bytes, filename: str, max_bytes: int = MAX_BYTES) -> RawTable:
    """Read an uploaded file by its content (the name only breaks ties)."""
    if len(data) > max_bytes:
        raise FileProblem(
            "too_large", size_mb=round(len(data) / 1048576, 1), limit_mb=max_bytes // 1048576
        )
    if not data.strip():
        raise FileProblem("empty")
    name = filename.lower()
    if data.startswith(OLE_MAGIC):
        raise FileProblem("xls_old")
    if data.startswith(ZIP_MAGIC) or name.endswith((".xlsx", ".xlsm")):
        return read_xlsx(data)
    return read_csv(data)
