"""67 commands that peer assistants (Codex's safe-command check, Gemini CLI's read-only list)
treat as safe to run without asking, written out for this project (our own list, reasoned from
what those projects consider read-only). The friction test and benchmark classify each against
a small repository with ``etl/load.py`` and ``README.md``; at most 4 may ask here."""

PEER_SAFE = (
    "ls", "ls -la", "ls -lah etl", "ls -R", "cat README.md", "cat -n etl/load.py",
    "head -n 20 etl/load.py", "head -5 README.md", "tail -n 50 etl/load.py", "wc -l etl/load.py",
    "wc -c README.md", "grep -n load etl/load.py", "grep -rn 'def ' etl", "grep -R load .",
    "grep -i readme README.md", "grep -c def etl/load.py", "rg load", "rg -n 'def load' etl",
    "rg --files", "rg -l load", "rg -i todo -g '*.py'", "find . -name '*.py'", "find etl -type f",
    "find . -maxdepth 2 -type d", "pwd", "echo hello", "printf '%s\\n' hi", "which python3", "whoami",
    "id", "uname -a", "date", "true", "false", "nl README.md", "sed -n 1,5p README.md",
    "sed -n '10,20p' etl/load.py", "cut -c1-10 README.md", "sort README.md", "sort -u etl/load.py",
    "uniq README.md", "uniq -c README.md", "echo hi | tr a-z A-Z", "rev README.md", "tac README.md",
    "paste README.md etl/load.py", "seq 1 5", "base64 README.md", "numfmt --to=iec 1048576",
    "expr 1 + 2", "stat README.md", "du -sh etl", "df -h", "file README.md", "cd etl",
    "git status", "git status --short", "git log --oneline -5", "git diff", "git diff --stat",
    "git show HEAD", "git branch", "git branch --show-current", "git -C . branch --show-current",
    "git rev-parse HEAD", "git ls-files", "git blame README.md",
)
