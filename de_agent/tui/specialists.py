"""How the TUI shows specialists and questions: routing a child's events into its chat block and
its plan into the plan pane, the AskUser modal, and the key that starts a named follow-up.

Called from :meth:`DeAgentApp.apply_event` on the UI thread only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from de_agent import protocol as P

if TYPE_CHECKING:
    from de_agent.tui.app import DeAgentApp


def _first_line(text: str, width: int = 110) -> str:
    line = " ".join(text.strip().split())
    return line if len(line) <= width else line[: width - 1] + "…"


def apply_specialist_event(app: DeAgentApp, event: P.Event) -> bool:
    """Show a handoff or a specialist's event; True when it was handled here."""
    chat = app.chat
    match event:
        case P.HandoffStarted():
            chat.add_handoff(event.call_id, event.specialist, event.task, event.read_only)
            chat.tool_state(event.call_id, "running", f"@{event.specialist} working")
            return True
        case P.HandoffFinished():
            chat.finish_handoff(event.call_id, event.stop_reason, event.report)
            if event.specialist in app.plan_pane.child_plans and event.stop_reason != "completed":
                pass  # the plan stays as it was left, under its name
            return True
        case P.Question():
            ask_question(app, event)
            return True
    if not event.handoff_id:
        return False
    hid = event.handoff_id
    match event:
        case P.ToolCall():
            if event.name != "update_plan":
                chat.child_step(hid, "called", event.call_id, f"{event.name}  {_first_line(event.summary, 90)}")
        case P.Approval(decision="denied"):
            chat.child_step(hid, "update:denied", event.call_id)
        case P.ToolResult():
            if event.name != "update_plan":
                chat.child_step(hid, "update:" + ("ok" if event.ok else "failed"), event.call_id)
        case P.AssistantMessage():
            if event.text.strip():
                chat.child_step(hid, "text", f"text-{id(event)}", _first_line(event.text, 200))
        case P.PlanUpdated():
            app.plan_pane.show_child_plan(event.specialist, event.plan)
        case P.ApprovalRequest() | P.Diff() | P.Usage() | P.Error() | P.Notice():
            return False  # shown as the main agent's are (the approval names the specialist)
    return True


def ask_question(app: DeAgentApp, question: P.Question) -> None:
    from de_agent.tui.screens.question import QuestionScreen

    screen = QuestionScreen(question)

    def answered(answer: str | None) -> None:
        if screen.closed_by_turn_end:
            return  # nobody waits for the answer any more
        app.chat.add_notice(f"{'@' + question.specialist + ' asked' if question.specialist else 'Asked'}: "
                            f"{question.question} → {answer if answer is not None else '(skipped)'}")
        app.host.submit(P.AnswerQuestion(question.call_id, answer))

    app.push_screen(screen, answered)


def turn_finished(app: DeAgentApp, handoff: dict[str, str] | None) -> None:
    """A question left open by an interrupted turn closes; a named follow-up is offered."""
    from de_agent.tui.screens.question import QuestionScreen

    for screen in list(app.screen_stack):
        if isinstance(screen, QuestionScreen):
            screen.closed_by_turn_end = True
            screen.dismiss(None)
    offer_follow_up(app, handoff)


def offer_follow_up(app: DeAgentApp, handoff: dict[str, str] | None) -> None:
    app.follow_up = handoff
    if handoff:
        app.chat.add_notice(f"Next: @{handoff['specialist']} {handoff['task']} - press Ctrl+N to hand it off.")


def start_follow_up(app: DeAgentApp) -> None:
    handoff = app.follow_up
    if not handoff:
        app.notify("No follow-up was named.", timeout=2)
        return
    app.follow_up = None
    app.send(f"@{handoff['specialist']} {handoff['task']}")
