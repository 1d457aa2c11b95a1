"""Start-up of the TUI: the first frame comes before litellm (and the engine) are imported."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

FIRST_FRAME_PROBE = textwrap.dedent("""
    import asyncio, json, sys, time
    from pathlib import Path
    started = time.perf_counter()
    from de_agent.config import Settings
    from de_agent.tui.app import DeAgentApp

    seen = {}

    class Probe(DeAgentApp):
        def _after_first_frame(self):
            seen["litellm"] = "litellm" in sys.modules
            seen["engine"] = "de_agent.engine.loop" in sys.modules
            seen["markdown"] = "textual.widgets._markdown" in sys.modules
            seen["seconds"] = time.perf_counter() - started
            super()._after_first_frame()

    async def main():
        settings = Settings(model="openai/test-model", api_base="http://127.0.0.1:9/v1", sandbox="none")
        app = Probe(settings, Path(sys.argv[1]))
        async with app.run_test(size=(100, 30)) as pilot:
            while not app.status.session_id:
                await pilot.pause(0.02)
            seen["engine_after"] = "de_agent.engine.loop" in sys.modules
    asyncio.run(main())
    print(json.dumps(seen))
""")


def test_first_frame_comes_before_litellm_and_the_engine(repo):
    proc = subprocess.run([sys.executable, "-c", FIRST_FRAME_PROBE, str(repo)], capture_output=True,
                          text=True, timeout=60, cwd=repo)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["litellm"] is False
    assert seen["engine"] is False
    assert seen["markdown"] is False  # the Markdown widget loads with the first answer
    assert seen["engine_after"] is True


def test_importing_the_app_module_stays_light():
    code = ("import sys, json; import de_agent.tui.app; "
            "print(json.dumps({m: m in sys.modules for m in ('litellm', 'de_agent.engine.loop', "
            "'de_agent.frontends.factory', 'duckdb', 'pygments')}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"litellm": False, "de_agent.engine.loop": False,
                                       "de_agent.frontends.factory": False, "duckdb": False,
                                       "pygments": False}
