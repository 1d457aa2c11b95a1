"""ProfileData: formats, partitioned folders, masking, bounds and confinement."""

from __future__ import annotations

import json
import os

import pytest

from de_agent.tools.base import READ, ToolError
from de_agent.tools.data.profile import ProfileData
from tests.data_fixtures import context, write_ndjson, write_orders_csv, write_parquet, write_partitioned


async def profile(repo, **args):
    action = await ProfileData().prepare(args, context(repo))
    assert action.kind == READ and not action.asks
    return await action.run(None)


def column_rows(outcome) -> dict[str, list]:
    table = outcome.display["items"][0]
    return {row[0]: dict(zip(table["columns"], row, strict=True)) for row in table["rows"]}


async def test_csv_profile_counts_nulls_types_and_top_values(repo):
    write_orders_csv(repo)
    out = await profile(repo, path="data/orders.csv", sample_rows=2)
    assert out.ok
    assert "csv, 1 file, 5 rows, 6 columns" in out.output
    cols = column_rows(out)
    assert cols["order_id"]["type"] == "BIGINT"
    assert (cols["order_id"]["min"], cols["order_id"]["max"]) == ("1", "5")
    assert cols["amount"]["nulls"] == "1" and cols["amount"]["null %"] == "20.0"
    assert cols["code"]["type"] == "VARCHAR"  # mixed 7 / A2 / 3.5 / x
    assert cols["status"]["top values (count)"].startswith("paid (2)")
    assert cols["customer"]["nulls"] == "1"
    sample = out.display["items"][1]
    assert sample["kind"] == "table" and len(sample["rows"]) == 2


async def test_personal_values_are_masked_everywhere(repo):
    write_orders_csv(repo)
    out = await profile(repo, path="data/orders.csv")
    dumped = out.output + json.dumps(out.display)
    for email in ("alice.smith@example.com", "carol@example.org", "dave@example.net"):
        assert email not in dumped
    assert "a***@e***.com" in dumped


async def test_parquet_and_ndjson(repo):
    write_parquet(repo, "data/m.parquet", "SELECT range AS id, range % 3 AS bucket, "
                  "CASE WHEN range % 4 = 0 THEN NULL ELSE range * 1.5 END AS v FROM range(200)")
    out = await profile(repo, path="data/m.parquet")
    assert "parquet, 1 file, 200 rows, 3 columns" in out.output
    cols = column_rows(out)
    assert cols["v"]["nulls"] == "50" and cols["v"]["null %"] == "25.0"
    assert cols["id"]["top values (count)"] == "(mostly unique)"
    assert "0 (67)" in cols["bucket"]["top values (count)"]

    write_ndjson(repo)
    out = await profile(repo, path="data/events.ndjson")
    assert "ndjson, 1 file, 20 rows" in out.output
    cols = column_rows(out)
    assert cols["props"]["type"].startswith("STRUCT")
    assert cols["user_ip"]["nulls"] == "4"
    assert "172.16.0.1" not in out.output  # IP addresses are masked


async def test_partitioned_folder_and_glob(repo):
    write_partitioned(repo)
    out = await profile(repo, path="data/sales")
    # 3 + 3 rows in 2023, 4 + 4 in 2024; _SUCCESS and the hidden .crc are ignored.
    assert "parquet, 4 files, 14 rows" in out.output
    cols = column_rows(out)
    assert {"sale_id", "amount", "year", "month"} <= set(cols)
    assert (cols["year"]["min"], cols["year"]["max"]) == ("2023", "2024")

    out = await profile(repo, path="data/sales/year=2024/**/*.parquet")
    assert "4 files" not in out.output and "2 files, 8 rows" in out.output


async def test_bad_arguments_and_missing_files(repo):
    write_orders_csv(repo)
    with pytest.raises(ToolError, match="sample_rows"):
        await ProfileData().prepare({"path": "data/orders.csv", "sample_rows": 500}, context(repo))
    with pytest.raises(ToolError, match="no such file"):
        await ProfileData().prepare({"path": "data/nope.csv"}, context(repo))
    with pytest.raises(ToolError, match="no data files"):
        await ProfileData().prepare({"path": "etl"}, context(repo))
    (repo / "data" / "broken.parquet").write_bytes(b"PAR1 not really parquet")
    action = await ProfileData().prepare({"path": "data/broken.parquet"}, context(repo))
    with pytest.raises(ToolError):
        await action.run(None)


async def test_paths_outside_the_repository_are_refused(repo, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("token\nabc\n")
    for path in ("../outside/secret.csv", str(outside / "secret.csv"), "/etc/passwd", "../outside/*.csv"):
        with pytest.raises(ToolError, match="outside the repository"):
            await ProfileData().prepare({"path": path}, context(repo))
    # A symlink inside the repository that leads out is refused, and dropped from globs.
    (repo / "data").mkdir()
    os.symlink(outside / "secret.csv", repo / "data" / "link.csv")
    with pytest.raises(ToolError, match="outside the repository"):
        await ProfileData().prepare({"path": "data/link.csv"}, context(repo))
    write_orders_csv(repo)
    out = await profile(repo, path="data/*.csv")
    assert "1 file, 5 rows" in out.output and "abc" not in out.output


async def test_secret_looking_files_ask_before_profiling(repo):
    (repo / ".env").write_text("a,b\n1,2\n")
    action = await ProfileData().prepare({"path": ".env"}, context(repo))
    assert action.secret_read
    write_orders_csv(repo)
    action = await ProfileData().prepare({"path": "data/orders.csv"}, context(repo))
    assert not action.secret_read


SHAPE = "mean, sd, quartiles / lengths"


async def test_numbers_texts_and_lists_get_their_statistics(repo):
    write_parquet(repo, "data/m.parquet",
                  "SELECT range AS n, 'x' || repeat('y', (range % 5)::INTEGER) AS s, "
                  "CASE WHEN range % 4 = 0 THEN NULL ELSE [range, range + 1] END AS l, "
                  "{'a': range} AS st FROM range(1, 101)")
    out = await profile(repo, path="data/m.parquet")
    cols = column_rows(out)
    # 1..100: mean 50.5, sd 29.01, quartiles 25.75 / 50.5 / 75.25 (linear interpolation)
    assert cols["n"][SHAPE] == "mean 50.5, sd 29.01; p25 25.75, p50 50.5, p75 75.25"
    assert cols["s"][SHAPE] == "length 1–5, mean 3"
    assert cols["l"][SHAPE] == "items 2–2, mean 2" and cols["l"]["nulls"] == "25"
    assert cols["st"]["nulls"] == "0" and cols["st"][SHAPE] == ""
    assert "quartiles and top-value counts are estimated" not in out.output  # small: all rows used


async def test_the_exact_row_count_reaches_the_model(repo, monkeypatch):
    import de_agent.tools.data.profile as profile_module

    write_parquet(repo, "data/big.parquet", "SELECT range AS id, range % 7 AS k FROM range(12345678)")
    out = await profile(repo, path="data/big.parquet", sample_rows=0)
    assert "12,345,678 rows" in out.output and "12.3M" not in out.output.splitlines()[0]
    assert "quartiles and top-value counts are estimated from a ~200,000-row sample" in out.output
    top = column_rows(out)["k"]["top values (count)"]
    assert top.count("(") == 5  # five most frequent values with estimated counts
    assert profile_module.SAMPLE_FROM < 12_345_678


async def test_csv_options_encoding_delimiter_decimal_header(repo):
    (repo / "data").mkdir()
    (repo / "data" / "eu.csv").write_bytes("name;price\nCafé;1,50\nMüller;2,25\n".encode("latin-1"))
    out = await profile(repo, path="data/eu.csv", encoding="latin-1", delimiter=";", decimal=",")
    cols = column_rows(out)
    assert cols["price"]["type"].startswith(("DOUBLE", "DECIMAL"))
    assert (cols["price"]["min"], cols["price"]["max"]) in (("1.5", "2.25"), ("1.50", "2.25"))
    assert "Café" in out.output and "Müller" in out.output
    # an encoding DuckDB does not know is decoded in Python
    (repo / "data" / "w.csv").write_bytes("name;price\n€uro;3,5\n".encode("cp1252"))
    out = await profile(repo, path="data/w.csv", encoding="cp1252", delimiter=";", decimal=",")
    assert "€uro" in out.output and column_rows(out)["price"]["type"] == "DOUBLE"
    out = await profile(repo, path="data/eu.csv", encoding="latin-1", delimiter=";", header=False)
    assert "3 rows" in out.output
    for args, message in [({"encoding": "klingon"}, "unknown encoding"), ({"delimiter": ";;"}, "one character"),
                          ({"decimal": ";"}, "decimal must be"), ({"header": "yes"}, "true or false")]:
        with pytest.raises(ToolError, match=message):
            await ProfileData().prepare({"path": "data/eu.csv", **args}, context(repo))
    write_parquet(repo, "data/p.parquet", "SELECT 1 AS x")
    with pytest.raises(ToolError, match="CSV options"):
        await ProfileData().prepare({"path": "data/p.parquet", "delimiter": ";"}, context(repo))


async def test_excel_feather_orc_and_avro_are_read_offline(repo):
    import fastavro
    import pyarrow as pa
    import pyarrow.feather as feather
    import pyarrow.orc as orc

    (repo / "data").mkdir()
    table = pa.table({"id": [1, 2, 3], "city": ["Oslo", "Lima", "Oslo"], "price": [1.5, 2.0, None]})
    feather.write_feather(table, str(repo / "data" / "t.feather"))
    orc.write_table(table, str(repo / "data" / "t.orc"))
    schema = {"type": "record", "name": "r", "fields": [{"name": "id", "type": "long"},
                                                        {"name": "city", "type": "string"},
                                                        {"name": "price", "type": ["null", "double"]}]}
    with open(repo / "data" / "t.avro", "wb") as fh:
        fastavro.writer(fh, schema, table.to_pylist())
    _write_xlsx(repo / "data" / "t.xlsx", [["id", "city", "price"], [1, "Oslo", 1.5], [2, "Lima", 2.0],
                                           [3, "Oslo", None]])
    for name, fmt in (("t.feather", "arrow"), ("t.orc", "orc"), ("t.avro", "avro"), ("t.xlsx", "excel")):
        out = await profile(repo, path=f"data/{name}")
        assert f"{fmt}, 1 file, 3 rows, 3 columns" in out.output, out.output
        cols = column_rows(out)
        assert cols["city"]["top values (count)"].startswith("Oslo (2)")
        assert cols["price"]["nulls"] == "1"
    (repo / "data" / "bad.avro").write_bytes(b"Obj\x01 not really")
    with pytest.raises(ToolError, match="cannot read bad.avro as avro"):
        await profile(repo, path="data/bad.avro")


def _write_xlsx(path, rows) -> None:
    """A minimal .xlsx written by hand (zip of XML parts), so no Excel writer is needed."""
    import zipfile
    from xml.sax.saxutils import escape

    def cell(ref: str, value) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
        return f'<c r="{ref}"><v>{value}</v></c>'

    sheet_rows = "".join(
        f'<row r="{i}">' + "".join(cell(f"{chr(65 + j)}{i}", v) for j, v in enumerate(r)) + "</row>"
        for i, r in enumerate(rows, 1))
    ns = "http://schemas.openxmlformats.org"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", (
            '<?xml version="1.0"?><Types xmlns="' + ns + '/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="'
            'application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'))
        z.writestr("_rels/.rels", (
            '<?xml version="1.0"?><Relationships xmlns="' + ns + '/package/2006/relationships">'
            '<Relationship Id="rId1" Type="' + ns + '/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'))
        z.writestr("xl/workbook.xml", (
            '<?xml version="1.0"?><workbook xmlns="' + ns + '/spreadsheetml/2006/main" xmlns:r="' + ns +
            '/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets>'
            '</workbook>'))
        z.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0"?><Relationships xmlns="' + ns + '/package/2006/relationships">'
            '<Relationship Id="rId1" Type="' + ns + '/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>'))
        z.writestr("xl/worksheets/sheet1.xml", (
            '<?xml version="1.0"?><worksheet xmlns="' + ns + '/spreadsheetml/2006/main"><sheetData>'
            + sheet_rows + "</sheetData></worksheet>"))
