"""Attack battery, part 8: the command policy reads commands as bash and the programs do, and
keeps friction low: at most 4 of 67 commands that peer assistants treat as safe ask here.

The attack cases (``tests/support/attacks.py``) are new spellings of each class of issue 11;
every one must ask. End to end, the same commands go through the real ``de-agent -p`` in
``default`` mode with ``--sandbox none`` (the policy is the only barrier; headless turns every
"ask" into a denial): no marker appears outside and nothing secret reaches the model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from de_agent.security.commands import classify
from tests.conftest import git
from tests.support.attacks import ATTACKS
from tests.support.cli import run_cli, stream_events
from tests.support.openai_server import ScriptedServer, tool_messages
from tests.support.peer_safe import PEER_SAFE
from tests.support.security import SECRET_TEXT, make_outside

MAX_ASKING = 4


@pytest.fixture
def battlefield(repo, tmp_path):
    outside = make_outside(tmp_path)
    (repo / "link").symlink_to(outside)
    (repo / ".env").write_text("DB_PASSWORD=hunter2-secret\n")
    (repo / "secrets").mkdir()
    (repo / "secrets" / "id_rsa").write_text("hunter2 private key\n")
    (repo / "empty").mkdir()
    (repo / "README.md").write_text("# demo\n")
    (repo / "list0").write_bytes(str(outside / "secret.txt").encode() + b"\0")
    git(repo, "add", "-f", ".env", "secrets/id_rsa")
    git(repo, "commit", "-qm", "secrets committed by mistake")
    return repo, outside


def _command(template: str, marker, outside) -> str:
    return template.format(m=marker, out=outside)


@pytest.mark.parametrize(("cls", "case", "template", "_e2e"), ATTACKS, ids=[a[1] for a in ATTACKS])
def test_attack_spelling_asks(battlefield, tmp_path, cls, case, template, _e2e):
    repo, outside = battlefield
    command = _command(template, tmp_path / f"pwned-{case}", outside)
    verdict = classify(command, repo)
    assert verdict.verdict != "allow", f"{cls}/{case}: `{command}` would run unasked"


def test_peer_safe_commands_rarely_ask(repo):
    asking = [(c, classify(c, repo).reason) for c in PEER_SAFE if classify(c, repo).verdict != "allow"]
    assert len(PEER_SAFE) == 67
    assert len(asking) <= MAX_ASKING, asking


@pytest.mark.e2e
def test_attacks_end_to_end_never_run_or_leak(battlefield, de_agent_home, tmp_path):
    repo, outside = battlefield
    cases = [(case, _command(t, tmp_path / f"pwned-{case}", outside)) for _c, case, t, ok in ATTACKS if ok]
    script = [{"tool_calls": [{"name": "Shell", "arguments": {"command": c}} for _, c in cases]},
              {"text": "done"}]
    with ScriptedServer(script) as server:
        proc = run_cli(repo, de_agent_home, "-p", "go", "--output-format", "stream-json", server=server,
                       timeout=300)
    assert proc.returncode == 0, proc.stderr
    events = stream_events(proc.stdout)
    ran = [e for e in events if e["type"] == "approval" and e["decision"] == "approved"]
    assert ran == [], ran
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("pwned-")]
    sent = json.dumps([m["content"] for m in tool_messages(server.requests[1])])
    assert SECRET_TEXT not in sent and "hunter2" not in sent, sent
    assert (repo / "README.md").read_text() == "# demo\n"


@pytest.mark.e2e
def test_ordinary_read_only_commands_still_run_unasked(repo, de_agent_home):
    script = [{"tool_calls": [{"name": "Shell", "arguments": {"command": c}} for c in
                              ("sed -n 1,5p README.md", "cd etl && cat load.py", "grep -R load .",
                               "git -C . branch --show-current", "expr 1 + 2")]},
              {"text": "done"}]
    with ScriptedServer(script) as server:
        proc = run_cli(repo, de_agent_home, "-p", "go", "--output-format", "stream-json", server=server)
    assert proc.returncode == 0, proc.stderr
    results = [e for e in stream_events(proc.stdout) if e["type"] == "tool_result"]
    assert all(r["ok"] for r in results), results
    assert "def load" in results[1]["output"] and "main" in results[3]["output"] and "3" in results[4]["output"]


def test_before_and_after_counts_are_reported(battlefield, tmp_path, capsys):
    """Prints how many attack spellings the policy of `main` let through (when main is there)."""
    repo, outside = battlefield
    commands = [_command(t, tmp_path / f"pwned-{c}", outside) for _k, c, t, _ in ATTACKS]
    after = sum(classify(c, repo).verdict == "allow" for c in commands)
    assert after == 0
    before = _count_on_main(commands, repo, tmp_path)
    print(f"attack spellings allowed: before {before}, after {after} of {len(commands)}")


def _count_on_main(commands, repo, tmp_path):
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    old = tmp_path / "main-src"
    old.mkdir()
    archive = subprocess.run(["git", "archive", "main", "de_agent"], cwd=here, capture_output=True)
    if archive.returncode != 0:
        return None
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    script = ("import json,sys\nfrom de_agent.security.commands import classify\n"
              "cmds=json.load(sys.stdin)\nprint(sum(classify(c, sys.argv[1]).verdict == 'allow' for c in cmds))")
    proc = subprocess.run([sys.executable, "-c", script, str(repo)],
        input=json.dumps(commands), capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(old)},
        cwd=str(tmp_path))
    return int(proc.stdout.strip()) if proc.returncode == 0 else None
