"""Text files in and out, byte-faithfully.

:func:`decode` turns a file's bytes into text with ``\\n`` line breaks and a
:class:`TextInfo` that remembers what is needed to write the text back the way the file was:
the encoding (UTF-8, UTF-8 with a BOM, UTF-16 with a BOM, cp1251 for Cyrillic text, or
latin-1 for anything else that is not valid UTF-8, so no byte is ever lost), the line endings (the dominant one for new lines;
in a file with mixed endings, untouched lines keep their own) and whether the file ends with
a newline. :func:`encode_like` does the reverse. A lone ``\\r`` that is not part of ``\\r\\n``
is content, not a line break, and survives untouched.
"""

from __future__ import annotations

import codecs
import difflib
from dataclasses import dataclass

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class EncodingProblem(ValueError):
    """The new text cannot be written in the file's encoding."""


@dataclass(frozen=True)
class TextInfo:
    """How a text file was stored, so that edits can be written back the same way."""

    encoding: str = "utf-8"
    bom: bytes = b""
    newline: str = "\n"
    # True / False: the file ends (does not end) with a newline and edits keep it that way;
    # None: no convention to keep (a new or empty file).
    final_newline: bool | None = None
    # Only for files whose line endings are mixed: each original line (without its break)
    # and the break that followed it, so untouched lines keep their own ending.
    mixed_lines: tuple[str, ...] = ()
    mixed_endings: tuple[str, ...] = ()

    @property
    def mixed(self) -> bool:
        return bool(self.mixed_endings)

    def describe(self) -> str:
        """A short note for the model when the file is not plain UTF-8 with LF endings."""
        parts = []
        if self.encoding != "utf-8" or self.bom:
            name = {"utf-8": "UTF-8 with BOM", "utf-16-le": "UTF-16 (LE) with BOM",
                    "utf-16-be": "UTF-16 (BE) with BOM"}.get(self.encoding, self.encoding)
            parts.append(f"{name} encoding")
        if self.mixed:
            parts.append("mixed line endings (new lines use " + _eol_name(self.newline) + ")")
        elif self.newline != "\n":
            parts.append(f"{_eol_name(self.newline)} line endings")
        if self.final_newline is False:
            parts.append("no newline at end of file")
        return ", ".join(parts)


def _eol_name(newline: str) -> str:
    return {"\n": "LF", "\r\n": "CRLF"}.get(newline, repr(newline))


def detect_encoding(data: bytes) -> tuple[str, bytes]:
    """(codec, BOM) for ``data``: a BOM wins, then UTF-8, else latin-1 (which never fails)."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                data[len(bom):].decode(codec)
            except UnicodeDecodeError:
                return "latin-1", b""  # a BOM followed by something else: keep every byte as is
            return codec, bom
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return legacy_codec(data), b""
    return "utf-8", b""


def legacy_codec(data: bytes) -> str:
    """cp1251 for Cyrillic text (its words are runs of bytes >= 0xC0), else latin-1.

    Western European text in latin-1 has its accented letters here and there between ASCII
    ones; Russian, Ukrainian or Bulgarian text in cp1251 has whole words of high bytes.
    Decoding the latter as latin-1 would show the model mojibake it cannot edit.
    """
    high = [i for i, b in enumerate(data) if b >= 0x80]
    if len(high) < 8:
        return "latin-1"
    letters = sum(1 for i in high if data[i] >= 0xC0 or data[i] in (0xA8, 0xB8))
    runs = sum(1 for i in high if (i > 0 and data[i - 1] >= 0x80) or (i + 1 < len(data) and data[i + 1] >= 0x80))
    if letters < 0.8 * len(high) or runs < 0.6 * len(high):
        return "latin-1"
    try:
        data.decode("cp1251")
    except UnicodeDecodeError:  # 0x98 has no character in cp1251
        return "latin-1"
    return "cp1251"


def decode(data: bytes) -> tuple[str, TextInfo]:
    """The file's text with ``\\n`` line breaks, and how to write it back."""
    try:  # most files: plain UTF-8, decoded once
        raw, codec, bom = data.decode("utf-8"), "utf-8", b""
        if raw.startswith("\ufeff"):
            raw, bom = raw[1:], codecs.BOM_UTF8
    except UnicodeDecodeError:
        codec, bom = detect_encoding(data)
        raw = data[len(bom):].decode(codec)
    crlf = raw.count("\r\n")
    lf = raw.count("\n") - crlf
    newline = "\r\n" if crlf > lf else "\n"
    text = raw.replace("\r\n", "\n") if crlf else raw
    final: bool | None = text.endswith("\n") if text else None
    lines: tuple[str, ...] = ()
    endings: tuple[str, ...] = ()
    if crlf and lf:
        pieces = raw.split("\n")
        body = pieces if pieces[-1] else pieces[:-1]
        ends = []
        line_list = []
        for i, piece in enumerate(body):
            last = i == len(pieces) - 1
            if last:
                ends.append("")
                line_list.append(piece)
            elif piece.endswith("\r"):
                ends.append("\r\n")
                line_list.append(piece[:-1])
            else:
                ends.append("\n")
                line_list.append(piece)
        lines, endings = tuple(line_list), tuple(ends)
    return text, TextInfo(codec, bom, newline, final, lines, endings)


def info_for_new(content: str) -> TextInfo:
    """The info for a file that does not exist yet: UTF-8, the content's own line endings."""
    crlf = content.count("\r\n")
    lf = content.count("\n") - crlf
    return TextInfo(newline="\r\n" if crlf > lf else "\n")


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n")


def conform(text: str, info: TextInfo) -> str:
    """Give ``text`` the file's final-newline convention (what will be written, in LF form)."""
    if not text or info.final_newline is None:
        return text
    if info.final_newline and not text.endswith("\n"):
        return text + "\n"
    if not info.final_newline and text.endswith("\n"):
        return text[:-1]
    return text


def _mixed_endings(lines: list[str], info: TextInfo) -> list[str]:
    """Endings for ``lines``: the original one for each untouched line, the dominant one otherwise."""
    old = list(info.mixed_lines)
    ends = [info.newline] * len(lines)
    head = 0
    while head < min(len(old), len(lines)) and old[head] == lines[head]:
        head += 1
    tail = 0
    while (tail < min(len(old), len(lines)) - head
           and old[len(old) - 1 - tail] == lines[len(lines) - 1 - tail]):
        tail += 1
    for i in range(head):
        ends[i] = info.mixed_endings[i]
    for i in range(1, tail + 1):
        ends[len(lines) - i] = info.mixed_endings[len(old) - i]
    middle_old = old[head:len(old) - tail]
    middle_new = lines[head:len(lines) - tail]
    matcher = difflib.SequenceMatcher(None, middle_old, middle_new, autojunk=False)
    for tag, i1, i2, j1, _j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                ends[head + j1 + k] = info.mixed_endings[head + i1 + k]
    return [e or info.newline for e in ends]


def with_line_endings(text: str, info: TextInfo) -> str:
    """``text`` (LF form) with the file's line endings."""
    if info.mixed:
        pieces = text.split("\n")
        last = pieces.pop()  # text after the final break ('' when text ends with one)
        ends = _mixed_endings(pieces, info)
        return "".join(p + e for p, e in zip(pieces, ends, strict=True)) + last
    if info.newline != "\n":
        return text.replace("\n", info.newline)
    return text


def encode_like(text: str, info: TextInfo) -> bytes:
    """Bytes for ``text`` (LF form) stored the way the original file was.

    Raises :class:`EncodingProblem` when a character cannot be represented (e.g. an arrow in a
    latin-1 file) instead of corrupting the file.
    """
    out = with_line_endings(conform(text, info), info)
    try:
        return info.bom + out.encode(info.encoding)
    except UnicodeEncodeError:
        bad = sorted({ch for ch in out if not _encodable(ch, info.encoding)})
        shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in bad[:8])
        raise EncodingProblem(
            f"the file is stored as {info.encoding}, which cannot hold {shown}; use characters "
            f"that exist in {info.encoding} (or ASCII escapes) so the file is not corrupted") from None


def _encodable(ch: str, encoding: str) -> bool:
    try:
        ch.encode(encoding)
        return True
    except UnicodeEncodeError:
        return False
