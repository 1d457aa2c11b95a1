"""ReadFile and ReadManyFiles: file contents for the model, bounded and honest about it.

Every read goes through ``Workspace.read_bytes`` (confined, no symlink followed at open
time). Binary files (a NUL byte in the first 8 KiB) are not shown; text that is not valid
UTF-8 is decoded with U+FFFD replacements and says so; files with a UTF-16 byte-order mark
are decoded as UTF-16. Output is cut at line and byte limits with a note on how to read
the rest. Reading a secret-looking file (``.env``, keys) marks the action ``secret_read``
so the policy asks first.
"""

from __future__ import annotations

import asyncio
import codecs
from typing import Any

from pydantic import Field

from de_agent.images import is_image_path
from de_agent.tools.base import READ, Action, Outcome, Tool, ToolContext, ToolError, simple_action
from de_agent.tools.fs_list import (
    FindFiles,
    GlobList,
    ReadFolder,
    confined_path,
    globs_of,
    human_size,
    list_files,
)
from de_agent.tools.helpers.globs import glob_matcher
from de_agent.tools.helpers.output import MAX_OUTPUT_BYTES, MAX_OUTPUT_LINES, looks_binary
from de_agent.tools.helpers.textio import legacy_codec, normalize_newlines
from de_agent.tools.schema import ToolArgs
from de_agent.tools.text_files import editor_reads, editor_texts, read_text
from de_agent.workspace import ConfinementError, Workspace

MAX_READ_BYTES = 8 << 20  # ReadFile reads at most this much of a file
MAX_LINE_CHARS = 2000
MANY_MAX_FILES = 100
MANY_FILE_BYTES = 256 << 10  # ReadManyFiles reads at most this much of each file

__all__ = ["FindFiles", "ReadFile", "ReadFolder", "ReadManyFiles"]  # the first two live in fs_list


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, note): UTF-8 (BOM dropped), UTF-16 with a BOM, else UTF-8 with replacements."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace"), "decoded as UTF-16 (byte-order mark)"
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError as exc:
        if legacy_codec(data) == "cp1251":  # the codec Edit will keep (see textio)
            return data.decode("cp1251"), "decoded as cp1251 (Cyrillic; not valid UTF-8)"
        return data.decode("utf-8", "replace"), (
            f"not valid UTF-8 (first bad byte at offset {exc.start}); undecodable bytes are shown "
            "as U+FFFD, so copy exact text for Edit from lines without them")


def split_lines(text: str) -> list[str]:
    """Lines as editors and grep number them: split on \\n only, no phantom last line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def _cut_line(line: str) -> str:
    if len(line) <= MAX_LINE_CHARS:
        return line
    return f"{line[:MAX_LINE_CHARS]}… [line cut: {len(line) - MAX_LINE_CHARS:,} more characters]"


def is_binary(data: bytes) -> bool:
    return looks_binary(data) and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def _read_error(rel: str, exc: OSError) -> ToolError:
    if isinstance(exc, ConfinementError):
        return ToolError(str(exc))
    if isinstance(exc, FileNotFoundError):
        return ToolError(f"{rel}: no such file; use FindFiles or ReadFolder to find the right path")
    if isinstance(exc, IsADirectoryError):
        return ToolError(f"{rel}: is a folder; use ReadFolder to list it")
    if isinstance(exc, PermissionError):
        return ToolError(f"{rel}: permission denied")
    return ToolError(f"{rel}: cannot be read ({exc.strerror or exc})")


def _repo_glob(ctx: ToolContext, glob: str) -> str:
    """A glob relative to the root: an absolute one inside the root is made relative, '..' refused."""
    root = str(ctx.workspace.root)
    if glob == root or glob.startswith(root + "/"):
        return glob[len(root):].lstrip("/") or "**"
    if glob.startswith("~") or glob.split("/")[:1] == [".."] or "/../" in glob:
        raise ToolError(f"{glob}: outside the repository ({root}); globs are relative to its root")
    return glob.removeprefix("./")


class ReadFileArgs(ToolArgs):
    file_path: str = Field(min_length=1, description="Path relative to the repository root.")
    start_line: int | None = Field(None, description="First line to read (1-based). Default 1.")
    end_line: int | None = Field(None, description="Last line to read (inclusive). Default: as many as fit.")


class ReadManyFilesArgs(ToolArgs):
    include: GlobList = Field(description=(
        "Globs of files to read, relative to the repository root. A glob without '/' matches file names "
        "at any depth ('*.sql')."))
    exclude: GlobList = Field(None, description="Globs of files to leave out, e.g. ['**/tests/**'].")


def _read_image(ws: Workspace, rel: str, size: int, display: dict[str, Any]) -> Outcome:
    """An image file: described in the text, and attached for the model to see (downscaled to
    the limits; replaced by a note for models that do not accept images)."""
    from de_agent import images

    if size > images.MAX_FILE_BYTES:
        return Outcome(False, f"{rel} is an image of {human_size(size)}, more than the "
                       f"{human_size(images.MAX_FILE_BYTES)} ReadFile takes.", display=display)
    try:
        data = ws.read_bytes(rel, limit=images.MAX_FILE_BYTES)
        part = images.store(data, rel)
    except OSError as exc:
        raise _read_error(rel, exc) from None
    except images.ImageError as exc:
        return Outcome(False, f"{rel} looks like an image but cannot be read as one: {exc}", display=display)
    note = f"; {part['note']}" if part.get("note") else ""
    return Outcome(True, f"{part['label']}, {human_size(size)}{note}. The image follows in the next message "
                   "(or a note if the current model cannot take images).", display=display, images=[part])


class ReadFile(Tool):
    name = "ReadFile"
    kind = READ
    description = (
        "Read a text file of the repository. Lines come numbered (`number<TAB>text`, from 1). "
        f"At most {MAX_OUTPUT_LINES} lines or {MAX_OUTPUT_BYTES // 1000} KB are returned per call: "
        "for long files read a range with start_line/end_line, and continue where the output says. "
        "Images (PNG, JPEG, GIF, WebP) are shown to you as pictures; other binary files are not shown."
        " Prefer SearchText to locate the lines you need in big files.")
    Args = ReadFileArgs
    key_arguments = ("file_path",)

    async def act(self, args: ReadFileArgs, ctx: ToolContext) -> Action:
        rel = confined_path(ctx, args.file_path)
        start = 1 if args.start_line is None else args.start_line
        end = args.end_line
        if start < 1:
            raise ToolError("start_line must be 1 or more (lines are numbered from 1)")
        if end is not None and end < start:
            raise ToolError(f"end_line ({end}) must not be before start_line ({start})")

        async def run() -> Outcome:
            if not editor_reads(ctx):
                return await asyncio.to_thread(self._read, ctx.workspace, rel, start, end)
            # The editor offers its buffers: the disk's copy is still read first (confinement,
            # size, binary and image detection), then the editor gives the text of a text file.
            size, data = await asyncio.to_thread(self._load, ctx.workspace, rel)
            text = await read_text(ctx, rel, data, MAX_READ_BYTES) if size == len(data) else None
            return await asyncio.to_thread(self._read, ctx.workspace, rel, start, end, (size, data), text)

        return simple_action(READ, f"read {rel}", run, paths=[rel], secret_read=Workspace.is_secret(rel))

    @staticmethod
    def _load(ws: Workspace, rel: str) -> tuple[int, bytes]:
        try:
            return ws.stat(rel).st_size, ws.read_bytes(rel, limit=MAX_READ_BYTES)
        except OSError as exc:
            raise _read_error(rel, exc) from None

    @staticmethod
    def _read(ws: Workspace, rel: str, start: int, end: int | None,
              loaded: tuple[int, bytes] | None = None, buffer: str | None = None) -> Outcome:
        """``buffer``: the editor's text of the file, shown instead of the disk's (``loaded``)."""
        size, data = loaded or ReadFile._load(ws, rel)
        display: dict[str, Any] = {"kind": "read", "path": rel, "bytes": size}
        if is_image_path(rel) and is_binary(data):
            return _read_image(ws, rel, size, display)
        if is_binary(data):
            display["binary"] = True
            return Outcome(False, f"{rel} is a binary file ({human_size(size)}); its contents are not "
                           "shown. Inspect it with a data tool or a Shell command suited to its format.",
                           display=display)
        partial = size > len(data)
        if partial and b"\n" in data:  # the last line may be cut in the middle
            data = data[: data.rfind(b"\n") + 1]
        text, note = (buffer, "") if buffer is not None else decode_text(data)
        lines = split_lines(text)
        total = len(lines)
        display["lines"] = total
        notes = [note] if note else []
        if buffer is not None and normalize_newlines(buffer) != normalize_newlines(data.decode("utf-8")):
            notes.append("shown as it is in the editor, with changes not saved to disk yet (commands see the "
                         "saved file)")
        if partial:
            notes.append(f"the file is {human_size(size)}; only its first {human_size(MAX_READ_BYTES)} "
                         f"({total:,} lines) can be read with ReadFile. Use SearchText, or Shell "
                         "(e.g. sed -n, tail), for the rest")
        if total == 0:
            return Outcome(True, f"{rel} is empty.\n", display=display)
        if start > total:
            raise ToolError(f"{rel} has {total:,} lines; start_line {start} is past the end")
        last = min(total, end if end is not None else total, start + MAX_OUTPUT_LINES - 1)
        out: list[str] = []
        used = 0
        shown_to = start - 1
        long_lines = 0
        for n in range(start, last + 1):
            line = lines[n - 1]
            if len(line) > MAX_LINE_CHARS:
                long_lines += 1
                line = _cut_line(line)
            row = f"{n:>6}\t{line}\n"
            used += len(row.encode("utf-8", "replace"))
            if used > MAX_OUTPUT_BYTES and out:
                break
            out.append(row)
            shown_to = n
        wanted_to = min(total, end) if end is not None else total
        if shown_to < wanted_to:
            limit = (f"{MAX_OUTPUT_BYTES:,} bytes" if shown_to < last else f"{MAX_OUTPUT_LINES:,} lines")
            notes.append(f"showing lines {start}-{shown_to} of {total:,} (limit {limit}); call ReadFile "
                         f"with start_line={shown_to + 1} to read more")
        elif start > 1 or shown_to < total:
            notes.append(f"showing lines {start}-{shown_to} of {total:,}")
        if long_lines:
            notes.append(f"{long_lines} line(s) longer than {MAX_LINE_CHARS} characters were cut")
        text_out = "".join(out) + "".join(f"[{n}]\n" for n in notes)
        display.update(lines=[start, shown_to], total_lines=total, truncated=shown_to < wanted_to or partial)
        return Outcome(True, text_out, display=display)


class ReadManyFiles(Tool):
    name = "ReadManyFiles"
    kind = READ
    description = (
        "Read several text files at once, selected by globs (e.g. ['models/**/*.sql', 'dbt_project.yml']). "
        "Each file comes after a `--- path ---` header. Files ignored by .gitignore and binary files "
        f"are skipped (with a note). At most {MANY_MAX_FILES} files and {MAX_OUTPUT_BYTES // 1000} KB "
        "in total are returned; the output lists what did not fit so you can use ReadFile for it.")
    Args = ReadManyFilesArgs
    key_arguments = ("include",)

    async def act(self, args: ReadManyFilesArgs, ctx: ToolContext) -> Action:
        include = globs_of(args.include)
        if not include:
            raise ToolError("parameter 'include' must name at least one glob, e.g. ['*.sql']")
        exclude = globs_of(args.exclude)
        include = [_repo_glob(ctx, g) for g in include]
        exclude = [_repo_glob(ctx, g) for g in exclude]
        try:
            glob_matcher(include)
            unwanted = glob_matcher(exclude) if exclude else None
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        files = [p for p in await list_files(ctx, "", include) if not (unwanted and unwanted(p))]
        secret = any(Workspace.is_secret(p) for p in files)

        async def run() -> Outcome:
            buffers = await editor_texts(ctx, files[:MANY_MAX_FILES], MANY_FILE_BYTES)
            return await asyncio.to_thread(self._read_all, ctx.workspace, files, include, buffers)

        summary = f"read {len(files)} file{'s' * (len(files) != 1)} ({', '.join(include)})"
        return simple_action(READ, summary, run, paths=files[:MANY_MAX_FILES], secret_read=secret)

    @staticmethod
    def _read_all(ws: Workspace, files: list[str], include: list[str], buffers: dict[str, str]) -> Outcome:
        """``buffers``: the editor's texts of some of the files, shown instead of the disk's."""
        if not files:
            return Outcome(True, f"No files match {', '.join(include)} (files ignored by .gitignore are "
                           "not read). Use FindFiles to check the globs.\n")
        out: list[str] = []
        used = 0
        binary: list[str] = []
        unreadable: list[str] = []
        left: list[str] = []
        read = 0
        for index, rel in enumerate(files):
            if index >= MANY_MAX_FILES or used >= MAX_OUTPUT_BYTES:
                left = files[index:]
                break
            try:
                data = ws.read_bytes(rel, limit=MANY_FILE_BYTES)
            except OSError:
                unreadable.append(rel)
                continue
            if is_binary(data):
                binary.append(rel)
                continue
            text, note = decode_text(data)
            if rel in buffers and normalize_newlines(buffers[rel]) != normalize_newlines(text):
                text, note = buffers[rel], "as it is in the editor, not saved yet"
            if len(data) >= MANY_FILE_BYTES:
                if "\n" in text:
                    text = text[: text.rfind("\n") + 1]
                note = (note + "; " if note else "") + f"only the first {human_size(MANY_FILE_BYTES)}"
            body = "".join(f"{_cut_line(line)}\n" for line in split_lines(text))
            block = f"--- {rel} ---{f' [{note}]' if note else ''}\n{body}"
            room = MAX_OUTPUT_BYTES - used
            encoded = block.encode("utf-8", "replace")
            if len(encoded) > room:
                kept = encoded[:room].decode("utf-8", "ignore")
                kept = kept[: kept.rfind("\n") + 1]
                shown = kept.count("\n") - 1
                block = kept + (f"[{rel}: cut after {max(shown, 0)} lines at the output limit; "
                                f"read the rest with ReadFile start_line={max(shown, 0) + 1}]\n")
                encoded = block.encode("utf-8", "replace")
            out.append(block)
            used += len(encoded)
            read += 1
        notes: list[str] = []
        if binary:
            notes.append(f"skipped {len(binary)} binary file(s): {', '.join(binary[:20])}"
                         + (" …" if len(binary) > 20 else ""))
        if unreadable:
            notes.append(f"could not read: {', '.join(unreadable[:20])}")
        if left:
            notes.append(f"{len(left)} more file(s) not read (limit {MANY_MAX_FILES} files / "
                         f"{MAX_OUTPUT_BYTES:,} bytes): {', '.join(left[:30])}" + (" …" if len(left) > 30 else "")
                         + "; read them with ReadFile or narrow the globs")
        text_out = "".join(out) + "".join(f"[{n}]\n" for n in notes)
        display = {"kind": "read_many", "files": read, "binary": len(binary), "not_read": len(left)}
        return Outcome(True, text_out, display=display)
