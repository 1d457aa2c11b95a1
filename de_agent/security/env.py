"""The environment commands see, and redaction of secrets from everything de-agent writes.

A command never receives a variable whose name looks secret (KEY, SECRET, TOKEN, PASSWORD,
CREDENTIAL, AUTH...), a model provider's variables (``OPENAI_*``, ``ANTHROPIC_*``, ...),
``AWS_*``, or a value carrying credentials in a URL (``postgres://user:pass@host``), unless
the person allow-listed the name (``Settings.env_allow``, shell-style patterns allowed).
Start-up hooks of non-interactive shells (``BASH_ENV``, ``ENV``, exported functions) are
dropped too, relative ``PATH`` entries removed, and pagers and prompts turned off so nothing
waits for a terminal.

``redact`` replaces the values of the secret-looking variables currently set (8 characters
or longer) with ``[REDACTED]``; the engine and the session store run it on what they write.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping
from functools import lru_cache

REDACTED = "[REDACTED]"
MIN_SECRET_LEN = 8

_SECRET_WORDS = ("KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL",
                 "AUTH", "COOKIE", "PRIVATE")
_SECRET_SUFFIXES = ("_PASS", "_PWD", "_PAT", "_DSN")
# Whole families: cloud credentials and model providers (their keys, endpoints and orgs).
_SECRET_PREFIXES = ("AWS_", "OPENAI_", "ANTHROPIC_", "AZURE_", "GEMINI_", "GOOGLE_API", "VERTEX",
                    "GROQ_", "MISTRAL_", "COHERE_", "HUGGINGFACE", "HF_", "TOGETHER", "REPLICATE_",
                    "DEEPSEEK_", "OPENROUTER_", "XAI_", "FIREWORKS_", "PERPLEXITY", "VOYAGE_",
                    "LANGSMITH_", "LANGCHAIN_", "DATABRICKS_", "SNOWFLAKE_PASSWORD")
# Names that contain a secret word but hold nothing secret.
_NOT_SECRET = frozenset({"PWD", "OLDPWD", "KEYTIMEOUT"})
# Variables a non-interactive bash or sh would execute at start-up.
_STARTUP_HOOKS = frozenset({"BASH_ENV", "ENV", "PROMPT_COMMAND", "PS4"})
_URL_WITH_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")

QUIET_ENV = {
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "MANPAGER": "cat",
    "SYSTEMD_PAGER": "",
    "LESS": "-FRX",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
    "GCM_INTERACTIVE": "never",
    "DEBIAN_FRONTEND": "noninteractive",
    "PIP_NO_INPUT": "1",
    "NO_COLOR": "1",
    "CLICOLOR": "0",
    "TERM": "dumb",
}


# Variables the user config names as holding a secret (``password_env = "DB_PW"``).
_NAMED_SECRETS: set[str] = set()


def mark_secret_name(name: str) -> None:
    """Treat the variable name as secret from now on, whatever it looks like."""
    if name.upper() not in _NAMED_SECRETS:
        _NAMED_SECRETS.add(name.upper())
        is_secret_var.cache_clear()
        _env_pattern.cache_clear()


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says it holds a credential."""
    upper = name.upper()
    if upper in _NAMED_SECRETS:
        return True
    if upper in _NOT_SECRET or upper.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_")):
        return False
    if any(word in upper for word in _SECRET_WORDS):
        return True
    return upper.endswith(_SECRET_SUFFIXES) or upper.startswith(_SECRET_PREFIXES)


@lru_cache(maxsize=4096)
def is_secret_var(name: str, value: str) -> bool:
    """A secret name, or a value that embeds a password in a URL."""
    return is_secret_name(name) or bool(_URL_WITH_PASSWORD.match(value or ""))


def _allowed(name: str, allow: Iterable[str]) -> bool:
    return any(name == pat or fnmatch.fnmatchcase(name, pat) for pat in allow)


def secret_names(environ: Mapping[str, str] | None = None, allow: Iterable[str] = ()) -> list[str]:
    """The variables ``clean_env`` would withhold, sorted (for notices and tests)."""
    env = os.environ if environ is None else environ
    allow = list(allow)
    return sorted(k for k, v in env.items() if is_secret_var(k, v) and not _allowed(k, allow))


def clean_env(allow: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a command: ``os.environ`` without secrets and start-up hooks."""
    env = os.environ if environ is None else environ
    allow = list(allow)
    out: dict[str, str] = {}
    for name, value in env.items():
        if name in _STARTUP_HOOKS or name.startswith("BASH_FUNC_"):
            continue
        if is_secret_var(name, value) and not _allowed(name, allow):
            continue
        out[name] = value
    if "PATH" in out:
        out["PATH"] = safe_path(out["PATH"])
    out.update(QUIET_ENV)
    return out


def safe_path(value: str) -> str:
    """PATH without empty or relative entries: those name the current folder (the repository),
    where a file called ``ls`` would otherwise run in place of the real one."""
    return os.pathsep.join(p for p in value.split(os.pathsep) if os.path.isabs(p))


@lru_cache(maxsize=8)
def _pattern(values: tuple[str, ...]) -> re.Pattern[str] | None:
    if not values:
        return None
    return re.compile("|".join(re.escape(v) for v in values))


_PRIVATE_KEY = re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END \1PRIVATE KEY-----|\Z)",
                          re.S)


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace the value of every secret-looking variable currently set, and any PEM private
    key block, with ``[REDACTED]``: the one mask for everything de-agent sends or writes."""
    if not text:
        return text
    if "PRIVATE KEY-----" in text:
        text = _PRIVATE_KEY.sub(REDACTED, text)
    if environ is None:
        # A snapshot of the process environment taken in C: cheap, and it changes whenever a
        # variable is set or unset, so the cached pattern is never stale.
        raw = getattr(os.environ, "_data", None)
        pattern = _env_pattern(tuple(raw.items())) if isinstance(raw, dict) else \
            _secrets_pattern(os.environ.items())
    else:
        pattern = _secrets_pattern(environ.items())
    return text if pattern is None else pattern.sub(REDACTED, text)


def _secrets_pattern(items) -> re.Pattern[str] | None:
    values = {v for k, v in items if len(v) >= MIN_SECRET_LEN and is_secret_var(k, v)}
    # Also as written inside JSON text, once and twice escaped (a tool call's arguments are
    # a JSON string inside a JSON record): a quote or backslash in the value changes its form.
    for v in list(values):
        for _ in range(2):
            v = json.dumps(v, ensure_ascii=False)[1:-1]
            values.add(v)
    # Longest first, so a secret that contains another is replaced whole.
    return _pattern(tuple(sorted(values, key=lambda v: (-len(v), v))))


@lru_cache(maxsize=4)
def _env_pattern(raw_items: tuple[tuple[bytes, bytes], ...]) -> re.Pattern[str] | None:
    return _secrets_pattern((os.fsdecode(k), os.fsdecode(v)) for k, v in raw_items)


_protected = False


def protect_process() -> bool:
    """Make this process's memory and environment unreadable to the commands it starts.

    Commands run as the same user; without this, ``cat /proc/$PPID/environ`` would show them
    de-agent's own environment, API keys included. ``PR_SET_DUMPABLE=0`` hands ``/proc/<pid>``
    to root and blocks ptrace by the same user. Linux only; returns whether it took effect.
    """
    global _protected
    if _protected:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_dumpable = 4
        _protected = libc.prctl(pr_set_dumpable, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        _protected = False
    return _protected


def block_dotenv() -> None:
    """Make sure no ``.env`` file is ever loaded into de-agent's own environment.

    litellm calls ``dotenv.load_dotenv()`` when imported, which loads the first ``.env`` found
    above its own folder: with a virtualenv inside the repository, the repository's ``.env``.
    Only the person sets de-agent's environment, so loading is switched off before any
    library can do it: litellm's own switch, and ``load_dotenv`` itself turned into a no-op.
    """
    os.environ["LITELLM_MODE"] = "PRODUCTION"
    try:
        import dotenv
        import dotenv.main
    except ImportError:
        return

    def refuse(*_args, **_kwargs) -> bool:
        return False

    dotenv.load_dotenv = refuse
    dotenv.main.load_dotenv = refuse
