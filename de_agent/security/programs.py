"""Per read-only program, the options that keep it read-only; everything else asks.

A program is allowed unasked only when every option it is given is on its list here, written
in full: an abbreviated long option (GNU programs accept ``sort --out=X`` for ``--output``)
is not resolved but asked about, since only the program's complete option table could say
what it means. ``OPTIONS[prog]`` is a ``Spec``: short flags without a value, short options
taking a value, long options without and with a value, and which option values name files
(those are path-checked like arguments). ``ANY`` programs take no file arguments and have no
option that writes or runs anything, so every option is fine.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Spec:
    flags: str = ""
    """Short options without a value (letters)."""
    valued: str = ""
    """Short options taking a value (next word, or glued: ``-n5``)."""
    longs: frozenset[str] = frozenset()
    """Long options without a value (``--all``); ``--x=`` forms listed in ``long_valued``."""
    long_valued: frozenset[str] = frozenset()
    """Long options taking a value (``--sort=size`` or ``--sort size``)."""
    path_values: frozenset[str] = field(default_factory=frozenset)
    """Option names (``-f``, ``--file``) whose value is a file to path-check."""
    numeric_short: bool = False
    """``-5`` means a count (head, tail)."""


def _s(*names: str) -> frozenset[str]:
    return frozenset(names)


# Programs with no file arguments and no option that writes, runs or reads: any option.
ANY = frozenset({"echo", "printf", "pwd", "true", "false", "whoami", "uname", "id", "basename",
                 "dirname", "tr", "seq", "sleep", "test", "[", "printenv", "numfmt", "expr", "which"})

OPTIONS: dict[str, Spec] = {
    "ls": Spec("aAbBcCdfFgGhiklmnNopqQrRsStuUvxXZ1", "ITw",
               _s("--all", "--almost-all", "--human-readable", "--size", "--recursive", "--reverse",
                  "--classify", "--directory", "--inode", "--literal", "--numeric-uid-gid", "--full-time",
                  "--group-directories-first", "--no-group", "--si", "--escape", "--quote-name",
                  "--author", "--ignore-backups", "--file-type", "--color", "--colour", "--kibibytes",
                  "--hide-control-chars", "--show-control-chars", "--context", "--zero"),
               _s("--sort", "--time", "--color", "--colour", "--format", "--width", "--ignore", "--hide",
                  "--quoting-style", "--indicator-style", "--time-style", "--block-size", "--tabsize",
                  "--hyperlink", "--classify")),
    "cat": Spec("AbeEnstTuv", "", _s("--show-all", "--number-nonblank", "--number", "--squeeze-blank",
                                     "--show-ends", "--show-tabs", "--show-nonprinting")),
    "head": Spec("qvz", "nc", _s("--quiet", "--silent", "--verbose", "--zero-terminated"),
                 _s("--lines", "--bytes"), numeric_short=True),
    "tail": Spec("qvz", "nc", _s("--quiet", "--silent", "--verbose", "--zero-terminated"),
                 _s("--lines", "--bytes"), numeric_short=True),
    "wc": Spec("clmwL", "", _s("--bytes", "--chars", "--lines", "--words", "--max-line-length"),
               _s("--total")),
    "grep": Spec("EFGPiywxvcLlnhHoqsbaIrRUzZT", "ABCmefdD",
                 _s("--extended-regexp", "--fixed-strings", "--basic-regexp", "--perl-regexp",
                    "--ignore-case", "--no-ignore-case", "--word-regexp", "--line-regexp", "--invert-match",
                    "--count", "--files-with-matches", "--files-without-match", "--line-number",
                    "--with-filename", "--no-filename", "--only-matching", "--quiet", "--silent",
                    "--no-messages", "--byte-offset", "--text", "--recursive", "--dereference-recursive",
                    "--null", "--null-data", "--color", "--colour", "--initial-tab", "--line-buffered",
                    "--binary"),
                 _s("--max-count", "--after-context", "--before-context", "--context", "--include",
                    "--exclude", "--exclude-dir", "--label", "--binary-files", "--regexp", "--file",
                    "--exclude-from", "--color", "--colour", "--devices", "--directories"),
                 _s("-f", "--file", "--exclude-from")),
    "rg": Spec("iSsFwxvcloqnNHIp0aUuPb.", "efgtTmABCjMErd",
               _s("--ignore-case", "--smart-case", "--case-sensitive", "--fixed-strings", "--word-regexp",
                  "--line-regexp", "--invert-match", "--count", "--count-matches", "--files-with-matches",
                  "--files-without-match", "--only-matching", "--quiet", "--line-number", "--no-line-number",
                  "--with-filename", "--no-filename", "--heading", "--no-heading", "--hidden", "--no-ignore",
                  "--no-ignore-vcs", "--no-ignore-parent", "--no-ignore-dot", "--no-ignore-global",
                  "--files", "--type-list", "--stats", "--json", "--vimgrep", "--column", "--byte-offset",
                  "--multiline", "--multiline-dotall", "--pcre2", "--text", "--null", "--null-data",
                  "--trim", "--unrestricted", "--sort-files", "--passthru", "--no-messages",
                  "--no-config", "--crlf", "--one-file-system", "--pretty", "--no-unicode", "--binary",
                  "--glob-case-insensitive", "--include-zero", "--debug", "--version", "--help"),
               _s("--regexp", "--file", "--glob", "--iglob", "--type", "--type-not", "--max-count",
                  "--after-context", "--before-context", "--context", "--threads", "--max-columns",
                  "--encoding", "--replace", "--max-depth", "--sort", "--sortr", "--color", "--colors",
                  "--max-filesize", "--engine", "--path-separator", "--type-add", "--context-separator",
                  "--field-match-separator", "--field-context-separator", "--dfa-size-limit",
                  "--regex-size-limit"),
               _s("-f", "--file")),
    "sort": Spec("bdfghiMnRrsuVzcCm", "ktS",
                 _s("--ignore-leading-blanks", "--dictionary-order", "--ignore-case", "--general-numeric-sort",
                    "--human-numeric-sort", "--ignore-nonprinting", "--month-sort", "--numeric-sort",
                    "--random-sort", "--reverse", "--stable", "--unique", "--version-sort", "--zero-terminated",
                    "--check", "--merge"),
                 _s("--key", "--field-separator", "--buffer-size", "--parallel", "--sort", "--check",
                    "--random-source"),
                 _s("--random-source")),
    "uniq": Spec("cdDiuz", "fsw", _s("--count", "--repeated", "--all-repeated", "--ignore-case", "--unique",
                                     "--zero-terminated", "--group"),
                 _s("--skip-fields", "--skip-chars", "--check-chars", "--all-repeated", "--group")),
    "cut": Spec("snz", "bcfd", _s("--complement", "--only-delimited", "--zero-terminated"),
                _s("--bytes", "--characters", "--fields", "--delimiter", "--output-delimiter")),
    "nl": Spec("p", "bnwsvildhf", _s("--no-renumber"),
               _s("--body-numbering", "--number-format", "--number-width", "--number-separator",
                  "--starting-line-number", "--line-increment", "--join-blank-lines", "--section-delimiter",
                  "--header-numbering", "--footer-numbering")),
    "diff": Spec("qsyutcNaiwbBEZTrpld", "UCWxXIFS",
                 _s("--brief", "--report-identical-files", "--side-by-side", "--recursive", "--new-file",
                    "--text", "--ignore-case", "--ignore-all-space", "--ignore-space-change",
                    "--ignore-blank-lines", "--no-dereference", "--strip-trailing-cr", "--suppress-common-lines",
                    "--expand-tabs", "--initial-tab", "--minimal", "--show-c-function", "--unidirectional-new-file",
                    "--ignore-tab-expansion", "--ignore-trailing-space", "--color", "--normal"),
                 _s("--unified", "--context", "--width", "--exclude", "--exclude-from", "--ignore-matching-lines",
                    "--show-function-line", "--label", "--color", "--from-file", "--to-file", "--tabsize",
                    "--starting-file"),
                 _s("-X", "--exclude-from", "--from-file", "--to-file")),
    "cmp": Spec("bls", "ni", _s("--print-bytes", "--verbose", "--quiet", "--silent"),
                _s("--bytes", "--ignore-initial")),
    "file": Spec("bhiLNnprsvk0S", "eFP",
                 _s("--brief", "--mime", "--mime-type", "--mime-encoding", "--dereference", "--no-dereference",
                    "--special-files", "--keep-going", "--raw", "--no-pad", "--print0", "--extension", "--apple",
                    "--no-sandbox"),
                 _s("--exclude", "--separator", "--parameter")),
    "stat": Spec("Lft", "c", _s("--dereference", "--file-system", "--terse"), _s("--format", "--printf")),
    "du": Spec("ahsckmbLlxS0DHP", "dBt", _s("--all", "--apparent-size", "--summarize", "--human-readable",
                                            "--si", "--total", "--count-links", "--dereference", "--one-file-system",
                                            "--separate-dirs", "--null", "--time", "--bytes"),
               _s("--max-depth", "--exclude", "--threshold", "--block-size", "--time", "--time-style")),
    "df": Spec("hHTailkPx", "tB", _s("--human-readable", "--si", "--local", "--portability", "--print-type",
                                     "--all", "--inodes", "--total", "--output", "--sync", "--no-sync"),
               _s("--type", "--exclude-type", "--output", "--block-size")),
    "tree": Spec("adfisghDFCnpuqNQrtvUxJAS", "LIP",
                 _s("--noreport", "--dirsfirst", "--gitignore", "--prune", "--du", "--si", "--matchdirs",
                    "--ignore-case", "--charset", "--filesfirst"),
                 _s("--filelimit", "--timefmt", "--sort", "--charset")),
    "realpath": Spec("emqszLPn", "", _s("--canonicalize-existing", "--canonicalize-missing", "--quiet",
                                         "--strip", "--no-symlinks", "--zero", "--logical", "--physical"),
                     _s("--relative-to", "--relative-base"), _s("--relative-to", "--relative-base")),
    "readlink": Spec("efmnqsvz", "", _s("--canonicalize", "--canonicalize-existing", "--canonicalize-missing",
                                         "--no-newline", "--quiet", "--silent", "--verbose", "--zero")),
    "comm": Spec("123iz", "", _s("--check-order", "--nocheck-order", "--total", "--zero-terminated"),
                 _s("--output-delimiter")),
    "paste": Spec("sz", "d", _s("--serial", "--zero-terminated"), _s("--delimiters")),
    "rev": Spec(),
    "tac": Spec("br", "s", _s("--before", "--regex"), _s("--separator")),
    "fold": Spec("bs", "w", _s("--bytes", "--spaces"), _s("--width")),
    "expand": Spec("i", "t", _s("--initial"), _s("--tabs")),
    "column": Spec("txneJLR", "socNWHOdr", _s("--table", "--fillrows", "--json", "--keep-empty-lines"),
                   _s("--separator", "--output-separator", "--table-columns", "--output-width")),
    "base64": Spec("di", "w", _s("--decode", "--ignore-garbage"), _s("--wrap")),
    "date": Spec("uRI", "dfr", _s("--utc", "--universal", "--rfc-email", "--iso-8601", "--debug"),
                 _s("--date", "--rfc-3339", "--iso-8601", "--file", "--reference"),
                 _s("-f", "--file", "-r", "--reference")),
    "find": Spec(),  # expressions are checked by their own rules in commands.py
}
for _name in ("egrep", "fgrep"):
    OPTIONS[_name] = OPTIONS["grep"]
for _name in ("md5sum", "sha1sum", "sha256sum", "sha512sum", "sha224sum", "sha384sum", "b2sum", "cksum"):
    OPTIONS[_name] = Spec("btz", "al", _s("--binary", "--text", "--tag", "--zero", "--untagged", "--raw",
                                         "--base64"), _s("--algorithm", "--length"))

# find: expression words that only test or print (their value, if any, is the next word).
FIND_TESTS = _s("-name", "-iname", "-path", "-ipath", "-wholename", "-iwholename", "-regex", "-iregex",
                "-type", "-xtype", "-maxdepth", "-mindepth", "-size", "-mtime", "-mmin", "-atime", "-amin",
                "-ctime", "-cmin", "-newer", "-anewer", "-cnewer", "-user", "-group", "-uid", "-gid",
                "-perm", "-links", "-inum", "-samefile", "-lname", "-ilname", "-regextype", "-used",
                "-printf", "-fstype", "-newermt", "-newerct", "-newerat")
FIND_NOVALUE = _s("-empty", "-print", "-print0", "-ls", "-prune", "-not", "!", "-o", "-or", "-a", "-and",
                  "(", ")", "-depth", "-readable", "-writable", "-executable", "-xdev", "-mount", "-quit",
                  "-true", "-false", "-nouser", "-nogroup", "-noleaf", "-daystart", "-ignore_readdir_race",
                  "-noignore_readdir_race", ",")
FIND_PATH_TESTS = _s("-newer", "-anewer", "-cnewer", "-samefile")


def check_options(prog: str, words: list[str]) -> tuple[str | None, list[str], list[str]]:
    """(reason to ask, file arguments, option values that are files) for ``words``."""
    spec = OPTIONS[prog]
    positional: list[str] = []
    path_values: list[str] = []
    i = 1
    while i < len(words):
        word = words[i]
        if word == "--":
            positional += words[i + 1:]
            break
        if word.startswith("--"):
            name, eq, value = word.partition("=")
            if name in spec.long_valued:
                if not eq:
                    if name not in spec.longs:
                        i += 1
                        value = words[i] if i < len(words) else ""
                if name in spec.path_values and (eq or name not in spec.longs):
                    path_values.append(value)
            elif name in spec.longs and not eq:
                pass
            else:
                return (f"`{prog} {name}` is not an option known to keep {prog} read-only"
                        " (long options must be written in full)"), [], []
        elif word.startswith("-") and len(word) > 1:
            if spec.numeric_short and word[1:].isdigit():
                i += 1
                continue
            j = 1
            while j < len(word):
                ch = word[j]
                if ch in spec.valued:
                    value = word[j + 1:]
                    if not value:
                        i += 1
                        value = words[i] if i < len(words) else ""
                    if f"-{ch}" in spec.path_values:
                        path_values.append(value)
                    break
                if ch not in spec.flags:
                    return f"`{prog} -{ch}` is not an option known to keep {prog} read-only", [], []
                j += 1
        else:
            positional.append(word)
        i += 1
    return None, positional, path_values
