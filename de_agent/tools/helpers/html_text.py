"""HTML to readable text for WebFetch, with the standard library's HTML parser.

Scripts, styles and other non-content are dropped; headings, list items, links, table
cells and preformatted blocks keep enough structure (Markdown-like) to be read.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIP = {"script", "style", "noscript", "template", "svg", "iframe", "object", "canvas", "head", "select"}
_BLOCK = {"p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "ul", "ol",
          "table", "tr", "hr", "blockquote", "dl", "dt", "dd", "figure", "figcaption", "form",
          "fieldset", "details", "summary", "address", "thead", "tbody", "tfoot", "caption"}
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "track", "wbr"}


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.title: list[str] = []
        self.skip = 0
        self.pre = 0
        self.in_title = False
        self.links: list[str | None] = []

    def _newlines(self, n: int) -> None:
        self.out.append("\n" * n)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
        if tag in _SKIP:
            if tag not in _VOID:
                self.skip += 1
            return
        if self.skip:
            return
        attr = dict(attrs)
        if tag in _HEADINGS:
            self._newlines(2)
            self.out.append("#" * _HEADINGS[tag] + " ")
        elif tag == "li":
            self._newlines(1)
            self.out.append("- ")
        elif tag == "br":
            self._newlines(1)
        elif tag == "pre":
            self._newlines(2)
            self.out.append("```\n")
            self.pre += 1
        elif tag in ("td", "th"):
            self.out.append(" | ")
        elif tag == "img" and attr.get("alt"):
            self.out.append(f"[image: {attr['alt']}]")
        elif tag == "a":
            href = attr.get("href") or ""
            self.links.append(href if href.startswith(("http://", "https://")) else None)
            if self.links[-1]:
                self.out.append("[")
        elif tag in _BLOCK:
            self._newlines(2 if tag in ("p", "table", "blockquote") else 1)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag == "a" and self.links:
            href = self.links.pop()
            if href:
                self.out.append(f"]({href})")
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
            self.out.append("```" if self.out and self.out[-1].endswith("\n") else "\n```")
            self._newlines(2)
        elif tag in _HEADINGS or (tag in _BLOCK and tag != "tr"):
            self._newlines(2 if tag in _HEADINGS or tag == "p" else 1)

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        if self.skip:
            return
        if self.pre and self.out and self.out[-1] == "```\n" and data.startswith("\n"):
            data = data[1:]  # the newline right after <pre> is not content
        self.out.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Readable text of an HTML document, the <title> first as a heading."""
    conv = _Converter()
    conv.feed(html)
    conv.close()
    lines, fenced = [], False
    for line in "".join(conv.out).split("\n"):
        if line.strip().startswith("```"):
            fenced = not fenced
            line = line.strip()
        lines.append(line.rstrip() if fenced else line.strip())
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    title = " ".join("".join(conv.title).split())
    if title and not text.startswith(f"# {title}"):
        text = f"# {title}\n\n{text}"
    return text + "\n"
