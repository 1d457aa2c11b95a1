"""Process-wide settings that keep the screen smooth: garbage collection and thread switching.

Measured while 2,000 tokens/s stream into the chat (benchmarks/bench_tui.py):

- A full (generation 2) collection walks every live object; with litellm and Textual loaded
  that is ~400,000 objects and a 250-350 ms pause, several times a minute while streaming.
  Everything loaded at start-up lives for the whole run, so it is frozen out of the
  collector's sight (:func:`gc.freeze`), and full collections run when no text is streaming
  (:func:`collect_when_idle`: after a turn, or during a quiet moment of one) instead of in
  the middle of a stream.
- The engine runs on its own thread. With Python's default 5 ms switch interval, each
  network read of the engine waits up to 5 ms for the UI thread to give up the GIL, which
  capped streaming at a third of the provider's rate; 1 ms keeps both fed.
"""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from de_agent.config import Settings

SWITCH_INTERVAL_S = 0.001
NO_AUTOMATIC_FULL_COLLECTION = 10**9


def tune_threads() -> None:
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def freeze_startup_objects() -> None:
    """Take the objects alive now (modules, classes, caches) out of future collections, and
    leave full collections to :func:`collect_when_idle`."""
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, NO_AUTOMATIC_FULL_COLLECTION)


def collect_when_idle() -> int:
    """A full collection, run by the app when no text is streaming."""
    return gc.collect()


def collection_due(min_young_collections: int = 20) -> bool:
    """Enough young collections happened since the last full one to make another worth it."""
    return gc.get_count()[2] >= min_young_collections


def preload_then_freeze(settings: Settings) -> None:
    """Import what the first model call needs in the background, then freeze the start-up
    objects (see runtime.py). litellm only when the model is not spoken directly: it costs
    seconds and ~60 MiB."""
    from de_agent.llm.adapter import fast_start, preload_in_background
    from de_agent.llm.routes import route_for

    fast_start()
    if not settings.stream or route_for(settings.model, settings.api_base) is None:
        preload_in_background().join()
    else:
        import httpx  # noqa: F401 - the direct client's one import
    freeze_startup_objects()
