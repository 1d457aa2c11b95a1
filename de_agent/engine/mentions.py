"""``@path`` in a person's message attaches that file: its text goes to the model with the
message. Only files inside the repository, not ignored by .gitignore, read through the
workspace's confinement check like every tool read; anything else is left as typed (an
e-mail address or ``@pytest.fixture`` stays plain text). Also: the repository paths the
front ends offer as completions after ``@``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MENTION = re.compile(r"(?:(?<=\s)|^)@([\w./\-]+[\w/])")
MAX_FILE_BYTES = 100_000
MAX_FILES = 10
MAX_LISTED = 20_000


@dataclass
class Attachments:
    text: str  # the message as the model gets it (attachments appended)
    attached: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def attach_mentions(workspace: Any, text: str) -> Attachments:
    """The message with each ``@path`` file's content appended (bounded)."""
    from de_agent.images import is_image_path
    from de_agent.tools.fs_read import decode_text, is_binary
    from de_agent.tools.helpers.ignore import ignore_tree
    from de_agent.workspace import ConfinementError

    result = Attachments(text)
    seen: set[str] = set()
    blocks: list[str] = []
    for match in MENTION.finditer(text):
        raw = match.group(1)
        try:
            rel = str(workspace.relative(raw))
            path = workspace.resolve(raw)
        except (ConfinementError, OSError, ValueError):
            continue
        if rel in seen or not path.is_file() or is_image_path(rel):
            continue  # an image goes to the model as a picture (engine/vision.py)
        seen.add(rel)
        if workspace.is_secret(rel):
            result.problems.append(f"@{raw} looks like a secrets file and was not attached")
            continue
        if ignore_tree(workspace.root).is_ignored(rel):
            result.problems.append(f"@{raw} is ignored by .gitignore and was not attached")
            continue
        if len(result.attached) >= MAX_FILES:
            result.problems.append(f"@{raw} was not attached (at most {MAX_FILES} files per message)")
            continue
        try:
            data = workspace.read_bytes(rel, limit=MAX_FILE_BYTES + 1)
        except (ConfinementError, OSError) as exc:
            result.problems.append(f"@{raw} could not be read: {exc}")
            continue
        if is_binary(data):
            result.problems.append(f"@{raw} is a binary file and was not attached")
            continue
        body, _ = decode_text(data[:MAX_FILE_BYTES])
        cut = "\n[… cut: the file is longer; read the rest with ReadFile]" if len(data) > MAX_FILE_BYTES else ""
        blocks.append(f'<attached_file path="{rel}">\n{body}{cut}\n</attached_file>')
        result.attached.append(rel)
    if blocks:
        result.text = text + "\n\n" + "\n\n".join(blocks)
    return result


def strip_attachments(text: str) -> str:
    """The message as the person typed it (what ``attach_mentions`` appended removed)."""
    cut = text.find("\n\n<attached_file ")
    return text if cut == -1 else text[:cut]


def repository_paths(root: Any, limit: int = MAX_LISTED) -> list[str]:
    """Files of the repository that ``@`` can complete to (.gitignore respected), sorted."""
    from de_agent.tools.helpers.ignore import ignore_tree

    paths = []
    for rel in ignore_tree(root).walk():
        paths.append(rel)
        if len(paths) >= limit:
            break
    return paths
