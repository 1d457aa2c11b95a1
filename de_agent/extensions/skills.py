"""Skills: folders with a ``SKILL.md`` the model opens when a task calls for them.

Found in ``.de-agent/skills/`` (the repository), ``$DE_AGENT_HOME/skills/`` (the person) and
the skills shipped with de-agent, in that order (the first one of a name wins). The
repository's skills count only once the person approved that folder's present content
(``/skills approve``): their descriptions would otherwise reach the system prompt unseen. Only names
and descriptions (the front matter) go into the system prompt; the model reads a body, or a
file next to it, with the ``Skill`` tool. That tool reads only inside the skill's own folder
(no ``..``, no absolute paths, no symlink leading out), since the person's skills live outside
the repository where ReadFile cannot and should not reach.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from de_agent import paths
from de_agent.extensions.frontmatter import read_front_matter
from de_agent.tools.base import (
    READ,
    Action,
    Outcome,
    Tool,
    ToolContext,
    ToolError,
    bound_text,
    optional,
    require_str,
    simple_action,
)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,60}$")
MAX_LISTED = 60


@dataclass
class SkillInfo:
    name: str
    description: str
    folder: Path
    origin: str  # repository | user | built-in


def skill_dirs(root: Path) -> list[tuple[str, Path]]:
    shipped = Path(str(resources.files("de_agent") / "skills"))
    return [("repository", Path(root) / ".de-agent" / "skills"), ("user", paths.home() / "skills"),
            ("built-in", shipped)]


def repo_skills_folder(root: Path) -> Path:
    return Path(root) / ".de-agent" / "skills"


def repo_skills_pending(root: Path) -> bool:
    """The repository has skills the person has not approved (in their present form)."""
    from de_agent.security.extension_approvals import ExtensionApprovals

    folder = repo_skills_folder(root)
    return any(folder.glob("*/SKILL.md")) and not ExtensionApprovals(root).folder_approved("skills", folder)


def approve_repo_skills(root: Path) -> str:
    from de_agent.security.extension_approvals import ExtensionApprovals

    folder = repo_skills_folder(root)
    if not any(folder.glob("*/SKILL.md")):
        return "This repository has no skills (.de-agent/skills/*/SKILL.md)."
    ExtensionApprovals(root).approve_folder("skills", folder)
    return ("Approved this repository's skills: the Skill tool opens them now; the system prompt lists "
            "them from the next session (/clear).")


def find_skills(root: Path) -> list[SkillInfo]:
    found: dict[str, SkillInfo] = {}
    for origin, base in skill_dirs(root):
        if not base.is_dir() or (origin == "repository" and repo_skills_pending(root)):
            continue
        for skill_md in sorted(base.glob("*/SKILL.md")):
            try:
                meta, body = read_front_matter(skill_md)
            except OSError:
                continue
            name = str(meta.get("name") or skill_md.parent.name).strip()
            if not _NAME.match(name) or name in found:
                continue
            description = " ".join(str(meta.get("description") or "").split())[:300]
            found[name] = SkillInfo(name, description or "(no description)", skill_md.parent, origin)
    return list(found.values())


def skills_section(root: Path) -> str:
    """The system prompt's list of skills ('' when there are none)."""
    skills = find_skills(root)[:MAX_LISTED]
    if not skills:
        return ""
    lines = ["# Skills",
             "Playbooks you can open when a task matches one. Read a skill's instructions with the Skill "
             "tool (name) before doing such a task, and the files it mentions with Skill (name, file)."]
    lines += [f"- {s.name}: {s.description}" for s in skills]
    return "\n".join(lines)


def listing(root: Path) -> str:
    skills = find_skills(root)
    text = ("Skills:\n" + "\n".join(f"  {s.name} ({s.origin}): {s.description}" for s in skills)) if skills \
        else "No skills found. Add folders with a SKILL.md to .de-agent/skills/ or $DE_AGENT_HOME/skills/."
    if repo_skills_pending(root):
        text += "\nThis repository's skills are not approved yet (new or changed): /skills approve."
    return text


def read_in_skill(skill: SkillInfo, file: str) -> str:
    """A file of the skill's folder; PermissionError for anything outside it."""
    if not file or Path(file).is_absolute() or ".." in Path(file).parts:
        raise PermissionError(f"{file!r}: give a path inside the skill's folder, e.g. 'SKILL.md'")
    folder = skill.folder.resolve()
    target = (skill.folder / file).resolve()
    if not target.is_relative_to(folder):
        raise PermissionError(f"{file!r} leads out of the skill's folder")
    if not target.is_file():
        siblings = sorted(p.name for p in folder.iterdir() if p.is_file())
        raise ToolError(f"skill '{skill.name}' has no file {file!r}; it has: {', '.join(siblings)}")
    return target.read_text(encoding="utf-8", errors="replace")


class Skill(Tool):
    name = "Skill"
    kind = READ
    description = ("Open a skill (a playbook listed in the system prompt under Skills): returns its "
                   "SKILL.md, or another file of the skill when `file` is given.")
    parameters = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "the skill's name, as listed"},
            "file": {"type": "string", "description": "a file inside the skill's folder (default SKILL.md)"},
        },
        "required": ["name"],
    }

    async def prepare(self, args: dict[str, Any], ctx: ToolContext) -> Action:
        name = require_str(args, "name")
        file = optional(args, "file", str, "SKILL.md") or "SKILL.md"
        skills = {s.name: s for s in find_skills(ctx.workspace.root)}
        skill = skills.get(name)
        if skill is None:
            raise ToolError(f"no skill named {name!r}; known: {', '.join(sorted(skills)) or 'none'}")

        async def run() -> Outcome:
            text = read_in_skill(skill, file)
            return Outcome(True, bound_text(text, what=f"skill {name}/{file}"))

        return simple_action(READ, f"open skill {name}/{file}", run)
