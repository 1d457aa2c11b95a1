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
