"""Data sets as a DuckDB relation: DuckDB's own readers, or Python readers handed over as Arrow.

DuckDB reads CSV, Parquet and JSON itself. Excel (python-calamine), Feather/Arrow IPC and
ORC (pyarrow) and Avro (fastavro) are read in Python and registered as Arrow tables, since
DuckDB would download an extension for them at run time and this machine may be offline.
CSV options (``encoding``, ``delimiter``, ``decimal``, ``header``) go to DuckDB's reader;
an encoding DuckDB does not know is decoded by pyarrow instead.
"""

from __future__ import annotations

from typing import Any

from de_agent.tools.data.helpers.duck import WorkerError, quote, scan_expr

PYTHON_FORMATS = ("excel", "arrow", "orc", "avro")
DUCK_ENCODINGS = {"utf-8": "utf-8", "utf-16": "utf-16", "iso8859-1": "latin-1", "latin-1": "latin-1"}
MAX_PYTHON_ROWS = 20_000_000


def csv_options(options: dict[str, Any]) -> str:
    parts = []
    if options.get("delimiter"):
        parts.append(f"delim = {quote(options['delimiter'])}")
    if options.get("decimal"):
        parts.append(f"decimal_separator = {quote(options['decimal'])}")
    if options.get("header") is not None:
        parts.append(f"header = {'true' if options['header'] else 'false'}")
    if options.get("encoding"):
        parts.append(f"encoding = {quote(DUCK_ENCODINGS.get(options['encoding'].lower(), 'utf-8'))}")
    return "".join(", " + p for p in parts)


def _excel(path: str, header: bool) -> Any:
    import pyarrow as pa
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(path)
    rows = book.get_sheet_by_index(0).to_python(skip_empty_area=True)
    if not rows:
        return pa.table({})
    width = max(len(r) for r in rows)
    head = [str(c) if c not in (None, "") else f"column{i}" for i, c in
            enumerate(rows[0] + [None] * (width - len(rows[0])))] if header else [f"column{i}" for i in range(width)]
    body = rows[1:] if header else rows
    cols: dict[str, list[Any]] = {}
    for i, name in enumerate(head):
        values = [r[i] if i < len(r) and r[i] != "" else None for r in body]
        kinds = {type(v) for v in values if v is not None}
        if len(kinds) > 1 and not kinds <= {int, float}:
            values = [None if v is None else str(v) for v in values]
        cols[name if name not in cols else f"{name}_{i}"] = values
    return pa.table(cols)


def _avro(path: str) -> Any:
    import fastavro
    import pyarrow as pa

    with open(path, "rb") as fh:
        records = []
        for i, rec in enumerate(fastavro.reader(fh)):
            if i >= MAX_PYTHON_ROWS:
                break
            records.append(rec)
    return pa.Table.from_pylist(records)


def _csv_arrow(path: str, options: dict[str, Any]) -> Any:
    import pyarrow.csv as pcsv

    read = pcsv.ReadOptions(encoding=options["encoding"], autogenerate_column_names=options.get("header") is False)
    parse = pcsv.ParseOptions(delimiter=options.get("delimiter") or ",")
    convert = pcsv.ConvertOptions(decimal_point=options.get("decimal") or ".")
    return pcsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)


def _read_python(path: str, fmt: str, options: dict[str, Any]) -> Any:
    if fmt == "excel":
        return _excel(path, options.get("header") is not False)
    if fmt == "arrow":
        import pyarrow.feather as feather

        return feather.read_table(path)
    if fmt == "orc":
        import pyarrow.orc as orc

        return orc.read_table(path)
    if fmt == "avro":
        return _avro(path)
    return _csv_arrow(path, options)


def source_sql(con: Any, request: dict[str, Any]) -> str:
    """A FROM expression for the data set in request, registering Arrow tables on con as needed."""
    files, fmt, hive = request["files"], request["format"], request.get("hive", False)
    options = request.get("options") or {}
    encoding = (options.get("encoding") or "utf-8").lower()
    if fmt in PYTHON_FORMATS or (fmt == "csv" and encoding not in DUCK_ENCODINGS):
        import pyarrow as pa

        tables = []
        for path in files:
            try:
                tables.append(_read_python(path, fmt, options))
            except (OSError, ValueError, LookupError, pa.ArrowException) as exc:
                raise WorkerError(f"cannot read {path.rsplit('/', 1)[-1]} as {fmt}: {exc}") from None
            except Exception as exc:  # noqa: BLE001 - third-party readers raise their own errors
                raise WorkerError(f"cannot read {path.rsplit('/', 1)[-1]} as {fmt}: {type(exc).__name__}: {exc}") \
                    from None
        table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")
        con.register("__de_agent_arrow", table)
        return "__de_agent_arrow"
    expr = scan_expr(files, fmt, hive)
    if fmt == "csv" and options:
        expr = expr[:-1] + csv_options(options) + ")"
    return expr
