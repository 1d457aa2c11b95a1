"""Start-up guards: the fast paths import nothing heavy, and the engine never imports textual."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import de_agent

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("litellm", "textual", "duckdb")


def imported_after(code: str, cwd: Path = ROOT) -> dict:
    probe = (f"import sys\n{code}\nimport json\n"
             f"print('@@' + json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", probe], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("@@")]
    assert line, proc.stdout + proc.stderr
    return json.loads(line[-1][2:])


def test_version_imports_nothing_heavy():
    loaded = imported_after("from de_agent.cli import main\nmain(['--version'])")
    assert loaded == {m: False for m in HEAVY}


def test_version_flag_prints_version():
    proc = subprocess.run([sys.executable, "-m", "de_agent", "--version"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"de-agent {de_agent.__version__}"


def test_headless_argument_errors_import_nothing_heavy(tmp_path):
    code = ("from de_agent.cli import main\n"
            "for argv in (['-p', '', '-m', 'openai/x'], ['-p', 'x', '--max-turns', '0'],\n"
            "             ['-p', 'x', '--approval-mode', 'bogus']):\n"
            "    try:\n"
            "        rc = main(argv)\n"
            "    except SystemExit as e:\n"
            "        rc = e.code\n"
            "    assert rc == 2, (argv, rc)\n")
    loaded = imported_after(code, cwd=tmp_path)
    assert loaded == {m: False for m in HEAVY}


def _engine_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(de_agent.__path__, "de_agent."):
        if info.name.startswith("de_agent.tui") or info.name == "de_agent.__main__":
            continue
        names.append(info.name)
    return names


def test_engine_imports_without_textual():
    modules = _engine_modules()
    assert "de_agent.engine.loop" in modules and "de_agent.frontends.headless" in modules
    code = "import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    loaded = imported_after(code)
    assert loaded["textual"] is False


def test_engine_construction_does_not_import_litellm(repo):
    code = ("from pathlib import Path\n"
            "from de_agent.config import Settings\n"
            "from de_agent.frontends.factory import build_engine\n"
            f"build_engine(Settings(sandbox='none'), Path({str(repo)!r}), lambda e: None, record=False)\n")
    loaded = imported_after(code)
    assert loaded["litellm"] is False and loaded["textual"] is False


def test_profile_switch_writes_a_profile(repo, de_agent_home):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DE_AGENT_PROFILE": "1", "DE_AGENT_HOME": str(de_agent_home)}
    proc = subprocess.run([sys.executable, "-m", "de_agent", "--list-sessions"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    written = list((de_agent_home / "profiles").glob("profile-*"))
    assert len(written) == 1 and "profile written to" in proc.stderr
    assert "cli.py" in written[0].read_text()
