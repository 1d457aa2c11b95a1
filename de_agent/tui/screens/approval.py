"""The approval modal: what the engine asks to do (a command or a diff), and the person's answer.

Keys: ``y`` once, ``a`` for the rest of the session, ``A`` always (when the policy offers a
pattern to save), ``n`` deny, ``f`` deny with a note for the model, Escape denies. For
edits, Up/Down choose a hunk and Space accepts or rejects it; only accepted hunks are
applied (their indices, numbered from 0 in order of appearance, go back in the decision).
The screen's result is the :class:`~de_agent.protocol.ApprovalDecision`.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Input, Static

from de_agent import protocol as P
from de_agent.frontends.render import request_detail
from de_agent.tui.screens.dialog import Dialog
from de_agent.tui.widgets.diff import Hunk, diff_content, split_hunks


class HunkView(Static):
    DEFAULT_CSS = """
    HunkView { padding: 0 1; border-left: outer $success; margin-bottom: 1; }
    HunkView.-rejected { border-left: outer $error; color: $foreground 45%; text-style: strike; }
    HunkView.-cursor { background: $primary 15%; }
    """

    def __init__(self, hunk: Hunk) -> None:
        super().__init__(markup=False)
        self.hunk = hunk
        self.accepted = True

    def on_mount(self) -> None:
        self.refresh_view()

    def refresh_view(self) -> None:
        mark = ("✓ apply", "bold $success") if self.accepted else ("✗ skip", "bold $error")
        head = Content.assemble(mark, (f"  hunk {self.hunk.index + 1}", "dim"))
        self.update(Content.assemble(head, "\n", diff_content(self.hunk.text)))
        self.set_class(not self.accepted, "-rejected")


class ApprovalScreen(Dialog[P.ApprovalDecision]):
    """Pushed with a callback that submits the decision to the engine."""

    DEFAULT_CSS = """
    #dialog { width: 92%; max-width: 130; max-height: 94%; border: thick $warning; border-title-color: $warning;
              border-title-style: bold; }
    #dialog > Static { width: 1fr; }
    #summary { margin-bottom: 1; }
    #command { background: $panel; padding: 0 1; color: $text; text-style: bold; }
    #where { color: $foreground 70%; margin-bottom: 1; }
    #hunks { height: auto; max-height: 60vh; }
    .file-title { text-style: bold; }
    #keys { margin-top: 1; color: $foreground 85%; }
    #note { display: none; }
    #note.-shown { display: block; }
    """

    AUTO_FOCUS = ""  # never the (hidden) note box: the answer keys must reach the screen

    BINDINGS = [
        Binding("y", "choose('once')", "approve once"),
        Binding("a", "choose('session')", "approve for the session"),
        Binding("A,shift+a", "choose('always')", "approve always"),
        Binding("n", "deny", "deny"),
        Binding("f", "note", "deny with a note"),
        Binding("d", "diff_data", "diff the data first"),
        Binding("s", "diff_data(10)", "diff the data on a 10% sample"),
        Binding("escape", "deny", "deny", priority=True),
        Binding("up,k", "move(-1)", "previous hunk", show=False),
        Binding("down,j", "move(1)", "next hunk", show=False),
        Binding("space", "toggle", "accept/reject hunk", show=False),
    ]

    def __init__(self, request: P.ApprovalRequest, arguments: dict | None = None) -> None:
        super().__init__()
        self.request = request
        self.arguments = arguments or {}
        self.hunks = split_hunks(request.diffs)
        self.cursor = 0

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        r = self.request
        with Vertical(id="dialog", classes="dialog") as dialog:
            dialog.border_title = self._title()
            yield Static(Content.assemble((r.summary or r.name, "bold"),
                                          (f"  ({r.reason})" if r.reason else "", "dim")), id="summary")
            if r.command is not None:
                yield Static(Content(f"$ {r.command}"), id="command", markup=False)
                sandbox = r.sandbox or "none"
                warn = "" if sandbox != "none" else "  (not sandboxed: runs with your permissions)"
                yield Static(Content.assemble(("in ", "dim"), (r.cwd or "?", ""), ("  ·  sandbox ", "dim"),
                                              (sandbox, "bold"), (warn, "$warning")), id="where")
            detail = request_detail(r, self.arguments)
            if detail is not None:
                with VerticalScroll(id="hunks"):
                    yield Static(Content(detail), id="command", markup=False)
            if self.hunks:
                with VerticalScroll(id="hunks"):
                    seen: set[str] = set()
                    for hunk in self.hunks:
                        if hunk.file_path not in seen:
                            seen.add(hunk.file_path)
                            count = sum(h.file_path == hunk.file_path for h in self.hunks)
                            yield Static(Content.assemble((hunk.file_path, "bold"),
                                                          (f"  {count} hunk{'s' * (count != 1)}", "dim")),
                                         classes="file-title")
                        yield HunkView(hunk)
            elif r.diffs:
                with VerticalScroll(id="hunks"):
                    for item in r.diffs:
                        yield Static(Content(item.get("file_path", "")), classes="file-title")
                        yield Static(diff_content(item.get("diff", "")))
            if r.data_diff:
                yield Static(Content(r.data_diff.rstrip()), id="data-diff", markup=False)
            yield Static(self._keys(), id="keys")
            yield Input(placeholder="Why not? (Enter sends the denial with this note)", id="note")

    def _title(self) -> str:
        r = self.request
        who = f"@{r.specialist}: " if r.specialist else ""  # a specialist's request names it
        if r.command is not None:
            return f"{who}Run this command?"
        if r.diffs:
            files = sorted({d.get("file_path", "") for d in r.diffs})
            return who + (f"Apply this change to {', '.join(files)}?" if len(files) <= 2 else
                          f"Apply this change to {len(files)} files?")
        return f"{who}Allow {r.name}?"

    def _keys(self) -> Content:
        key = "bold $accent"
        parts: list = [("y", key), " once  ", ("a", key), " this session  "]
        if self.request.always_pattern:
            parts += [("A", key), " always allow ", (self.request.always_pattern, "bold"), "  "]
        parts += [("n", key), " deny  ", ("f", key), " deny with a note  ", ("Esc", key), " deny"]
        if self.request.can_diff_data and not self.request.data_diff:
            parts += ["  ", ("d", key), " diff the data first  ", ("s", key), " on a 10% sample"]
        if len(self.hunks) > 1:
            parts += ["\n", ("↑↓", key), " choose a hunk  ", ("space", key), " apply / skip it"]
        return Content.assemble(*parts)

    def on_mount(self) -> None:
        self._show_cursor()

    # -- hunks --------------------------------------------------------------------------------

    @property
    def views(self) -> list[HunkView]:
        return list(self.query(HunkView))

    def accepted(self) -> list[int]:
        return [v.hunk.index for v in self.views if v.accepted]

    def _show_cursor(self) -> None:
        views = self.views
        for i, view in enumerate(views):
            view.set_class(i == self.cursor and len(views) > 1, "-cursor")
        if views:
            views[self.cursor].scroll_visible(animate=False)

    def action_move(self, step: int) -> None:
        if self.views:
            self.cursor = max(0, min(len(self.views) - 1, self.cursor + step))
            self._show_cursor()

    def action_toggle(self) -> None:  # type: ignore[override]  # the hunk toggle, not DOMNode's
        views = self.views
        if views:
            view = views[self.cursor]
            view.accepted = not view.accepted
            view.refresh_view()

    # -- answers ------------------------------------------------------------------------------

    def action_choose(self, choice: str) -> None:
        if choice == "always" and not self.request.always_pattern:
            self.notify("No rule to save for this request; use a (this session) instead.",
                        severity="warning")
            return
        hunks = None
        if self.hunks:
            accepted = self.accepted()
            if not accepted:
                self.dismiss(P.ApprovalDecision(self.request.call_id, "deny_note",
                                                note="The user rejected every hunk of this change."))
                return
            if len(accepted) < len(self.hunks):
                hunks = accepted
        self.dismiss(P.ApprovalDecision(self.request.call_id, choice, hunks=hunks))  # type: ignore[arg-type]

    def action_diff_data(self, sample: int | None = None) -> None:
        if self.request.can_diff_data:
            self.dismiss(P.ApprovalDecision(self.request.call_id, "data_diff", sample=sample))

    def action_deny(self) -> None:
        note_box = self.query_one("#note", Input)
        note = note_box.value.strip() if note_box.has_class("-shown") else ""
        self.dismiss(P.ApprovalDecision(self.request.call_id, "deny_note" if note else "deny", note=note))

    def action_note(self) -> None:
        note_box = self.query_one("#note", Input)
        note_box.add_class("-shown")
        note_box.focus()

    @on(Input.Submitted, "#note")
    def _send_note(self, event: Input.Submitted) -> None:
        event.stop()
        note = event.value.strip()
        self.dismiss(P.ApprovalDecision(self.request.call_id, "deny_note" if note else "deny", note=note))
