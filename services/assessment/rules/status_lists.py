"""Status lists from other bureaus (deaths, moves out of the city, social-assistance lists): reading
a file into typed rows with their line numbers, the required-column check, row validation, and
the classification of each row against the matched elder's current facts. Pure: the caller reads
the bytes, finds the elders, and passes "today".

Outcomes of a row (docs/decisions.md D-status-lists):
- `apply`: the elder's record would change (the change says which field, from, to, and since when);
- `unchanged`: the record already says what the row says (a re-run, or a repeated line);
- `name_mismatch`: the ID number matched but the name on the list is not the record's: not applied;
- `unknown`: no record has this ID number;
- `conflicting`: the list contradicts itself (one ID, two dates) or the record (already dead on
  another date): an officer decides, nothing is applied;
- `invalid`: the row itself is wrong (check digit, unknown status, a date in the future …).
"""
from __future__ import annotations

import csv
import io
import json
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from services.assessment.rules.hardship import EconomicStatus
from services.assessment.rules.idcard import mask_id_card, validate_id_card
from shared.errors import DomainError, FieldError, Invalid

MAX_ROWS = 200_000  # a city of 5 million has about a million elders; a monthly list is far smaller


class Kind(StrEnum):
    DEATHS = "deaths"
    MOVES = "moves"
    ASSISTANCE = "assistance"

    @property
    def zh_name(self) -> str:
        return {"deaths": "死亡名单", "moves": "户籍迁出名单", "assistance": "社会救助名单"}[self.value]


class Outcome(StrEnum):
    APPLY = "apply"
    UNCHANGED = "unchanged"
    NAME_MISMATCH = "name_mismatch"
    UNKNOWN = "unknown"
    CONFLICTING = "conflicting"
    INVALID = "invalid"


OUTCOMES = tuple(o.value for o in Outcome)

# field → the headers a file may use for it (the first is the one error messages name)
HEADERS: dict[str, tuple[str, ...]] = {
    "id_card": ("身份证号", "身份证号码", "公民身份号码", "证件号码", "id_card"),
    "name": ("姓名", "name"),
    "status": ("救助类别", "救助类型", "status"),
}
DATE_HEADERS: dict[Kind, tuple[str, ...]] = {
    Kind.DEATHS: ("死亡日期", "date"),
    Kind.MOVES: ("迁出日期", "date"),
    Kind.ASSISTANCE: ("生效日期", "valid_from"),
}
REQUIRED: dict[Kind, tuple[str, ...]] = {
    Kind.DEATHS: ("id_card", "name", "date"),
    Kind.MOVES: ("id_card", "date"),
    Kind.ASSISTANCE: ("id_card", "status", "date"),
}
OPTIONAL: dict[Kind, tuple[str, ...]] = {Kind.DEATHS: (), Kind.MOVES: ("name",), Kind.ASSISTANCE: ("name",)}

# the assistance list's words → the record's economic_status codes (rules/hardship.py)
ASSISTANCE_STATUSES: dict[str, str] = {
    "特困": EconomicStatus.TEKUN, "特困供养": EconomicStatus.TEKUN, "特困人员": EconomicStatus.TEKUN,
    "低保": EconomicStatus.DIBAO, "低保边缘": EconomicStatus.DIBAO_EDGE, "低边": EconomicStatus.DIBAO_EDGE,
    "无": EconomicStatus.NONE, "none": EconomicStatus.NONE,
    "tekun": EconomicStatus.TEKUN, "dibao": EconomicStatus.DIBAO, "dibao_edge": EconomicStatus.DIBAO_EDGE,
}
# the categories an assistance list speaks for; 支出型困难 is decided elsewhere, so "无" leaves it
LISTED_STATUSES = frozenset({EconomicStatus.TEKUN, EconomicStatus.DIBAO, EconomicStatus.DIBAO_EDGE})

TARGET_STATUS = {Kind.DEATHS: "deceased", Kind.MOVES: "moved_away"}
STATUS_NAMES = {"active": "在册", "deceased": "已故", "moved_away": "已迁出"}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")


def header_name(kind: Kind, field_name: str) -> str:
    """The Chinese header of a field, as a file should write it."""
    return DATE_HEADERS[kind][0] if field_name == "date" else HEADERS[field_name][0]


def _aliases(kind: Kind) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in (*REQUIRED[kind], *OPTIONAL[kind]):
        for alias in (DATE_HEADERS[kind] if name == "date" else HEADERS[name]):
            out[_normal_header(alias)] = name
    return out


def _normal_header(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "").replace("*", "")


@dataclass(frozen=True)
class RawRow:
    line: int  # the file's line (CSV), sheet row (XLSX) or 1-based position (JSON)
    values: dict[str, str]  # field → text as read


@dataclass(frozen=True)
class ListRow:
    """A row read and checked. `error` set → invalid; otherwise id_card, date (and status) hold."""

    line: int
    id_card: str | None  # normalised when valid, the text as read otherwise
    name: str | None
    date: date | None  # of death, of the move, or valid_from
    status: str | None  # assistance: the economic_status code
    error: str | None = None

    @property
    def masked_id(self) -> str | None:
        return mask_id_card(self.id_card) if self.id_card else None


@dataclass(frozen=True)
class ElderFacts:
    """What the classification looks at in a matched record."""

    elder_id: Any
    name: str
    status: str
    status_date: date | None
    economic_status: str


@dataclass(frozen=True)
class Change:
    field: str  # status or economic_status
    from_value: str | None
    to_value: str
    effective_date: date

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "from": self.from_value, "to": self.to_value,
                "effective_date": self.effective_date.isoformat()}


@dataclass(frozen=True)
class Classified:
    outcome: Outcome
    reason: str | None = None
    change: Change | None = None


@dataclass
class ParsedList:
    kind: Kind
    rows: list[ListRow] = field(default_factory=list)


# ---- reading ------------------------------------------------------------------------------------


def _missing_columns(kind: Kind, present: set[str]) -> Invalid:
    missing = [f for f in REQUIRED[kind] if f not in present]
    names = "、".join(header_name(kind, f) for f in missing)
    return Invalid(f"这不是一份{kind.zh_name}：缺少列 {names}", reason="missing_columns",
                   missing_columns=[header_name(kind, f) for f in missing],
                   errors=[FieldError(f"file.{header_name(kind, f)}", f"缺少“{header_name(kind, f)}”列") for f in missing])


def map_headers(kind: Kind, headers: list[Any]) -> dict[int, str]:
    """Column index → field, or `Invalid` (422) naming every required column that is missing."""
    aliases = _aliases(kind)
    mapping: dict[int, str] = {}
    for index, header in enumerate(headers):
        name = aliases.get(_normal_header(str(header))) if header is not None else None
        if name and name not in mapping.values():
            mapping[index] = name
    if any(f not in mapping.values() for f in REQUIRED[kind]):
        raise _missing_columns(kind, set(mapping.values()))
    return mapping


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number cell; an 18-digit ID kept as a number has lost digits already
    return str(value).strip()


def _too_many(count: int) -> None:
    if count > MAX_ROWS:
        raise Invalid(f"名单最多 {MAX_ROWS} 行，请拆分后上传", errors=[FieldError("file", f"超过 {MAX_ROWS} 行")])


def _rows_from_table(kind: Kind, table: list[tuple[int, list[Any]]]) -> list[RawRow]:
    """`table`: (line, cells) with the header first."""
    if not table:
        raise _missing_columns(kind, set())
    mapping = map_headers(kind, table[0][1])
    rows = []
    for line, cells in table[1:]:
        values = {name: _text(cells[i]) if i < len(cells) else "" for i, name in mapping.items()}
        if any(values.values()):  # blank lines are not rows
            rows.append(RawRow(line, values))
    _too_many(len(rows))
    return rows


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK by default
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Invalid("文件编码无法识别，请另存为 UTF-8 编码的 CSV", errors=[FieldError("file", "无法识别的编码")])


def read_csv(kind: Kind, data: bytes) -> list[RawRow]:
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    table: list[tuple[int, list[Any]]] = []
    try:
        for cells in reader:
            table.append((reader.line_num, cells))
            _too_many(len(table) - 1)
    except csv.Error as exc:
        raise Invalid("CSV 文件格式有误", errors=[FieldError("file", f"第 {reader.line_num} 行：{exc}")]) from None
    return _rows_from_table(kind, table)


def read_xlsx(kind: Kind, data: bytes) -> list[RawRow]:
    """The first sheet; its header is the first non-empty row."""
    from openpyxl import load_workbook  # imported here: the CSV and JSON paths do not need it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise Invalid("无法读取 Excel 文件，请上传 .xlsx 格式", errors=[FieldError("file", "不是有效的 .xlsx 文件")]) from None
    try:
        sheet = book.worksheets[0]
        table: list[tuple[int, list[Any]]] = []
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            if not table and not any(c not in (None, "") for c in cells):
                continue
            table.append((number, list(cells)))
            _too_many(len(table) - 1)
    finally:
        book.close()
    return _rows_from_table(kind, table)


def read_json_rows(kind: Kind, rows: list[dict[str, Any]]) -> list[RawRow]:
    """Rows posted by another system with English keys; `line` is the 1-based position."""
    _too_many(len(rows))
    present = set().union(*(r.keys() for r in rows)) if rows else set()
    keys = {f: ("valid_from" if kind is Kind.ASSISTANCE else "date") if f == "date" else f
            for f in (*REQUIRED[kind], *OPTIONAL[kind])}
    if rows and any(keys[f] not in present for f in REQUIRED[kind]):
        missing = [f for f in REQUIRED[kind] if keys[f] not in present]
        raise Invalid(f"这不是一份{kind.zh_name}：缺少字段 {'、'.join(keys[f] for f in missing)}",
                      reason="missing_columns", missing_columns=[keys[f] for f in missing],
                      errors=[FieldError(f"rows.{keys[f]}", f"缺少“{header_name(kind, f)}”（{keys[f]}）") for f in missing])
    return [RawRow(i, {f: _text(r.get(k)) for f, k in keys.items()}) for i, r in enumerate(rows, start=1)]


def read_file(kind: Kind, filename: str, data: bytes) -> list[RawRow]:
    name = filename.lower()
    if name.endswith(".xlsx"):
        return read_xlsx(kind, data)
    if name.endswith(".csv") or name.endswith(".txt"):
        return read_csv(kind, data)
    if name.endswith(".json"):
        try:
            body = json.loads(_decode(data))
        except ValueError:
            raise Invalid("JSON 文件格式有误", errors=[FieldError("file", "不是有效的 JSON")]) from None
        rows = body.get("rows") if isinstance(body, dict) else body
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise Invalid("JSON 文件应为行的列表", errors=[FieldError("file", "缺少 rows 列表")])
        return read_json_rows(kind, rows)
    raise Invalid("请上传 .csv 或 .xlsx 文件", errors=[FieldError("file", "只支持 .csv 和 .xlsx")])


# ---- checking the rows --------------------------------------------------------------------------


def parse_date(text: str) -> date | None:
    text = text.strip()
    if len(text) == 10 and text[4] == "-":
        try:
            return date.fromisoformat(text)  # the common case, many times faster than strptime
        except ValueError:
            return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def latest_date(kind: Kind, today: date) -> date:
    """A death or a move is reported after it happened: today at the latest. An assistance list
    may announce next month's status: the first day of next month at the latest, because the
    monthly issuance reads the status as it is when it runs (docs/decisions.md)."""
    if kind is Kind.ASSISTANCE:
        return (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return today


def check_row(kind: Kind, raw: RawRow, *, today: date) -> ListRow:
    values = raw.values
    text_id = values.get("id_card", "").strip()
    name = values.get("name", "").strip() or None
    when = parse_date(values.get("date", ""))
    status = None
    error = None
    try:
        id_card = validate_id_card(text_id, today=today)
    except DomainError as exc:
        id_card, error = text_id or None, exc.errors[0].reason if exc.errors else exc.detail
    date_header = DATE_HEADERS[kind][0]
    if error is None and kind is Kind.DEATHS and not name:
        error = "缺少姓名"
    if error is None and kind is Kind.ASSISTANCE:
        status = ASSISTANCE_STATUSES.get(values.get("status", "").strip())
        if status is None:
            error = f"救助类别“{values.get('status', '')}”无法识别，应为 特困、低保、低保边缘 或 无"
    if error is None and when is None:
        error = f"{date_header}“{values.get('date', '')}”不是有效日期，应为 YYYY-MM-DD"
    if error is None and when > latest_date(kind, today):
        error = (f"{date_header} {when.isoformat()} 晚于下月 1 日" if kind is Kind.ASSISTANCE
                 else f"{date_header} {when.isoformat()} 晚于今天")
    return ListRow(raw.line, id_card, name, when, status and str(status), error)


def check_rows(kind: Kind, raws: list[RawRow], *, today: date) -> list[ListRow]:
    return [check_row(kind, raw, today=today) for raw in raws]


def duplicates(rows: list[ListRow]) -> dict[int, Classified]:
    """Rows whose ID number appears again: the same facts twice count once (the later lines are
    `unchanged`), different dates or statuses make every line of that ID `conflicting`. Keyed by
    line."""
    by_id: dict[str, list[ListRow]] = {}
    for row in rows:
        if row.error is None:
            by_id.setdefault(row.id_card, []).append(row)  # type: ignore[arg-type]
    out: dict[int, Classified] = {}
    for group in by_id.values():
        if len(group) < 2:
            continue
        lines = "、".join(str(r.line) for r in group)
        if len({(r.date, r.status) for r in group}) > 1:
            for r in group:
                out[r.line] = Classified(Outcome.CONFLICTING, f"同一身份证号在第 {lines} 行的内容不一致，请核对后重新上传")
        else:
            for r in group[1:]:
                out[r.line] = Classified(Outcome.UNCHANGED, f"与第 {group[0].line} 行重复，按一行处理")
    return out


# ---- classification -----------------------------------------------------------------------------


def same_name(a: str | None, b: str | None) -> bool:
    """Names compared as people write them: full-width forms, spaces and the middle dot of
    minority names (买买提·艾力) do not count."""
    def norm(s: str | None) -> str:
        text = unicodedata.normalize("NFKC", s or "")
        return "".join(ch for ch in text if not ch.isspace() and ch not in "·•・.")
    return norm(a) == norm(b)


def classify(kind: Kind, row: ListRow, elder: ElderFacts | None) -> Classified:
    """The outcome of one valid, non-duplicate row against the record it matched (None: no record)."""
    if row.error is not None:
        return Classified(Outcome.INVALID, row.error)
    if elder is None:
        return Classified(Outcome.UNKNOWN, "未找到该身份证号对应的老人档案")
    if row.name and not same_name(row.name, elder.name):
        return Classified(Outcome.NAME_MISMATCH, "名单上的姓名与档案姓名不一致，未处理，请核对")
    assert row.date is not None
    if kind is Kind.ASSISTANCE:
        return _classify_assistance(row, elder)
    target = TARGET_STATUS[kind]
    if elder.status == target:
        if elder.status_date == row.date:
            return Classified(Outcome.UNCHANGED, f"档案已是{STATUS_NAMES[target]}，日期相同")
        recorded = elder.status_date.isoformat() if elder.status_date else "未填"
        listed = row.date.isoformat()
        return Classified(Outcome.CONFLICTING,
                          f"档案已记为{STATUS_NAMES[target]}（日期 {recorded}），与名单日期 {listed} 不同，请人工核对")
    if elder.status == "deceased":  # a move reported for someone recorded as dead
        return Classified(Outcome.CONFLICTING, "档案已记为已故，与迁出名单不符，请人工核对")
    return Classified(Outcome.APPLY, change=Change("status", elder.status, target, row.date))


def _classify_assistance(row: ListRow, elder: ElderFacts) -> Classified:
    assert row.status is not None and row.date is not None
    if elder.status != "active":
        return Classified(Outcome.CONFLICTING,
                          f"档案状态为{STATUS_NAMES.get(elder.status, elder.status)}，不再调整救助类别，请人工核对")
    if row.status == elder.economic_status:
        return Classified(Outcome.UNCHANGED, "档案的救助类别与名单相同")
    if row.status == EconomicStatus.NONE and elder.economic_status not in LISTED_STATUSES:
        return Classified(Outcome.UNCHANGED, "档案为支出型困难，不在救助名单的范围内，保持不变")
    return Classified(Outcome.APPLY, change=Change("economic_status", elder.economic_status, row.status, row.date))


def counts(outcomes: list[str], *, matched: int) -> dict[str, int]:
    out = {"rows": len(outcomes), "matched": matched}
    out |= {o: 0 for o in OUTCOMES}
    for o in outcomes:
        out[o] += 1
    return out


def mask_name(name: str | None) -> str | None:
    """王大爷 → 王**: the family name kept for the officer to recognise, the person hidden."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1) if len(name) > 1 else "*"


# ---- the elder page -----------------------------------------------------------------------------


def explanation(*, kind: str, field_name: str, from_value: str | None, to_value: str, effective_date: date) -> str:
    """Why the record changed, for the elder and their family."""
    day = effective_date.isoformat()
    if field_name == "economic_status":
        before = EconomicStatus(from_value).zh_name if from_value in set(EconomicStatus) else (from_value or "无")
        after = EconomicStatus(to_value).zh_name
        return (f"根据民政救助名单（{day} 生效），您的救助类别由 {before} 调整为 {after}；"
                f"下月起代金券按新类别发放。")
    if to_value == "deceased":
        return (f"根据死亡名单，档案状态调整为已故（{day}）；次月起不再发放代金券，"
                f"{day} 之后使用代金券支付的服务费用将由服务商退回。")
    return (f"根据户籍迁出名单，档案状态调整为已迁出（{day} 迁出本市）；次月起不再发放代金券，"
            f"{day} 之后使用代金券支付的服务费用将由服务商退回。")
