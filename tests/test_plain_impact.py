"""Plain REPL: a dbt model edit shows its blast radius, and [d] diffs the data before approving."""

from __future__ import annotations

import subprocess

from de_agent.tools.edit import Edit
from tests.impact_fixture import P as PROJECT
from tests.impact_fixture import write_project
from tests.support.fake_llm import FakeLLM
from tests.support.plain_driver import PlainDriver

ORDERS = f"{PROJECT}/models/orders.sql"


async def test_blast_radius_then_d_for_the_data_diff_then_y(tmp_path, monkeypatch):
    write_project(tmp_path)
    monkeypatch.setenv("DBT_PROFILES_DIR", str(tmp_path / PROJECT))
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    edit = {"file_path": ORDERS, "old_string": "join {{ ref('stg_customers') }} c on c.customer_id = o.customer_id",
            "new_string": "join {{ ref('stg_customers') }} c on c.customer_id = o.customer_id\nwhere o.order_id > 10"}
    llm = FakeLLM([{"tool_calls": [{"name": "Edit", "arguments": edit}]}, {"text": "filtered"}])
    async with PlainDriver(tmp_path, llm, [Edit()]) as d:
        d.send("drop the first orders\r")
        await d.expect(r"Blast radius: orders: output columns unchanged; rows filtered differently; 5 downstream")
        await d.expect(r"rows: WHERE \(none\) -> o.order_id > 10")
        d.send("d")
        await d.expect(r"Data diff orders: 1,000 -> 990 rows, 0 keys added, 10 removed, no value changed")
        d.send("y")
        await d.expect("→ approved once")
        await d.expect("Verification")
        d.send("\x04")
        await d.exit_code()
    assert "order_id > 10" in (tmp_path / ORDERS).read_text()
