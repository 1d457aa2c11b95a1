"""The ACP mapping without a process: diffs rebuilt as old/new text, permission options and
answers, prompt blocks, tool kinds and locations."""

from __future__ import annotations

from pathlib import Path

import pytest
from acp import image_block, resource_block, resource_link_block, text_block
from acp.helpers import embedded_text_resource
from acp.schema import AllowedOutcome, DeniedOutcome, RequestPermissionResponse

from de_agent import protocol as P
from de_agent.frontends.acp import updates as U
from de_agent.tools.helpers.diffs import unified_diff


@pytest.mark.parametrize("old, new", [
    ("a\nb\nc\n", "a\nB\nc\n"),
    ("".join(f"line {i}\n" for i in range(40)), "".join(f"line {i}\n" for i in range(40) if i not in (3, 30)) + "end\n"),
    ("no newline", "no newline\nnow two"),
    ("x\ny\n", "x\ny"),
    ("", "brand new\n"),
])
def test_unified_diff_applies_back_to_the_new_text(old, new):
    assert U.apply_unified(old, unified_diff(old or None, new, "f.txt")) == new


def test_diff_content_for_a_new_file_and_text_for_a_binary_one(tmp_path):
    content = U.diff_content(tmp_path, P.Diff("new.txt", unified_diff(None, "hello\n", "new.txt")))
    assert content.type == "diff" and content.old_text is None and content.new_text == "hello\n"
    assert content.path == str(tmp_path / "new.txt")
    binary = P.Diff("a.png", "diff --git a/a.png b/a.png\nBinary file a.png added: PNG image, 2x2\n", call_id="c")
    assert U.diff_content(tmp_path, binary) is None
    (update,) = U.to_updates(binary, tmp_path)
    assert update.content[0].type == "content" and "Binary file a.png added" in update.content[0].content.text


def test_permission_options_and_answers():
    request = P.ApprovalRequest("c1", "Shell", "execute", "run pytest", command="pytest -q",
                                always_pattern="pytest *")
    options = U.permission_options(request)
    assert [(o.option_id, o.kind) for o in options] == [
        ("once", "allow_once"), ("session", "allow_always"), ("always", "allow_always"), ("deny", "reject_once")]
    assert "pytest *" in options[2].name
    no_pattern = U.permission_options(P.ApprovalRequest("c2", "Edit", "edit", "edit a.py"))
    assert [o.option_id for o in no_pattern] == ["once", "session", "deny"]
    chosen = RequestPermissionResponse(outcome=AllowedOutcome(option_id="session", outcome="selected"))
    assert U.choice_of(chosen) == "session"
    assert U.choice_of(RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))) == "deny"
    unknown = RequestPermissionResponse(outcome=AllowedOutcome(option_id="sudo", outcome="selected"))
    assert U.choice_of(unknown) == "deny"


def test_prompt_blocks_become_text_and_images():
    blocks = [text_block("look at"), resource_link_block("a.sql", "file:///repo/a.sql"),
              resource_block(embedded_text_resource("file:///repo/b.sql", "select 1")),
              image_block("aGk=", "image/png")]
    text, images = U.prompt_text(blocks)
    assert text.startswith("look at\n@/repo/a.sql\n") and "select 1" in text and "file:///repo/b.sql" in text
    assert images == [{"mime_type": "image/png", "data": "aGk=", "uri": None}]


def test_tool_calls_carry_kind_locations_and_title(tmp_path):
    (update,) = U.to_updates(P.ToolCall("c1", "Edit", {"file_path": "etl/load.py", "old_string": "x"}), tmp_path)
    assert update.kind == "edit" and update.status == "pending"
    assert [loc.path for loc in update.locations] == [str(Path(tmp_path) / "etl" / "load.py")]
    assert update.title == "Edit etl/load.py"
    (shell,) = U.to_updates(P.ToolCall("c2", "Shell", {"command": "pytest -q"}), tmp_path)
    assert shell.kind == "execute" and shell.title == "Shell pytest -q"
    assert U.tool_kind("SearchText") == "search" and U.tool_kind("WebFetch") == "fetch"
    assert U.to_updates(P.AssistantMessage("done"), tmp_path) == []  # already streamed as chunks
    assert U.to_updates(P.AssistantMessage("done"), tmp_path, replay=True)[0].content.text == "done"
