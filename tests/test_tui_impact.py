"""TUI: the blast radius fills in below a proposed diff; the approval offers "diff the data first"."""

from __future__ import annotations

from textual.widgets import Static

from de_agent import protocol as P
from de_agent.tui.screens.approval import ApprovalScreen
from tests.support.tui import settle, wait_for
from tests.test_tui_approvals import ask, open_modal

DIFF = ("--- a/models/orders.sql\n+++ b/models/orders.sql\n@@ -1,2 +1,2 @@\n"
        "-select order_id, status\n+select order_id\n from {{ ref('stg_orders') }}\n")
IMPACT = {"kind": "dbt", "file_path": "models/orders.sql", "model": "orders",
          "headline": "orders: 1 removed; 1 downstream node read affected columns",
          "columns": {"added": [], "removed": ["status"], "renamed": [], "retyped": [], "redefined": []},
          "grain": None, "breaks": [],
          "downstream": [{"id": "model.status_report", "type": "model", "name": "status_report",
                          "columns": ["status"], "reads": ["status"], "via": "orders"}]}


def sql_request(data_diff: str = "") -> P.ApprovalRequest:
    return P.ApprovalRequest("e1", "Edit", "edit", "Edit models/orders.sql",
                             diffs=[{"file_path": "models/orders.sql", "diff": DIFF}], reason="changes a file",
                             can_diff_data=True, data_diff=data_diff)


async def test_the_diff_pane_fills_in_with_the_blast_radius():
    app, host = await ask(sql_request())
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_for(pilot, lambda: app.status.session_id, what="session start")
        host.feed(P.Diff("models/orders.sql", DIFF, "proposed", "e1"))
        await settle(pilot)
        body = lambda: " ".join(str(s.render()) for s in app.diff_pane.query(Static))  # noqa: E731
        assert "Blast radius" not in body()
        host.feed(P.Diff("models/orders.sql", DIFF, "proposed", "e1", IMPACT))
        await wait_for(pilot, lambda: "Blast radius" in body(), what="the impact")
        assert "columns removed: status" in body() and "model status_report (status)" in body()


async def test_d_asks_for_the_data_diff_and_the_second_request_shows_it():
    app, host = await ask(sql_request())
    async with app.run_test(size=(140, 45)) as pilot:
        await open_modal(pilot, app, host, sql_request())
        assert "diff the data first" in str(app.screen.query_one("#keys", Static).render())
        await pilot.press("d")
        await wait_for(pilot, lambda: host.ops, what="a decision")
        assert host.ops == [P.ApprovalDecision("e1", "data_diff")]
        host.ops.clear()
        host.feed(sql_request("Data diff orders: 1,000 -> 999 rows, 0 keys added, 1 removed"))
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="the modal again")
        await settle(pilot)
        assert "1,000 -> 999 rows" in str(app.screen.query_one("#data-diff", Static).render())
        await pilot.press("y")
        await wait_for(pilot, lambda: host.ops, what="a decision")
        assert host.ops == [P.ApprovalDecision("e1", "once")]


async def test_other_edits_do_not_offer_a_data_diff():
    request = P.ApprovalRequest("e2", "Edit", "edit", "Edit etl/load.py",
                                diffs=[{"file_path": "etl/load.py", "diff": DIFF}], reason="changes a file")
    app, host = await ask(request)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_modal(pilot, app, host, request)
        assert "diff the data first" not in str(app.screen.query_one("#keys", Static).render())
        await pilot.press("d")
        await settle(pilot)
        assert host.ops == [] and isinstance(app.screen, ApprovalScreen)


async def test_s_asks_for_the_data_diff_on_a_sample():
    app, host = await ask(sql_request())
    async with app.run_test(size=(140, 45)) as pilot:
        await open_modal(pilot, app, host, sql_request())
        assert "on a 10% sample" in str(app.screen.query_one("#keys", Static).render())
        await pilot.press("s")
        await wait_for(pilot, lambda: host.ops, what="a decision")
        assert host.ops == [P.ApprovalDecision("e1", "data_diff", sample=10)]
