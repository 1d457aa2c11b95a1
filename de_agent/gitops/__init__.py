"""Git support for the engine: checkpoints with undo, auto-commit, and a status summary.

Importing this package is cheap (plain ``git`` subprocesses, no gitpython import)."""

from de_agent.gitops.checkpoints import Checkpoints, UndoResult, prune_sessions
from de_agent.gitops.commit import CommitResult, commit_message
from de_agent.gitops.status import git_summary

__all__ = ["Checkpoints", "CommitResult", "UndoResult", "commit_message", "git_summary",
           "prune_sessions"]
