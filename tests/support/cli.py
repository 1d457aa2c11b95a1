"""Run the real ``de-agent`` command against the local model server: in this process by default
(``cli.main`` with the environment, working folder and standard streams swapped for the call),
or as a real subprocess (``process=True``) for what only a process shows."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FAKE_KEY = "sk-test-0123456789abcdef-not-real"


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DE_AGENT_")}
    env.update({"DE_AGENT_HOME": str(home), "OPENAI_API_KEY": FAKE_KEY, "PYTHONPATH": str(ROOT),
                "LITELLM_LOCAL_MODEL_COST_MAP": "True", "DE_AGENT_RETRY_BASE_DELAY_S": "0.01",
                "DE_AGENT_SANDBOX": "none"})
    env.update(extra)
    return env


def run_cli(cwd: Path, home: Path, *args: str, server: Any = None, timeout: float = 90,
            env: dict[str, str] | None = None, process: bool = False) -> subprocess.CompletedProcess:
    flags = list(args)
    if server is not None:
        flags += ["--model", "openai/test-model", "--api-base", server.url]
    if not process:
        return run_in_process(cwd, env or cli_env(home), flags, timeout)
    argv = [sys.executable, "-m", "de_agent", *flags]
    return subprocess.run(argv, cwd=cwd, env=env or cli_env(home), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


_ONE_AT_A_TIME = threading.Lock()  # the environment, folder and streams are the process's own


def run_in_process(cwd: Path, env: dict[str, str], flags: list[str], timeout: float) -> subprocess.CompletedProcess:
    """``de-agent FLAGS`` through ``cli.main`` on a fresh thread (so it gets its own event loop)."""
    from de_agent import cli
    from de_agent.llm.adapter import load_litellm

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    if _may_use_litellm(flags, env):
        load_litellm()  # once, with the test process's own environment, as a long-lived process would
    out, err = io.StringIO(), io.StringIO()
    result: dict[str, Any] = {}

    def main() -> None:
        try:
            result["code"] = cli.main(flags)
        except SystemExit as exc:  # argparse: --help, bad flags
            result["code"] = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        except BaseException as exc:  # noqa: BLE001 - reported as the test's failure below
            result["error"] = exc

    with _ONE_AT_A_TIME:
        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                    _stdin_closed():
                worker = threading.Thread(target=main, name="de-agent-in-process", daemon=True)
                worker.start()
                worker.join(timeout)
        finally:
            os.chdir(saved_cwd)
            # What the run set for the whole process (litellm's TIKTOKEN_CACHE_DIR when it first
            # counts tokens) stays, as it would in a process that went on.
            own = {k: v for k, v in os.environ.items() if k not in env and k not in saved_env}
            os.environ.clear()
            os.environ.update(saved_env)
            os.environ.update(own)
    if worker.is_alive():
        raise subprocess.TimeoutExpired(["de-agent", *flags], timeout, out.getvalue(), err.getvalue())
    if "error" in result:
        raise result["error"]
    return subprocess.CompletedProcess(["de-agent", *flags], result["code"], out.getvalue(), err.getvalue())


def _may_use_litellm(flags: list[str], env: dict[str, str]) -> bool:
    """Whether the run's model goes through litellm: not when it is spoken directly (a local
    OpenAI-compatible, Anthropic or Ollama server), which spares each test process litellm's import."""
    from de_agent.config import Settings
    from de_agent.llm.routes import route_for

    def flag(name: str) -> str | None:
        return flags[flags.index(name) + 1] if name in flags[:-1] else None

    model = flag("--model") or flag("-m") or Settings().model
    return route_for(model, flag("--api-base"), env) is None


@contextlib.contextmanager
def _stdin_closed() -> Any:
    saved = sys.stdin
    sys.stdin = io.StringIO("")
    try:
        yield
    finally:
        sys.stdin = saved


def stream_events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]
