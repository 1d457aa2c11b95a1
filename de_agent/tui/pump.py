"""Engine events on their way to the UI thread: one Textual message per batch, in order, with
neighbouring text deltas (and a running command's output chunks) joined so a fast stream
costs one repaint, not hundreds."""

from __future__ import annotations

from textual.message import Message

from de_agent import protocol as P


class EngineEvents(Message):
    """A batch of engine events, in order (adjacent text deltas already merged); ``count``
    is how many events the batch took off the queue, before merging."""

    def __init__(self, events: list[P.Event], count: int) -> None:
        super().__init__()
        self.events = events
        self.count = count


def merge_deltas(events: list[P.Event]) -> list[P.Event]:
    merged: list[P.Event] = []
    for event in events:
        last = merged[-1] if merged else None
        if isinstance(event, P.AssistantDelta) and isinstance(last, P.AssistantDelta):
            merged[-1] = P.AssistantDelta(last.text + event.text)
        elif isinstance(event, P.ToolOutput) and isinstance(last, P.ToolOutput) and last.call_id == event.call_id:
            merged[-1] = P.ToolOutput(event.call_id, last.text + event.text)
        else:
            merged.append(event)
    return merged
