"""The deny list: commands refused in every approval mode, ``yolo`` included.

Checked on every simple command wherever it appears (inside ``$(...)``, loops, functions,
``find -exec``), after looking through wrappers (``sudo``, ``env``, ``nice``, ``timeout``,
``xargs``...) and into the strings run by ``sh -c``, ``bash -c``, ``eval`` and ``su -c``.
When bashlex cannot parse a command, the same checks run on a shlex split of it, and fork
bombs are also recognised in the raw text. The deny list is a safety net for catastrophic
commands, not the boundary: everything not on the read-only list asks anyway.
"""

from __future__ import annotations

import os
import posixpath
import re

from de_agent.security import shparse

MAX_DEPTH = 4
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "fish", "ash", "busybox"})
INTERPRETERS = SHELLS | frozenset({"python", "python2", "python3", "perl", "ruby", "node", "nodejs",
                                   "php", "pwsh", "lua", "tclsh", "deno", "bun", "source", "."})
DOWNLOADERS = frozenset({"curl", "wget", "fetch", "aria2c", "http", "https", "xh", "lynx"})
# Wrapper -> options that take a value (skipped with their value).
WRAPPERS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-C", "-h", "-p", "-r", "-t", "-D", "-U", "-T", "-R"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C", "--unset", "--chdir"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "nohup": frozenset(), "time": frozenset(), "builtin": frozenset(), "command": frozenset(),
    "exec": frozenset({"-a"}), "setsid": frozenset(), "stdbuf": frozenset({"-i", "-o", "-e"}),
    "ionice": frozenset({"-c", "-n", "-p", "-P", "-u"}), "chrt": frozenset(),
    "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    "xargs": frozenset({"-a", "-d", "-E", "-e", "-I", "-i", "-L", "-l", "-n", "-P", "-s",
                        "--arg-file", "--delimiter", "--max-args", "--max-procs", "--replace"}),
    "watch": frozenset({"-n", "-d", "--interval"}), "flock": frozenset({"-w", "-E"}),
    "chroot": frozenset(), "unshare": frozenset(), "taskset": frozenset(),
    "strace": frozenset({"-o", "-e", "-p", "-s"}), "ltrace": frozenset({"-o", "-e", "-p"}),
    "runuser": frozenset({"-u", "-g"}), "caffeinate": frozenset(), "systemd-run": frozenset(),
}
# Positional arguments a wrapper takes before the command it runs.
WRAPPER_POSITIONALS = {"timeout": 1, "chrt": 1, "taskset": 1, "flock": 1, "chroot": 1}
SYSTEM_DIRS = frozenset({"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64",
                         "/libx32", "/opt", "/proc", "/root", "/sbin", "/srv", "/sys", "/usr", "/var",
                         "/snap", "/mnt", "/media", "/run", "/Users", "/System", "/Applications",
                         "/Library", "/private"})
DISK = re.compile(r"^/dev/(sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|dm-\d|md\d|disk/|mapper/|sr\d)")
HARMLESS_DEV = re.compile(r"^/dev/(null|zero|full|stdout|stderr|stdin|tty|fd/\d+|random|urandom)$")
POWER = frozenset({"shutdown", "reboot", "halt", "poweroff", "kexec"})
MKFS = re.compile(r"^(mkfs(\..*)?|mke2fs|mkswap|mkntfs|mkdosfs|mkexfatfs|wipefs)$")
_FORK_BOMB = (re.compile(r"([^\s(){};|&]+)\(\)\{[^}]*\1\|\1"),
              re.compile(r"function([^\s(){};|&]+)(?:\(\))?\{[^}]*\1\|\1"))


def base(program: str) -> str:
    return program.rsplit("/", 1)[-1]


def unwrap(words: list[str]) -> list[str]:
    """The command a chain of wrappers finally runs (``sudo env X=1 nice rm ...`` -> ``rm ...``)."""
    for _ in range(MAX_DEPTH * 2):
        if not words or base(words[0]) not in WRAPPERS:
            return words
        name = base(words[0])
        takes_value = WRAPPERS[name]
        i = 1
        while i < len(words):
            word = words[i]
            if word == "--":
                i += 1
                break
            if name == "env" and "=" in word and not word.startswith("-"):
                i += 1
            elif word.startswith("-") and len(word) > 1:
                i += 2 if word in takes_value else 1
            else:
                break
        i += WRAPPER_POSITIONALS.get(name, 0)
        words = words[i:]
    return words


def _shell_string(words: list[str]) -> str | None:
    """The command string of ``sh -c STRING``, ``eval ...``, ``su -c STRING`` or ``env -S``."""
    if not words:
        return None
    name = base(words[0])
    if name == "eval":
        return " ".join(words[1:])
    if name in SHELLS or name in ("su", "runuser", "script", "env"):
        for i, word in enumerate(words[1:], start=1):
            if word in ("-c", "--command", "-S", "--split-string") or (
                    word.startswith("-") and not word.startswith("--") and "c" in word[1:]
                    and name not in ("env",)):
                rest = [w for w in words[i + 1:] if not w.startswith("-")]
                return rest[0] if rest else None
    return None


def _find_exec(words: list[str]) -> list[list[str]]:
    """The commands of ``find ... -exec CMD ;`` (and -execdir, -ok, -okdir)."""
    out: list[list[str]] = []
    if base(words[0]) != "find":
        return out
    i = 0
    while i < len(words):
        if words[i] in ("-exec", "-execdir", "-ok", "-okdir"):
            j = i + 1
            while j < len(words) and words[j] not in (";", "+", "\\;"):
                j += 1
            out.append(words[i + 1:j])
            i = j
        i += 1
    return out


def _normal(target: str) -> str:
    home = os.path.expanduser("~")
    for prefix in ("${HOME}", "$HOME", "~"):
        if target == prefix or target.startswith(prefix + "/"):
            target = home + target[len(prefix):]
            break
    if not target.startswith("/"):
        return target
    return posixpath.normpath("/" + target.lstrip("/"))


def dangerous_target(target: str) -> bool:
    """``/``, the home folder, a top-level system folder, or everything in one of them."""
    path = _normal(target)
    if not path.startswith("/"):
        return False
    home = posixpath.normpath(os.path.expanduser("~"))
    parent = (path[:-2] or "/") if path.endswith("/*") else path
    first = "/" + path.lstrip("/").split("/", 1)[0]
    if any(ch in first for ch in "*?["):
        return True
    return parent in SYSTEM_DIRS or parent == home or path in SYSTEM_DIRS or path == home


def _flags_and_args(words: list[str]) -> tuple[set[str], list[str]]:
    flags: set[str] = set()
    args: list[str] = []
    only_args = False
    for word in words[1:]:
        if only_args or not word.startswith("-") or word == "-":
            args.append(word)
        elif word == "--":
            only_args = True
        elif word.startswith("--"):
            flags.add(word)
        else:
            flags.update("-" + ch for ch in word[1:])
    return flags, args


def _check_words(words: list[str]) -> str | None:
    """Why this simple command (already unwrapped) is refused, or None."""
    if not words:
        return None
    name = base(words[0])
    flags, args = _flags_and_args(words)
    recursive = bool(flags & {"-r", "-R", "--recursive"})
    if name == "rm":
        if "--no-preserve-root" in flags:
            return "`rm --no-preserve-root` could delete the whole file system"
        bad = [a for a in args if dangerous_target(a)]
        if recursive and bad:
            return f"`rm -r {bad[0]}` would delete the file system, the home folder or a system folder"
    if name in ("chmod", "chown", "chgrp") and recursive:
        bad = [a for a in args if dangerous_target(a)]
        if bad:
            return f"`{name} -R ... {bad[0]}` would change permissions across the whole system"
    if MKFS.match(name):
        return f"`{name}` formats or wipes a disk"
    if name == "dd":
        for arg in args:
            if arg.startswith("of=") and arg[3:].startswith("/dev/") and not HARMLESS_DEV.match(arg[3:]):
                return f"`dd {arg}` writes straight onto a device"
    if name == "find" and "-delete" in words:
        starts = [w for w in words[1:] if not w.startswith(("-", "(", "!"))][:1]
        if starts and dangerous_target(starts[0]):
            return f"`find {starts[0]} -delete` would delete the file system or a system folder"
    if name in ("tee", "cp", "mv", "shred", "fdisk", "sfdisk", "parted", "sgdisk", "badblocks",
                "truncate", "blkdiscard", "hdparm"):
        disks = [a for a in args if DISK.match(a)]
        if disks:
            return f"`{name} {disks[0]}` writes to a disk device"
    if name in POWER:
        return f"`{name}` would shut down or restart the machine"
    if name in ("init", "telinit") and any(a in ("0", "6") for a in args):
        return f"`{name} {args[0]}` would shut down or restart the machine"
    if name == "systemctl" and any(a in ("poweroff", "reboot", "halt", "kexec", "emergency", "rescue")
                                   for a in args):
        return "`systemctl` would shut down or restart the machine"
    if name in ("kill", "pkill") and ("-1" in words[2:] or (words[1:2] == ["--"] and "-1" in words)):
        return "`kill ... -1` would kill every process of the user"
    return None


def _check_redirects(cmd: shparse.Simple) -> str | None:
    for red in cmd.redirects:
        if isinstance(red.target, str) and DISK.match(red.target) and red.type != "<":
            return f"redirecting output onto {red.target} would overwrite a disk"
    return None


def _deny_words(words: list[str], depth: int) -> str | None:
    for _ in range(MAX_DEPTH * 2):
        text = _shell_string(words)
        if text is not None:
            return deny_reason(text, depth + 1) if depth < MAX_DEPTH else None
        inner = unwrap(words)
        reason = _check_words(inner)
        if reason:
            return reason
        for sub in _find_exec(inner) if inner else []:
            reason = _deny_words(sub, depth + 1)
            if reason:
                return reason
        if inner == words:
            return None
        words = inner
    return None


def _pipe_reason(pipe: list[list[str]]) -> str | None:
    programs = [base(unwrap(words)[0]) if unwrap(words) else "" for words in pipe]
    for i, prog in enumerate(programs):
        if prog in DOWNLOADERS and any(p in INTERPRETERS or p == "eval" for p in programs[i + 1:]):
            return f"piping a download (`{prog}`) into a shell or interpreter runs unreviewed code"
    return None


def fork_bomb(text: str) -> bool:
    squeezed = re.sub(r"\s+", "", text)
    return any(p.search(squeezed) for p in _FORK_BOMB)


def _fork_bomb_functions(nodes: list) -> bool:
    for name, body in shparse.functions(nodes):
        for pipe in shparse.pipelines(body, ""):
            if sum(1 for c in pipe if c.words[:1] == [name]) >= 2:
                return True
        for node in shparse.walk(body):
            if node.kind == "list":
                ops = [p.op for p in node.parts if p.kind == "operator"]
                calls = [p for p in node.parts if p.kind == "command" and p.parts and
                         getattr(p.parts[0], "word", None) == name]
                if "&" in ops and calls:
                    return True
    return False


def deny_reason(command: str, depth: int = 0) -> str | None:
    """Why ``command`` is refused in every mode, or None."""
    if fork_bomb(command):
        return "this is a fork bomb: it would multiply processes until the machine stops"
    try:
        nodes = shparse.parse(command)
    except shparse.Unparsable:
        return _fallback(command, depth)
    if _fork_bomb_functions(nodes):
        return "this is a fork bomb: it would multiply processes until the machine stops"
    for cmd in shparse.simple_commands(nodes, command):
        reason = _deny_words(cmd.words, depth) or _check_redirects(cmd)
        if reason:
            return reason
        hidden = [p for p in cmd.parameters if "$(" in p or "`" in p]
        for text in hidden:
            reason = _fallback(text.replace("$(", ";").replace("`", ";").replace(")", ";"), depth)
            if reason:
                return reason
        reason = _substituted_download(cmd)
        if reason:
            return reason
    for pipe in shparse.pipelines(nodes, command):
        reason = _pipe_reason([c.words for c in pipe])
        if reason:
            return reason
    return None


def _substituted_download(cmd: shparse.Simple) -> str | None:
    """``bash <(curl ...)``, ``sh -c "$(wget ...)"``, ``eval "$(curl ...)"``."""
    inner = unwrap(cmd.words)
    if not inner or (base(inner[0]) not in INTERPRETERS and base(inner[0]) != "eval"):
        return None
    for sub in cmd.substitutions:
        for node in shparse.walk([sub.command]):
            if node.kind == "command" and node.parts and base(getattr(node.parts[0], "word", "")) in DOWNLOADERS:
                return "running a downloaded script (`curl`/`wget` inside a substitution) runs unreviewed code"
    return None


def _fallback(command: str, depth: int) -> str | None:
    for pipe in shparse.split_fallback(command):
        for words in pipe:
            reason = _deny_words(words, depth)
            if reason:
                return reason
        reason = _pipe_reason(pipe)
        if reason:
            return reason
    return None
