"""Edit and WriteFile: change files the way a careful person would.

``prepare`` reads the file, works out the new content and its unified diff, and touches
nothing on disk. ``run`` re-reads the file, refuses if it changed in the meantime, applies
all hunks or only the accepted ones, and writes atomically through the workspace, keeping
the file's encoding, line endings, final newline and permissions (see :mod:`textio`).
Matching of ``old_string`` is in :mod:`edit_match`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from pydantic import Field

from de_agent.tools.base import (
    EDIT,
    READ,
    Action,
    FileChange,
    Outcome,
    Tool,
    ToolContext,
    ToolError,
    bound_text,
    looks_binary,
    simple_action,
)
from de_agent.tools.helpers.diffs import (
    Hunk,
    apply_hunks,
    describe_hunks,
    diff_stats,
    make_hunks,
    unified_diff,
)
from de_agent.tools.helpers.edit_hints import find_placeholder, placeholder_message
from de_agent.tools.helpers.edit_match import EditResult, apply_edit
from de_agent.tools.helpers.textio import (
    EncodingProblem,
    TextInfo,
    conform,
    decode,
    encode_like,
    info_for_new,
    normalize_newlines,
)
from de_agent.tools.schema import ToolArgs
from de_agent.tools.text_files import read_text, write_text
from de_agent.workspace import ConfinementError, Workspace

MAX_EDIT_BYTES = 20 * 1024 * 1024
SHOWN_DIFF_LINES = 120


@dataclass
class _Current:
    """The file as prepare saw it."""

    rel: str
    data: bytes | None  # None: the file does not exist
    text: str
    info: TextInfo
    seen: str | None = None  # the editor's text of the file, when it gave it (``text`` is made from it)


async def _current(ctx: ToolContext, file_path: str) -> _Current:
    """The file as the disk has it, or, for a text file an editor offers to read, as its buffer has it."""
    current = _read(ctx, file_path)
    seen = await read_text(ctx, current.rel, current.data, MAX_EDIT_BYTES) if current.data is not None else None
    if seen is None:
        return current
    text = normalize_newlines(seen)
    info = replace(current.info, final_newline=text.endswith("\n") if text else None)
    return _Current(current.rel, current.data, text, info, seen)


def _read(ctx: ToolContext, file_path: str) -> _Current:
    try:
        rel = str(ctx.workspace.relative(file_path))
    except ConfinementError as exc:
        raise ToolError(str(exc)) from None
    if rel == ".":
        raise ToolError(f"{file_path}: is the repository root, not a file")
    if ".git" in (part.lower() for part in rel.split("/")):
        raise ToolError(f"{rel}: inside .git; git's own files are changed with git commands only")
    try:
        data = ctx.workspace.read_bytes(rel, limit=MAX_EDIT_BYTES + 1)
    except FileNotFoundError:
        return _Current(rel, None, "", TextInfo())
    except IsADirectoryError:
        raise ToolError(f"{rel} is a directory, not a file") from None
    except NotADirectoryError:
        raise ToolError(f"{rel}: a parent of this path is a file, not a directory") from None
    except ConfinementError as exc:
        raise ToolError(str(exc)) from None
    if len(data) > MAX_EDIT_BYTES:
        raise ToolError(f"{rel} is larger than {MAX_EDIT_BYTES // (1024 * 1024)} MiB; edit it with a "
                        "command (Shell) instead")
    if looks_binary(data) and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ToolError(f"{rel} looks like a binary file; Edit and WriteFile only change text files")
    text, info = decode(data)
    return _Current(rel, data, text, info)


def _encode(current: _Current, text: str) -> bytes:
    try:
        return encode_like(text, current.info)
    except EncodingProblem as exc:
        raise ToolError(f"{current.rel}: {exc}. Nothing was changed.") from None


def _change_action(ctx: ToolContext, current: _Current, new_text: str, verb: str,
                   result: EditResult | None) -> Action:
    """The Action for replacing ``current`` with ``new_text`` (already in the file's conventions)."""
    created = current.data is None
    old_text = current.text
    _encode(current, new_text)  # fail now, before approval, if it cannot be stored
    all_hunks = make_hunks(old_text, new_text)  # once per edit: big files make this the costly part
    diff = unified_diff(None if created else old_text, new_text, current.rel, hunks=all_hunks)
    added, removed = sum(h.added for h in all_hunks), sum(h.removed for h in all_hunks)
    what = "create" if created else verb
    summary = f"{what} {current.rel} (+{added} -{removed})"

    async def run(hunks: list[int] | None) -> Outcome:
        return await _write(ctx, current, new_text, hunks, (all_hunks, diff), result, created)

    return Action(kind=EDIT, summary=summary, run=run, paths=[current.rel],
                  changes=[FileChange(current.rel, diff, new_text)], secret_read=Workspace.is_secret(current.rel))


async def _write(ctx: ToolContext, current: _Current, new_text: str, hunks: list[int] | None,
                 made: tuple[list[Hunk], str], result: EditResult | None, created: bool) -> Outcome:
    rel = current.rel
    all_hunks, full_diff = made
    hunk_count = len(all_hunks)
    try:
        now = ctx.workspace.read_bytes(rel, limit=MAX_EDIT_BYTES + 1)
    except FileNotFoundError:
        now = None
    if now != current.data:
        state = "was deleted" if now is None else ("was created" if current.data is None else "changed")
        raise ToolError(f"{rel} {state} on disk after this edit was prepared (by the user or a "
                        "command). Nothing was written. Read the file again and redo the edit.")
    if current.seen is not None and now is not None and await read_text(ctx, rel, now, MAX_EDIT_BYTES) != current.seen:
        raise ToolError(f"{rel} changed in the editor after this edit was prepared. Nothing was written. "
                        "Read the file again and redo the edit.")
    partial = hunks is not None and set(hunks) != set(range(hunk_count))
    if partial and hunks is not None:
        try:
            final = apply_hunks(current.text, new_text, hunks or [], hunks=all_hunks)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        if final == current.text:
            return Outcome(False, f"Nothing was written to {rel}: the user accepted none of the "
                                  f"{hunk_count} hunks. The file is unchanged.",
                           display={"kind": "diff", "file_path": rel, "diff": "", "hunks": hunks})
    else:
        final = new_text
    try:
        await write_text(ctx, rel, _encode(current, final), current.data)
    except (ConfinementError, OSError) as exc:
        raise ToolError(f"{rel}: could not write ({exc}); nothing was changed") from None
    applied = unified_diff(None if created else current.text, final, rel) if partial else full_diff
    hunk_words = describe_hunks(all_hunks, hunks) if partial else ""
    output = _report(current, final, result, created, partial, hunk_words, applied)
    return Outcome(True, output, display={"kind": "diff", "file_path": rel, "diff": applied,
                                          "hunks": hunks, "match": result.note() if result else ""},
                   changed=[rel], applied_diffs=[(rel, applied)])


def _report(current: _Current, final: str, result: EditResult | None, created: bool, partial: bool,
            hunk_words: str, applied: str) -> str:
    rel = current.rel
    added, removed = diff_stats(applied)
    if created:
        lines = len(final.splitlines())
        head = f"Created {rel} ({lines} line{'s' if lines != 1 else ''})."
    else:
        head = f"Edited {rel} (+{added} -{removed})"
        if result is not None:
            head += f": {result.note()}"
        head += "."
    notes = [head]
    kept = current.info.describe() if current.data is not None else ""
    if kept:
        notes.append(f"Kept the file's {kept}.")
    if partial:
        notes.append(f"Only part of the change was applied: {hunk_words}. The diff below is the change now in the "
                     "file; take the rejected hunks into account before editing again.")
    if partial or (result is not None and not result.exact):
        notes.append(bound_text(applied, max_lines=SHOWN_DIFF_LINES, what="diff").rstrip("\n"))
    notes.append("Do not send the applied hunks again." if partial else "The edit is applied; do not send it again.")
    return "\n".join(notes)


_PATH = "Path of the file, relative to the repository root."


class EditArgs(ToolArgs):
    file_path: str = Field(min_length=1, description=_PATH)
    old_string: str = Field(description="The exact text to replace.")
    new_string: str = Field(description="The text to put in its place.")
    allow_multiple: bool = Field(False, description="Replace every exact occurrence (default false).")


class WriteFileArgs(ToolArgs):
    file_path: str = Field(min_length=1, description=_PATH)
    content: str = Field(description="The complete new content of the file.")


class FileChangeTool(Tool):
    """A tool that changes one file (``file_path``) and reports how, as Edit and WriteFile do."""

    kind = EDIT
    key_arguments = ("file_path",)

    def result_summary(self, ok: bool, output: str, display: dict[str, Any] | None) -> str:
        """The report's first line: "Edited x.sql (+3 -1): exact match at line 12.", "Created y.sql
        (4 lines).", or what went wrong (the call line already names the file)."""
        from de_agent.tools.summaries import cut

        return cut(output.strip().split("\n", 1)[0], 200)


class Edit(FileChangeTool):
    name = "Edit"
    description = (
        "Replace old_string with new_string in a file. Copy old_string exactly from the file (after "
        "reading it), including indentation, without line numbers, and with enough surrounding lines to "
        "match exactly one place; the edit fails if it matches none or several (set allow_multiple to "
        "replace every exact occurrence). Small slips in whitespace, indentation or quote characters are "
        "tolerated when the place is still unambiguous. Never use placeholders such as '# ... existing "
        "code ...' in new_string: the text is written literally. An empty old_string creates a new file.")
    Args = EditArgs

    async def act(self, args: EditArgs, ctx: ToolContext) -> Action:
        file_path, old, new, allow_multiple = args.file_path, args.old_string, args.new_string, args.allow_multiple
        current = await _current(ctx, file_path)
        if current.data is None:
            if old:
                raise ToolError(f"{current.rel} does not exist. Check the path (FindFiles), or create the "
                                "file with WriteFile (or Edit with an empty old_string).")
            return _create(ctx, current, new, field="new_string")
        if not old:
            if current.data or current.seen:
                raise ToolError(f"{current.rel} already exists and old_string is empty. Give the exact text "
                                "to replace, or use WriteFile to replace the whole file.")
            return _create(ctx, current, new, verb="fill", field="new_string")
        secret = Workspace.is_secret(current.rel)
        try:
            # Matching a big file can take a moment; keep the event loop free meanwhile.
            result = await asyncio.to_thread(apply_edit, current.text, old, new,
                                             allow_multiple=allow_multiple, secret=secret)
            new_text = conform(result.text, current.info)
            if new_text == current.text:
                raise ToolError(f"the edit would leave {current.rel} unchanged; nothing to do")
        except ToolError as exc:
            if secret:
                return _deferred_failure(current.rel, "edit", exc)
            raise
        return _change_action(ctx, current, new_text, "edit", result)


def _deferred_failure(rel: str, verb: str, error: ToolError) -> Action:
    """For a secret-looking file, whether old_string matched is itself a clue to the secret:
    the answer waits until a person has approved (headless: denied) reading the file."""

    async def run(_hunks: list[int] | None) -> Outcome:
        raise error

    return Action(kind=EDIT, summary=f"{verb} {rel} (a file that may hold secrets)", run=run,
                  paths=[rel], secret_read=True)


def _create(ctx: ToolContext, current: _Current, content: str, verb: str = "write",
            field: str = "content") -> Action:
    placeholder = find_placeholder(content, current.text)
    if placeholder:
        raise ToolError(placeholder_message(field, *placeholder))
    if current.data is None or not (current.data or current.seen):
        current = _Current(current.rel, current.data, "", info_for_new(content), current.seen)
    text = content.replace("\r\n", "\n")
    return _change_action(ctx, current, text, verb, None)


class WriteFile(FileChangeTool):
    name = "WriteFile"
    description = (
        "Create a file, or replace a whole file, with content. Parent folders are created. For a change "
        "to part of an existing file prefer Edit. Write the complete content: placeholders such as "
        "'// ... rest of code ...' are refused because they would delete code. An existing file keeps its "
        "encoding, line endings and final-newline convention.")
    Args = WriteFileArgs

    async def act(self, args: WriteFileArgs, ctx: ToolContext) -> Action:
        file_path, content = args.file_path, args.content
        current = await _current(ctx, file_path)
        if current.data is None or not (current.data or current.seen):
            return _create(ctx, current, content)
        placeholder = find_placeholder(content, current.text)
        if placeholder:
            raise ToolError(placeholder_message("content", *placeholder))
        new_text = conform(content.replace("\r\n", "\n"), current.info)
        if new_text == current.text:
            rel = current.rel
            if Workspace.is_secret(rel):
                return _deferred_failure(rel, "overwrite", ToolError(
                    f"{rel} already has exactly this content; nothing was written."))

            async def unchanged() -> Outcome:
                return Outcome(True, f"{rel} already has exactly this content; nothing was written.")

            return simple_action(READ, f"{rel} unchanged", unchanged, paths=[rel])
        return _change_action(ctx, current, new_text, "overwrite", None)
