"""AskUser at the plain REPL's prompt: the question, its options numbered, and one line of answer.

The person types an option's number (several, comma-separated, when the question allows it)
or any text of their own; an empty line or Ctrl+D dismisses the question (the model is then
told to state its assumption). Ctrl+C raises KeyboardInterrupt so the REPL interrupts the turn.
"""

from __future__ import annotations

from rich.text import Text

from de_agent import protocol as P
from de_agent.frontends.plain_input import PromptIO
from de_agent.frontends.plain_render import PlainRenderer


def answer_from(line: str, question: P.Question) -> str | None:
    """The answer a typed line means: option labels for numbers, else the text itself."""
    text = line.strip()
    if not text:
        return None
    picks = [p.strip() for p in text.split(",")]
    options = question.options
    if options and all(p.isdigit() and 1 <= int(p) <= len(options) for p in picks):
        if not question.multiple:
            picks = picks[:1]
        return ", ".join(options[int(p) - 1]["label"] for p in picks)
    return text


class QuestionPrompt(PromptIO):
    """Asks a person an AskUser question and returns the answer for the engine."""

    out: PlainRenderer

    async def ask(self, question: P.Question) -> P.AnswerQuestion:
        who = f"@{question.specialist} asks" if question.specialist else "de-agent asks"
        self.out.print(Text.assemble(("? ", "bold magenta"), (who, "bold"), ": ", question.question))
        for number, option in enumerate(question.options, 1):
            extra = f" - {option['description']}" if option.get("description") else ""
            self.out.print(Text(f"  {number}. {option['label']}{extra}"))
        hint = ("number(s), comma-separated, or your own answer" if question.multiple
                else "a number or your own answer") if question.options else "your answer"
        try:
            line = await self.line(f"{hint} (Enter to skip) › ")
        except EOFError:
            line = ""
        answer = answer_from(line, question)
        self.out.print(Text(f"  → {answer if answer is not None else 'skipped'}", style="green"))
        return P.AnswerQuestion(question.call_id, answer)
