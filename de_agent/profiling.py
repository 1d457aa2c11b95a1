"""``DE_AGENT_PROFILE=1``: profile a whole run and write the report under the user state folder."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from de_agent import paths


def profiled(run: Callable[[], int]) -> int:
    out_dir = paths.home() / "profiles"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        from pyinstrument import Profiler
    except ImportError:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        try:
            return prof.runcall(run)
        finally:
            target = out_dir / f"profile-{stamp}.txt"
            with target.open("w") as fh:
                pstats.Stats(prof, stream=fh).sort_stats("cumulative").print_stats(60)
            print(f"de-agent: profile written to {target}", file=sys.stderr)
    profiler = Profiler()
    profiler.start()
    try:
        return run()
    finally:
        profiler.stop()
        target = out_dir / f"profile-{stamp}.html"
        target.write_text(profiler.output_html())
        print(f"de-agent: profile written to {target}", file=sys.stderr)
