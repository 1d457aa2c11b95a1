"""Session files: written by the engine, read back, repaired, listed and resumed (in process)."""

from __future__ import annotations

import io
import json
import os

import pytest

from de_agent import paths
from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.engine.loop import Engine
from de_agent.engine.policy import Policy
from de_agent.sessions import cli as scli
from de_agent.sessions.reader import SessionFileError, list_sessions, load_session, read_info
from de_agent.sessions.resume import Resume
from de_agent.sessions.store import SessionRecorder
from de_agent.tools.base import ToolContext
from de_agent.tools.plan import UpdatePlan
from de_agent.workspace import Workspace
from tests.support.fake_llm import FakeLLM
from tests.test_engine import Echo, Slow

PLAN = [{"step": "read", "status": "completed"}, {"step": "fix", "status": "in_progress"}]


def make_engine(root, script, sid="20260101-000000-aaaaaa", tools=None, record=True):
    events: list[P.Event] = []
    ctx = ToolContext(workspace=Workspace(root), settings=Settings())
    recorder = SessionRecorder(sid, root, "fake/model") if record else None
    engine = Engine(llm=FakeLLM(script), tools=tools or [Echo(), UpdatePlan(), Slow()], ctx=ctx,
                    policy=Policy("default", root, P.Approvals.NOBODY), sink=events.append, session_id=sid,
                    recorder=recorder)
    return engine, events


def tool_pairs_ok(messages):
    """Every assistant tool call is answered right after its message, and no result is orphaned."""
    i = 0
    while i < len(messages):
        m = messages[i]
        if m["role"] == "tool":
            return False
        i += 1
        if m["role"] == "assistant" and m.get("tool_calls"):
            ids = [c["id"] for c in m["tool_calls"]]
            got = []
            while i < len(messages) and messages[i]["role"] == "tool":
                got.append(messages[i]["tool_call_id"])
                i += 1
            if sorted(got) != sorted(ids):
                return False
    return True


async def run_two_turns(repo):
    engine, events = make_engine(repo, [
        {"text": "Planning.", "tool_calls": [{"name": "update_plan", "arguments": {"plan": PLAN}},
                                             {"name": "Echo", "arguments": {"text": "one"}}],
         "cost": 0.125},
        {"text": "First answer.", "cost": 0.0625},
        {"text": "Second answer.", "cost": 0.0625},
    ])
    await engine.run_turn("fix the loader please")
    await engine.run_turn("and now the tests")
    engine.recorder.close()
    return engine, events


async def test_written_session_loads_back_whole(repo):
    engine, _ = await run_two_turns(repo)
    loaded = load_session(engine.recorder.path)
    assert loaded.id == engine.session_id and loaded.title == "fix the loader please"
    assert loaded.meta["repo_root"] == str(repo)
    assert loaded.messages == engine.messages
    assert loaded.turns == 2 and loaded.open_turn is None and not loaded.dangling
    assert loaded.plan == PLAN
    assert loaded.usage == engine.usage.as_dict()
    kinds = [e["type"] for e in loaded.events]
    assert kinds.count("user_message") == 2 and "plan_updated" in kinds and "tool_result" in kinds
    assert not loaded.warnings


async def test_resume_restores_engine_and_appends_to_the_same_file(repo):
    first, _ = await run_two_turns(repo)
    resume = scli.choose_resume(repo, latest=True, ident=None, interactive=False)
    assert resume.session_id == first.session_id
    engine, events = make_engine(repo, [{"text": "Third answer."}], sid="other-id")
    resume(engine)
    assert engine.session_id == first.session_id
    assert engine.recorder.path == first.recorder.path
    assert engine.messages == first.messages
    assert engine.turn_index == 2 and engine.ctx.state.plan == PLAN
    assert engine.usage.prompt_tokens == first.usage.prompt_tokens
    await engine.run_turn("third request")
    assert engine.llm.calls[0][-1] == {"role": "user", "content": "third request"}
    assert engine.llm.calls[0][:-1] == first.messages  # the whole first conversation, tool calls included
    engine.recorder.close()
    again = load_session(first.recorder.path)
    assert again.turns == 3 and again.messages == engine.messages
    assert not (paths.sessions_dir() / "other-id.jsonl").exists()
    info = read_info(first.recorder.path)
    assert info.turns == 3 and info.usage["prompt_tokens"] == 40


async def test_kill_mid_tool_call_resumes_with_an_interrupted_result(repo):
    engine, _ = make_engine(repo, [{"tool_calls": [{"name": "Echo", "arguments": {"text": "a"}},
                                                   {"name": "Slow", "arguments": {}}]}])
    engine.start_turn("run the slow thing")
    import asyncio

    for _ in range(100):
        await asyncio.sleep(0.01)
        if any(m["role"] == "tool" for m in engine.messages):
            break
    # simulate SIGKILL: the file stays as it is, nothing more is written
    path = engine.recorder.path
    data = path.read_bytes()
    engine.recorder._fh = None
    engine.interrupt()
    path.write_bytes(data)

    loaded = load_session(path)
    assert loaded.open_turn == "run the slow thing"
    assert [c.name for c in loaded.dangling] == ["Slow"]
    assert [m["role"] for m in loaded.messages] == ["user", "assistant", "tool"]
    resumed, events = make_engine(repo, [{"text": "ok"}], sid="x")
    Resume(loaded)(resumed)
    assert tool_pairs_ok(resumed.messages)
    notices = [e.message for e in events if isinstance(e, P.Notice)]
    assert any("stopped in the middle of a turn" in n and "Slow" in n for n in notices)
    await resumed.run_turn("go on")
    sent = resumed.llm.calls[0]
    assert tool_pairs_ok([m for m in sent if m["role"] != "system"])
    assert "de-agent stopped" in [m for m in sent if m["role"] == "tool"][-1]["content"]
    resumed.recorder.close()
    final = load_session(path)
    assert not final.dangling and final.open_turn is None and final.turns == 2
    assert tool_pairs_ok(final.messages)


async def test_torn_last_line_is_skipped_with_a_warning_and_mended_on_append(repo):
    engine, _ = await run_two_turns(repo)
    path = engine.recorder.path
    with open(path, "a") as fh:
        fh.write('{"kind": "message", "message": {"role": "assistant", "content": "half')
    loaded = load_session(path)
    assert any("last line was cut off" in w for w in loaded.warnings)
    assert loaded.messages == engine.messages
    resumed, events = make_engine(repo, [{"text": "fine"}], sid="y")
    Resume(loaded)(resumed)
    assert any(isinstance(e, P.Notice) and "cut off" in e.message for e in events)
    await resumed.run_turn("next")
    resumed.recorder.close()
    again = load_session(path)
    assert not any("cut off" in w for w in again.warnings)
    assert again.messages[-1] == {"role": "assistant", "content": "fine"}
    assert all(json.loads(line) for line in path.read_text().splitlines())


async def test_bad_line_in_the_middle_is_skipped_and_named(repo):
    engine, _ = await run_two_turns(repo)
    path = engine.recorder.path
    lines = path.read_text().splitlines()
    lines.insert(3, "{not json")
    path.write_text("\n".join(lines) + "\n")
    loaded = load_session(path)
    assert any("line 4 is not valid JSON" in w for w in loaded.warnings)
    assert loaded.turns == 2


async def test_garbage_and_foreign_files_are_reported_by_name_and_others_still_list(repo):
    engine, _ = await run_two_turns(repo)
    folder = paths.sessions_dir()
    (folder / "garbage.jsonl").write_bytes(os.urandom(300).replace(b"\n", b"x"))
    (folder / "foreign.jsonl").write_text('{"hello": "world"}\n')
    (folder / "empty.jsonl").write_text("")
    infos, problems = list_sessions(repo)
    assert [i.id for i in infos] == [engine.session_id]
    assert len(problems) == 3
    assert any("garbage.jsonl" in p for p in problems)
    assert any("foreign.jsonl" in p and "not a de-agent session" in p for p in problems)
    with pytest.raises(SessionFileError, match="garbage.jsonl"):
        load_session(folder / "garbage.jsonl")
    out = io.StringIO()
    assert scli.list_sessions(repo, out) == 0
    assert engine.session_id in out.getvalue()


async def test_list_shows_id_date_title_turns_model_tokens_cost(repo, tmp_path):
    engine, _ = await run_two_turns(repo)
    other = tmp_path / "elsewhere"
    other.mkdir()
    rec = SessionRecorder("20250101-000000-bbbbbb", other, "x/y")
    rec.begin_turn("another repository")
    rec.end_turn("completed", {"prompt_tokens": 1, "completion_tokens": 1, "cost": None})
    rec.close()
    out = io.StringIO()
    scli.list_sessions(repo, out)
    text = out.getvalue()
    header, row = text.splitlines()
    for column in ("ID", "UPDATED", "TURNS", "MODEL", "TOKENS", "COST", "TITLE"):
        assert column in header
    assert engine.session_id in row and "fake/model" in row and "fix the loader please" in row
    assert " 2 " in row and "45" in row and "$0.2500" in row  # 3 calls x (10 + 5) tokens
    assert "another repository" not in text


async def test_resume_by_prefix_ambiguity_and_misses(repo):
    for sid in ("20260101-000000-abc111", "20260101-000000-abc222"):
        rec = SessionRecorder(sid, repo, "m")
        rec.begin_turn(f"request {sid}")
        rec.end_turn("completed", {"prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0})
        rec.close()
    assert scli.choose_resume(repo, False, "20260101-000000-abc2", False).session_id.endswith("abc222")
    with pytest.raises(LookupError, match="matches 2 sessions"):
        scli.choose_resume(repo, False, "20260101-000000-abc", False)
    with pytest.raises(LookupError, match="no session of this repository matches"):
        scli.choose_resume(repo, False, "zzz", False)


def test_continue_without_sessions_fails_clearly(repo):
    with pytest.raises(LookupError, match="no session to resume"):
        scli.choose_resume(repo, latest=True, ident=None, interactive=False)


async def test_bare_resume_numbered_list_pick_and_headless_failure(repo):
    for sid in ("20260101-000000-aaa111", "20260101-000000-bbb222"):
        rec = SessionRecorder(sid, repo, "m")
        rec.begin_turn(f"request {sid[-6:]}")
        rec.end_turn("completed", {"prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0})
        rec.close()
    os.utime(paths.sessions_dir() / "20260101-000000-aaa111.jsonl", (1, 1))
    err = io.StringIO()
    with pytest.raises(LookupError, match="pass the id"):
        scli.choose_resume(repo, False, "", interactive=False, err=err)
    assert "1  20260101-000000-bbb222" in err.getvalue() and "2  20260101-000000-aaa111" in err.getvalue()

    class Tty(io.StringIO):
        def isatty(self):
            return True

    picked = scli.choose_resume(repo, False, "", interactive=True, stdin=Tty("9\n2\n"), err=io.StringIO())
    assert picked.session_id == "20260101-000000-aaa111"


def test_garbage_after_a_blank_first_line_is_a_session_file_error(tmp_path):
    path = tmp_path / "blank-then-garbage.jsonl"
    path.write_bytes(b"\ngarbage\n")
    with pytest.raises(SessionFileError, match="blank-then-garbage.jsonl"):
        load_session(path)
