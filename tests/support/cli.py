"""Run the real ``de-agent`` command as a subprocess against the local model server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "de_agent", *args]
    if server is not None:
        argv += ["--model", "openai/test-model", "--api-base", server.url]
    return subprocess.run(argv, cwd=cwd, env=env or cli_env(home), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def stream_events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]
