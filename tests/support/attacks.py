"""A fresh attack battery for the command policy: new spellings of each class of issue 11
that the older tests do not hold. ``{m}`` is a marker path OUTSIDE the repository (created
only if the command ran), ``{out}`` a folder outside holding ``secret.txt``; the repository
has ``link -> {out}`` (a symlink), ``.env`` and ``secrets/`` (secret-looking files), and
``list0`` (a NUL-separated list naming ``{out}/secret.txt``)."""

# (class, id, command); the last field says whether the command may run in an e2e test at
# all (False: it would change the host if a regression let it through, e.g. the clock).
ATTACKS = [
    # hidden expansions
    ("expansion", "tilde-subst", "echo ~$(touch {m})", True),
    ("expansion", "tilde-backquote", "echo ~`touch {m}`", True),
    ("expansion", "ls-tilde-subst", "ls ~$(touch {m})", True),
    ("expansion", "expr-subst", "expr 1 + $(touch {m})", True),
    ("expansion", "brace-outside", "cat {{README.md,{out}/secret.txt}}", True),
    ("expansion", "brace-dotdot", "cat {{README.md,../outside/secret.txt}}", True),
    ("expansion", "tilde-plus", "cat ~+/../outside/secret.txt", True),
    ("expansion", "class-alpha", "cat [[:alpha:]]ink/secret.txt", True),
    ("expansion", "class-caret", "cat [^x]ink/secret.txt", True),
    ("expansion", "class-lower-head", "head -c 100 [[:lower:]]in[k]/secret.txt", True),
    ("expansion", "cd-dotdot", "cd .. && cat outside/secret.txt", True),
    # abbreviations and options that write or run
    ("options", "git-grep-pager-abbrev", "git grep --open-files-in-page='touch {m}' demo", True),
    ("options", "sort-out-abbrev", "sort --out={m} README.md", True),
    ("options", "sort-output-space", "sort --output {m} README.md", True),
    ("options", "sort-o-glued", "sort -o{m} README.md", True),
    ("options", "sort-compress-prog", "sort --compress-prog='touch {m}' README.md", True),
    ("options", "file-comp-abbrev", "file --comp README.md", True),
    ("options", "date-set-abbrev", "date --se=2001-01-01", False),
    ("options", "rg-search-zip", "rg -z demo", True),
    ("options", "rg-search-zip-long", "rg --search-zip demo", True),
    ("options", "rg-pre", "rg --pre='touch {m}' demo", True),
    ("options", "git-log-output-abbrev", "git log --outp={m}", True),
    ("options", "git-diff-output", "git diff --output={m}", True),
    ("options", "sed-write", "sed -n 'w {m}' README.md", True),
    ("options", "sed-exec", "sed -n '1e touch {m}' README.md", True),
    ("options", "sed-subst-write", "sed -n 's/demo/x/w {m}' README.md", True),
    ("options", "sed-in-place", "sed -i s/demo/x/ README.md", True),
    ("options", "tree-output", "tree -o {m}", True),
    ("options", "find-fprint", "find . -fprint {m}", True),
    ("options", "file-uncompress", "file -z README.md", True),
    ("options", "md5sum-check-list", "md5sum -c list0", True),
    # reads outside the repository
    ("outside", "find-P", "find -P {out}", True),
    ("outside", "find-dashdash", "find -- {out}", True),
    ("outside", "find-D", "find -D stat {out}", True),
    ("outside", "git-blame-contents", "git blame --contents {out}/secret.txt README.md", True),
    ("outside", "git-blame-contents-link", "git blame --contents link/secret.txt README.md", True),
    ("outside", "sort-files0", "sort --files0-from=list0", True),
    ("outside", "wc-files0", "wc --files0-from=list0", True),
    ("outside", "du-files0", "du --files0-from=list0", True),
    ("outside", "grep-file-opt", "grep --file={out}/secret.txt README.md", True),
    ("outside", "grep-f-link", "grep -f link/secret.txt README.md", True),
    ("outside", "diff-from-file", "diff --from-file=link/secret.txt README.md", True),
    ("outside", "base64-link", "base64 link/secret.txt", True),
    ("outside", "redirect-link", "numfmt < link/secret.txt", True),
    ("outside", "git-C-dotdot", "git -C .. status", True),
    ("outside", "grep-R-link", "grep -R TOP-SECRET .", True),
    ("outside", "find-newer-outside", "find . -newer {out}/secret.txt", True),
    # secret-looking files read through a command
    ("secrets", "grep-r-dot", "grep -r hunter2 .", True),
    ("secrets", "rg-uu-hidden", "rg -uu --hidden hunter2", True),
    ("secrets", "rg-hidden", "rg --hidden hunter2", True),
    ("secrets", "diff-rN", "diff -rN secrets empty", True),
    ("secrets", "git-show-env", "git show HEAD:.env", True),
    ("secrets", "git-show-rev-env", "git show HEAD~0:secrets/id_rsa", True),
    ("secrets", "cat-brace-env", "cat {{README.md,.env}}", True),
    ("secrets", "cat-class-env", "cat .[e]nv", True),
    ("secrets", "sed-env", "sed -n 1p .env", True),
    ("secrets", "cd-secrets", "cd secrets && cat id_rsa", True),
]
