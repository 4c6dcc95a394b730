"""The Excel input workbook: a scenario as sheets a planner can fill in, and back.

Generated from the pydantic schema (:mod:`d2asim.scenario.fields`), never from a list
of fields, so it follows the schema as it changes. A sheet per block of the scenario:

* a *form* sheet for a block of settings (``run``, ``acute``, ``pathways`` ...) and
  one named ``scenario`` for the top-level fields: one row per field, columns
  Field | Value | Kind and allowed values | Description (units);
* a *table* sheet for a collection (``services``, ``age_bands`` ...): one row per
  item (first column its key), one column per field; header rows give the field,
  its kind and allowed values, and its description.

Values are numbers, text or true/false; lists and mappings are written as
``[1, 2]`` / ``{type: lognormal, mean: 6, sd: 5}``. An empty cell means "not given"
(the schema default). Reading a workbook gives the same mapping a YAML file gives,
validated by the same schema; errors name the sheet and the cell.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from d2asim.scenario.errors import ScenarioError
from d2asim.scenario.fields import (
    FieldDoc,
    dict_keys_allowed,
    field_doc,
    fields_of,
    is_keyed,
    item_models,
    models_in,
    schema_leaves,
)
from d2asim.scenario.schema import Scenario

TOP_SHEET = "scenario"
README_SHEET = "how to fill in"
FORM_HEADER = ("Field", "Value", "Kind and allowed values", "Description (units)")
TABLE_HEADER_ROWS = 3  # field, kind and allowed values, description
KEY_COLUMN = "key"
ESCAPE = "'"  # written before text that would read as a list or mapping
MAX_CELLS = 200_000
Path_ = tuple[str, ...]
Cells = dict[Path_, str]  # field path -> 'sheet!A1'


# ---------------------------------------------------------------- flattening
def flatten(value: Any, prefix: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """(path, leaf) pairs: mappings whose keys are plain names are stepped into;
    anything else (numbers, text, lists, mappings keyed by dotted paths) is a leaf."""
    if isinstance(value, Mapping) and value and all(isinstance(k, str) and k and "." not in k for k in value):
        for key, inner in value.items():
            yield from flatten(inner, (*prefix, key))
    else:
        yield prefix, value


def unflatten(pairs: Iterator[tuple[Path_, Any]] | list[tuple[Path_, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in pairs:
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return out


def cell_text(value: Any) -> Any:
    """What a cell holds for a leaf: numbers, text and booleans as themselves; lists and
    mappings as one-line YAML."""
    if isinstance(value, (list, tuple, dict)):
        return yaml.safe_dump(_plain(value), default_flow_style=True, width=math.inf, sort_keys=False).strip()
    if isinstance(value, str) and value.startswith(("[", "{", ESCAPE)):
        return ESCAPE + value
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# ------------------------------------------------------------------- writing
def _sheet_kind(name: str) -> str:
    """'table' (a collection of blocks), 'form' (one block) or 'top' (a top-level value)."""
    field = fields_of(Scenario)[name]
    if item_models(field.annotation):
        return "table"
    return "form" if len(models_in(field.annotation)) == 1 else "top"


def _style_header(sheet: Worksheet, rows: int) -> None:
    fill = PatternFill("solid", fgColor="DCE6F1")
    for row in sheet.iter_rows(min_row=1, max_row=rows):
        for cell in row:
            cell.font = Font(bold=cell.row == 1)
            cell.fill = fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = sheet.cell(row=rows + 1, column=2).coordinate


def _doc_of(parts: Path_, data: Mapping[str, Any] | None = None) -> FieldDoc:
    tag = None
    if data is not None and len(parts) > 1:  # a distribution's own fields depend on its type
        node: Any = data
        for part in parts[:-1]:
            if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                node = node.get(part) if isinstance(node, Mapping) else None
        tag = node.get("type") if isinstance(node, Mapping) else None
    return field_doc(Scenario, list(parts), tag) or FieldDoc("", "", (), False, None)


def _described(doc: FieldDoc) -> str:
    default = f" (default: {cell_text(doc.default)})" if doc.default not in (None, "", {}, [], ()) else ""
    return f"{doc.description}{default}"


def _form_rows(names: list[str], data: Mapping[str, Any]) -> list[tuple[Path_, Any, FieldDoc]]:
    """(path, value, doc): every given leaf, then every schema field not given."""
    given = [(p, v) for name in names if name in data for p, v in flatten(data[name], (name,))]
    rows = [(p, v, _doc_of(p, data)) for p, v in given]
    for name in names:
        field = fields_of(Scenario)[name]
        leaves = list(schema_leaves(models_in(field.annotation)[0], (name,))) if _sheet_kind(name) == "form" \
            else [((name,), _doc_of((name,)))]
        for path, doc in leaves:
            if not any(p[: len(path)] == path or path[: len(p)] == p for p, _ in given):
                rows.append((path, None, doc))
    return rows


def _write_form(book: Workbook, title: str, names: list[str], data: Mapping[str, Any], strip: int) -> None:
    sheet = book.create_sheet(title)
    sheet.append(FORM_HEADER)
    for path, value, doc in _form_rows(names, data):
        sheet.append([".".join(path[strip:]), None if value is None else cell_text(value), doc.hint(), _described(doc)])
    _style_header(sheet, 1)
    for column, width in zip("ABCD", (42, 28, 40, 70), strict=True):
        sheet.column_dimensions[column].width = width


def _write_table(book: Workbook, name: str, data: Mapping[str, Any]) -> None:
    annotation = fields_of(Scenario)[name].annotation
    keyed = is_keyed(annotation)
    items: Any = data.get(name) or ({} if keyed else [])  # a mapping if keyed, else a list
    entries = list(items.items()) if keyed else [(str(i), item) for i, item in enumerate(items)]
    columns: list[Path_] = []
    for _, item in entries:
        columns += [p for p, _ in flatten(item) if p not in columns]
    for path, _ in schema_leaves(item_models(annotation)[0]):
        if not any(c[: len(path)] == path or path[: len(c)] == c for c in columns):
            columns.append(path)
    first = entries[0][0] if entries else "0"
    docs = [_doc_of((name, first, *c), data) for c in columns]
    allowed = dict_keys_allowed(annotation)
    key_header = ([KEY_COLUMN], [f"one of: {', '.join(allowed)}" if allowed else "text"],
                  [f"the name of each {name} entry"]) if keyed else ([], [], [])
    sheet = book.create_sheet(name)
    sheet.append([*key_header[0], *(".".join(c) for c in columns)])
    sheet.append([*key_header[1], *(d.hint() for d in docs)])
    sheet.append([*key_header[2], *(_described(d) for d in docs)])
    for key, item in entries:
        leaves = dict(flatten(item))
        sheet.append([*([key] if keyed else []), *(cell_text(leaves[c]) if c in leaves else None for c in columns)])
    _style_header(sheet, TABLE_HEADER_ROWS)
    for i in range(1, sheet.max_column + 1):
        sheet.column_dimensions[get_column_letter(i)].width = 22


def _write_readme(book: Workbook) -> None:
    sheet = book.create_sheet(README_SHEET)
    for line in (
        "A d2asim scenario as a workbook: run it with  d2asim run THIS_FILE.xlsx  (or validate, compare).",
        "Sheet 'scenario' holds the top-level fields; every other sheet is one block of the scenario.",
        "Form sheets: one row per field; type the value in column B. An empty cell means the schema default.",
        "Table sheets: one row per entry (its key in column A), one column per field; rows 1-3 say what each "
        "column is.",
        "Lists are written [1, 0.9, 1.1], mappings {type: lognormal, mean: 6, sd: 5}; text that starts with "
        "[ or { is written after a ' .",
        "Kinds and allowed values come from the scenario schema (d2asim schema); problems are reported with "
        "the sheet and cell.",
    ):
        sheet.append([line])
    sheet.column_dimensions["A"].width = 120


def scenario_workbook(data: Mapping[str, Any]) -> Workbook:
    """The workbook of a scenario mapping (e.g. :func:`scenario_to_dict` of a loaded
    scenario; ``{}`` for an empty template)."""
    book = Workbook()
    book.remove(book.worksheets[0])  # the new workbook's empty sheet
    _write_readme(book)
    names = list(fields_of(Scenario))
    _write_form(book, TOP_SHEET, [n for n in names if _sheet_kind(n) == "top"], data, strip=0)
    for name in names:
        kind = _sheet_kind(name)
        if kind == "form":
            _write_form(book, name, [name], data, strip=1)
        elif kind == "table":
            _write_table(book, name, data)
    return book


def write_workbook(data: Mapping[str, Any], path: Path) -> None:
    """Write the workbook of ``data`` to a new file ``path`` (an existing file is
    never overwritten)."""
    if path.exists():
        raise ScenarioError([f"{path}: file exists; choose a new file name (nothing was overwritten)"])
    if path.suffix.lower() != ".xlsx":
        raise ScenarioError([f"{path}: the workbook's name must end in .xlsx"])
    scenario_workbook(data).save(path)


# ------------------------------------------------------------------- reading
def _cell_value(raw: Any, where: str, doc: FieldDoc | None) -> Any:
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat()
    if isinstance(raw, dt.date):
        return raw.isoformat()
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith(ESCAPE):
            return raw[raw.index(ESCAPE) + 1:]
        if text.startswith(("[", "{")):
            try:
                return yaml.safe_load(text)
            except yaml.YAMLError as exc:
                problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
                raise ScenarioError([f"{where}: cannot read the list or mapping ({problem})"]) from None
        return raw
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and doc is not None and doc.kind == "text":
        return str(raw)
    return raw


def _read_form(sheet: Worksheet, prefix: Path_, where: Callable[[str], str], cells: Cells) -> list[tuple[Path_, Any]]:
    if tuple(c.value for c in sheet[1][:2]) != FORM_HEADER[:2]:
        raise ScenarioError([f"{where('A1')}: expected the header {FORM_HEADER[0]} | {FORM_HEADER[1]}"])
    out = []
    for row in sheet.iter_rows(min_row=2, max_col=2):
        field, value = row[0].value, row[1].value
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if not isinstance(field, str) or not field.strip():
            raise ScenarioError([f"{where(row[0].coordinate)}: a value without a field name in column A"])
        path = (*prefix, *field.strip().split("."))
        cells[path] = where(row[1].coordinate)
        out.append((path, _cell_value(value, cells[path], field_doc(Scenario, list(path)))))
    return out


def _read_table(sheet: Worksheet, name: str, where: Callable[[str], str], cells: Cells) -> Any:
    header = [c.value for c in sheet[1]]
    keyed = bool(header) and header[0] == KEY_COLUMN
    columns = [tuple(str(h).split(".")) if h else None for h in header[1 if keyed else 0:]]
    items: list[tuple[Any, dict[str, Any]]] = []
    for row in sheet.iter_rows(min_row=TABLE_HEADER_ROWS + 1):
        if all(c.value is None or (isinstance(c.value, str) and not c.value.strip()) for c in row):
            continue
        key = str(row[0].value).strip() if keyed and row[0].value is not None else None
        if keyed and not key:
            raise ScenarioError([f"{where(row[0].coordinate)}: a row without a key in column A"])
        at = key if key is not None else str(len(items))
        pairs = []
        for cell, column in zip(row[1 if keyed else 0:], columns, strict=False):
            if cell.value is None or (isinstance(cell.value, str) and not cell.value.strip()):
                continue
            if column is None:
                raise ScenarioError([f"{where(cell.coordinate)}: a value in a column without a field name in row 1"])
            path = (name, at, *column)
            cells[path] = where(cell.coordinate)
            pairs.append((column, _cell_value(cell.value, cells[path], field_doc(Scenario, list(path)))))
        cells.setdefault((name, at), where(row[0].coordinate))
        items.append((key, unflatten(pairs)))
    return {k: v for k, v in items} if keyed else [v for _, v in items]


def read_workbook(path: Path, shown: str | None = None) -> tuple[dict[str, Any], Cells]:
    """The scenario mapping of a workbook and where each field was given (field path
    -> ``FILE (sheet S, cell B7)``, FILE being ``shown`` or ``path``). Raises
    ScenarioError naming the sheet and cell."""
    name = shown or str(path)
    try:
        book = load_workbook(path, read_only=False, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
        raise ScenarioError([f"{name}: not an Excel workbook (.xlsx) ({type(exc).__name__})"]) from None
    cells: Cells = {}
    known = set(fields_of(Scenario))
    pairs: list[tuple[Path_, Any]] = []
    size = sum(s.max_row * s.max_column for s in book.worksheets)
    if size > MAX_CELLS:
        raise ScenarioError([f"{name}: the workbook has {size:,} cells (at most {MAX_CELLS:,})"])
    for sheet in book.worksheets:
        def where(coordinate: str, title: str = sheet.title) -> str:
            return f"{name} (sheet {title!r}, cell {coordinate})"

        if sheet.title == README_SHEET:
            continue
        if sheet.title == TOP_SHEET:
            pairs += _read_form(sheet, (), where, cells)
        elif sheet.title not in known:
            raise ScenarioError([f"{name} (sheet {sheet.title!r}): unknown sheet (allowed: {TOP_SHEET}, "
                                 f"{', '.join(sorted(n for n in known if _sheet_kind(n) != 'top'))})"])
        elif _sheet_kind(sheet.title) == "table":
            table = _read_table(sheet, sheet.title, where, cells)
            if table:
                pairs.append(((sheet.title,), table))
        else:
            pairs += _read_form(sheet, (sheet.title,), where, cells)
    return unflatten(pairs), cells


def cell_source(cells: Cells, fallback: str) -> Callable[[list[str]], str]:
    """Map a field path to the cell that set it (the longest given prefix), else ``fallback``."""

    def source(parts: list[str]) -> str:
        for n in range(len(parts), 0, -1):
            if tuple(parts[:n]) in cells:
                return cells[tuple(parts[:n])]
        return fallback

    return source
