"""A catalogue of hand-made Edit cases, one class of model slip (or trap) at a time.

Written for this project after the kinds of cases other agents test (whole-line and
fragment replacements, lost or doubled indentation, trailing whitespace, Unicode
punctuation, over-escaped strings, several occurrences, already-applied edits, line-ending
and final-newline mismatches); none is copied. Each case is (class, name, file bytes,
old_string, new_string, expected bytes or None when refusing is the right answer,
allow_multiple).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Case:
    cls: str
    name: str
    data: bytes
    old: str
    new: str
    expected: bytes | None  # None: the edit must be refused
    allow_multiple: bool = False


def _u(text: str) -> bytes:
    return text.encode("utf-8")


PY = '''import os


class Loader:
    """Loads rows."""

    def __init__(self, path):
        self.path = path
        self.rows = []

    def load(self):
        with open(self.path) as fh:
            for line in fh:
                self.rows.append(line.strip())
        return self.rows


def main():
    loader = Loader(os.environ["DATA"])
    print(len(loader.load()))
'''

JS = '''function total(items) {
  let sum = 0;
  for (const item of items) {
    sum += item.price * item.qty;
  }
  return sum;
}

module.exports = { total };
'''

SQL = '''-- daily revenue
SELECT
    order_date,
    SUM(amount) AS revenue
FROM orders
WHERE status = 'paid'
GROUP BY order_date
ORDER BY order_date;
'''

YAML = '''version: 2
models:
  - name: orders
    columns:
      - name: id
        tests:
          - unique
          - not_null
'''

GO = '''package main

import "fmt"

func main() {
\tfor i := 0; i < 3; i++ {
\t\tfmt.Println(i)
\t}
}
'''

FILES = {"py": PY, "js": JS, "sql": SQL, "yaml": YAML, "go": GO}


def _replace_case(cls: str, name: str, text: str, old: str, new: str, file_old: str, file_new: str,
                  allow_multiple: bool = False) -> Case:
    assert text.count(file_old) >= 1, (name, file_old)
    return Case(cls, name, _u(text), old, new, _u(text.replace(file_old, file_new)), allow_multiple)


def exact_cases() -> list[Case]:
    pairs = [
        ("py", "self.rows = []", "self.rows: list[str] = []"),
        ("py", "        return self.rows\n", "        return list(self.rows)\n"),
        ("py", "import os\n", "import os\nimport sys\n"),
        ("js", "  let sum = 0;\n", "  let sum = 0.0;\n"),
        ("js", "module.exports = { total };", "module.exports = { total, VERSION: 1 };"),
        ("sql", "WHERE status = 'paid'", "WHERE status IN ('paid', 'settled')"),
        ("sql", "    SUM(amount) AS revenue\n", "    SUM(amount) AS revenue,\n    COUNT(*) AS orders\n"),
        ("yaml", "          - unique\n", ""),
        ("go", "\t\tfmt.Println(i)\n", "\t\tfmt.Println(i * 2)\n"),
        ("go", "i < 3", "i < 10"),
    ]
    return [_replace_case("exact", f"{k} #{n}", FILES[k], o, nw, o, nw) for n, (k, o, nw) in enumerate(pairs)]


def trailing_ws_cases() -> list[Case]:
    out = []
    for n, (k, line, new_line) in enumerate([
            ("py", "        self.path = path\n", "        self.path = str(path)\n"),
            ("js", "  return sum;\n", "  return Math.round(sum);\n"),
            ("sql", "FROM orders\n", "FROM shop.orders\n"),
            ("yaml", "  - name: orders\n", "  - name: orders_v2\n")]):
        # The changed line keeps the file's trailing whitespace: the model did not touch it.
        text = FILES[k].replace(line, line[:-1] + "   \n")
        out.append(Case("trailing whitespace", f"{k} file has trailing spaces #{n}", _u(text), line, new_line,
                        _u(text.replace(line[:-1] + "   \n", new_line[:-1] + "   \n"))))
        out.append(_replace_case("trailing whitespace", f"{k} old_string has trailing spaces #{n}", FILES[k],
                                 line[:-1] + "  \n", new_line[:-1] + "  \n", line, new_line))
    return out


def indentation_cases() -> list[Case]:
    block = "        with open(self.path) as fh:\n            for line in fh:\n"
    new_block = "        with open(self.path, encoding=\"utf-8\") as fh:\n            for line in fh:\n"
    out = []
    for shift in (-8, -4, -2, 2, 4):
        def move(s: str, k: int = shift) -> str:
            return "".join((" " * k + x if k > 0 else x[-k:]) + "\n" for x in s.split("\n")[:-1])
        out.append(_replace_case("indentation", f"block shifted {shift}", PY, move(block), move(new_block),
                                 block, new_block))
    two = "    with open(self.path) as fh:\n      for line in fh:\n"
    out.append(_replace_case("indentation", "two-space steps", PY, two,
                             two.replace("open(self.path)", "open(self.path, 'rb')"), block,
                             block.replace("open(self.path)", "open(self.path, 'rb')")))
    out.append(_replace_case("indentation", "spaces for the file's tabs", GO,
                             "    for i := 0; i < 3; i++ {\n        fmt.Println(i)\n",
                             "    for i := 0; i < 3; i++ {\n        fmt.Println(i + 1)\n",
                             "\tfor i := 0; i < 3; i++ {\n\t\tfmt.Println(i)\n",
                             "\tfor i := 0; i < 3; i++ {\n\t\tfmt.Println(i + 1)\n"))
    out.append(_replace_case("indentation", "tabs for the file's spaces", JS,
                             "\tfor (const item of items) {\n\t\tsum += item.price * item.qty;\n",
                             "\tfor (const item of items) {\n\t\tsum += item.price * (item.qty || 1);\n",
                             "  for (const item of items) {\n    sum += item.price * item.qty;\n",
                             "  for (const item of items) {\n    sum += item.price * (item.qty || 1);\n"))
    out.append(_replace_case("indentation", "new line inserted in a shifted block", PY,
                             "def load(self):\n    with open(self.path) as fh:\n",
                             "def load(self):\n    self.rows.clear()\n    with open(self.path) as fh:\n",
                             "    def load(self):\n        with open(self.path) as fh:\n",
                             "    def load(self):\n        self.rows.clear()\n        with open(self.path) as fh:\n"))
    out.append(_replace_case("indentation", "yaml list shifted", YAML, "- name: id\n  tests:\n",
                             "- name: id\n  description: key\n  tests:\n", "      - name: id\n        tests:\n",
                             "      - name: id\n        description: key\n        tests:\n"))
    out.append(Case("indentation", "one line off: the block's shape differs", _u(PY),
                    "def load(self):\n    with open(self.path) as fh:\n         for line in fh:\n",
                    "def load(self):\n    with open(self.path) as fh:\n         for raw in fh:\n", None))
    out.append(Case("indentation", "relative indentation lost", _u(PY),
                    "with open(self.path) as fh:\nfor line in fh:\n", "with open(self.path) as fh:\nfor x in fh:\n",
                    None))
    return out


def double_indent_cases() -> list[Case]:
    """new_string already at the file's columns while old_string lost its indentation."""
    out = []
    snippets = [
        ("py", "        self.path = path\n", "self.path = path\n", "        self.path = os.fspath(path)\n"),
        ("py", "        return self.rows\n", "return self.rows\n", "        return tuple(self.rows)\n"),
        ("py", "        return self.rows\n", "return self.rows\n", "        self.rows.sort()\n        return self.rows\n"),
        ("js", "    sum += item.price * item.qty;\n", "sum += item.price * item.qty;\n",
         "    sum += item.price * item.qty * (1 - item.discount);\n"),
        ("sql", "    order_date,\n", "order_date,\n", "    CAST(order_date AS DATE) AS order_date,\n"),
        ("yaml", "          - not_null\n", "- not_null\n", "          - not_null\n          - accepted_values\n"),
        ("go", "\t\tfmt.Println(i)\n", "fmt.Println(i)\n", "\t\tfmt.Printf(\"%d\\n\", i)\n"),
    ]
    for n, (k, file_line, old, new) in enumerate(snippets):
        out.append(_replace_case("double indentation", f"{k} one line #{n}", FILES[k], old, new, file_line, new))
    out.append(_replace_case("double indentation", "method of a class", PY,
                             "def __init__(self, path):\n    self.path = path\n",
                             "    def __init__(self, path):\n        self.path = path.strip()\n",
                             "    def __init__(self, path):\n        self.path = path\n",
                             "    def __init__(self, path):\n        self.path = path.strip()\n"))
    out.append(_replace_case("double indentation", "method with a line added", PY,
                             "def load(self):\n    with open(self.path) as fh:\n",
                             "    def load(self):\n        self.rows = []\n        with open(self.path) as fh:\n",
                             "    def load(self):\n        with open(self.path) as fh:\n",
                             "    def load(self):\n        self.rows = []\n        with open(self.path) as fh:\n"))
    out.append(_replace_case("double indentation", "old_string starts with a blank line", PY,
                             "\ndef load(self):\n", "\n    def load(self, limit=None):\n",
                             "\n    def load(self):\n", "\n    def load(self, limit=None):\n"))
    out.append(_replace_case("double indentation", "go loop body", GO,
                             "for i := 0; i < 3; i++ {\n\tfmt.Println(i)\n",
                             "\tfor i := 0; i < 5; i++ {\n\t\tfmt.Println(i)\n",
                             "\tfor i := 0; i < 3; i++ {\n\t\tfmt.Println(i)\n",
                             "\tfor i := 0; i < 5; i++ {\n\t\tfmt.Println(i)\n"))
    out.append(_replace_case("double indentation", "js block", JS,
                             "for (const item of items) {\n  sum += item.price * item.qty;\n",
                             "  for (const item of items) {\n    sum += item.total;\n",
                             "  for (const item of items) {\n    sum += item.price * item.qty;\n",
                             "  for (const item of items) {\n    sum += item.total;\n"))
    return out


def newline_cases() -> list[Case]:
    out = []
    for n, (k, line, new_line) in enumerate([
            ("py", "        self.rows = []\n", "        self.rows = list()\n"),
            ("js", "  let sum = 0;\n", "  let sum = 0n;\n"),
            ("sql", "GROUP BY order_date\n", "GROUP BY 1\n"),
            ("yaml", "version: 2\n", "version: 3\n"),
            ("go", "import \"fmt\"\n", "import (\n\t\"fmt\"\n\t\"os\"\n)\n"),
            ("py", "import os\n", "import os\nimport json\n")]):
        out.append(_replace_case("trailing newline", f"{k} old ends with a newline, new does not #{n}",
                                 FILES[k], line, new_line[:-1], line, new_line))
        out.append(_replace_case("trailing newline", f"{k} new ends with a newline, old does not #{n}",
                                 FILES[k], line[:-1], new_line, line, new_line))
    return out


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")


def escaping_cases() -> list[Case]:
    out = []
    for n, (k, old, new) in enumerate([
            ("py", '    loader = Loader(os.environ["DATA"])\n', '    loader = Loader(os.environ["DATA_PATH"])\n'),
            ("py", '    """Loads rows."""\n', '    """Loads rows from a text file."""\n'),
            ("py", "def main():\n    loader", "def main() -> None:\n    loader"),
            ("js", "  let sum = 0;\n  for", "  let sum = 0;\n  // add up\n  for"),
            ("go", '\t\tfmt.Println(i)\n', '\t\tfmt.Println("i =", i)\n'),
            ("go", 'import "fmt"', 'import "fmt" // printing'),
            ("sql", "WHERE status = 'paid'\n", "WHERE status = 'paid'\n  AND amount > 0\n"),
            ("yaml", "          - unique\n          - not_null\n", "          - not_null\n")]):
        out.append(_replace_case("escaping", f"{k} over-escaped #{n}", FILES[k], _esc(old), _esc(new), old, new))
    text = 'LOG_FORMAT = "%(asctime)s\\t%(message)s\\n"\n'
    out.append(Case("escaping", "file has real escapes, model doubled them", _u(text),
                    'LOG_FORMAT = \\"%(asctime)s\\\\t%(message)s\\\\n\\"',
                    'LOG_FORMAT = \\"%(asctime)s | %(message)s\\\\n\\"',
                    _u('LOG_FORMAT = "%(asctime)s | %(message)s\\n"\n')))
    out.append(Case("escaping", "file has real escapes, model copied them right", _u(text),
                    'LOG_FORMAT = "%(asctime)s\\t%(message)s\\n"', 'LOG_FORMAT = "%(message)s\\n"',
                    _u('LOG_FORMAT = "%(message)s\\n"\n')))
    out.append(Case("escaping", "over-escaped and not in the file", _u(PY), 'print(\\"missing\\")',
                    'print(\\"x\\")', None))
    out.append(Case("escaping", "over-escaped and in two places", _u('a = "x"\nb = 1\na = "x"\n'),
                    'a = \\"x\\"', 'a = \\"y\\"', None))
    return out


def wrapping_cases() -> list[Case]:
    out = []
    wrapped = "result = compute(alpha, beta,\n                 gamma, delta)\nprint(result)\n"
    out.append(Case("wrapping", "file wrapped, old on one line", _u(wrapped),
                    "result = compute(alpha, beta, gamma, delta)", "result = compute(alpha, beta, gamma, epsilon)",
                    _u(wrapped.replace("delta)", "epsilon)"))))
    out.append(Case("wrapping", "file wrapped, change at the start", _u(wrapped),
                    "result = compute(alpha, beta, gamma, delta)", "result = evaluate(alpha, beta, gamma, delta)",
                    _u(wrapped.replace("compute", "evaluate"))))
    out.append(Case("wrapping", "file wrapped, argument inserted", _u(wrapped),
                    "result = compute(alpha, beta, gamma, delta)\n",
                    "result = compute(alpha, beta, zeta, gamma, delta)\n",
                    _u(wrapped.replace("beta,\n                 ", "beta,\n                 zeta, "))))
    one = "total = price * qty + shipping + handling - discount\n"
    out.append(Case("wrapping", "file on one line, old wrapped", _u(one),
                    "total = (price * qty + shipping\n         + handling - discount)".replace("(", "").replace(")", ""),
                    "total = price * qty + shipping\n         + handling - rebate",
                    _u(one.replace("discount", "rebate"))))
    sql = "SELECT id, name, email FROM users WHERE active = 1;\n"
    out.append(Case("wrapping", "sql wrapped in old_string", _u(sql),
                    "SELECT id, name, email\nFROM users\nWHERE active = 1;",
                    "SELECT id, name, email\nFROM users\nWHERE active = 0;", _u(sql.replace("= 1", "= 0"))))
    js = "const x = fetch(url, {\n  method: 'POST',\n});\n"
    out.append(Case("wrapping", "js object joined", _u(js), "const x = fetch(url, { method: 'POST', });",
                    "const x = fetch(url, { method: 'PUT', });", _u(js.replace("POST", "PUT"))))
    args = "def connect(host, port,\n            timeout=10):\n    pass\n"
    out.append(Case("wrapping", "signature wrapped", _u(args), "def connect(host, port, timeout=10):",
                    "def connect(host, port, timeout=30):", _u(args.replace("10", "30"))))
    out.append(Case("wrapping", "wrapped differently and joining words would be needed", _u(args),
                    "def connect(host, port, timeout=10):\n    passx", "def connect(host, port, timeout=1):\n    pass",
                    None))
    nested = "class C:\n    def f(self):\n        return g(a,\n                 b)\n"
    out.append(Case("wrapping", "indentation after the break differs from the file", _u(nested),
                    "return g(a,\n      b)", "return g(a,\n      c)", None))
    twice = "x = f(a,\n      b)\ny = f(a, b)\n"
    out.append(Case("wrapping", "two places once whitespace is ignored", _u(twice), "f(a,b)", "f(a,c)", None))
    return out


def space_run_cases() -> list[Case]:
    out = []
    aligned = "MAX_ROWS    = 1000\nMAX_COLS    = 50\nTIMEOUT     = 30\n"
    for n, (old, new, f_old, f_new) in enumerate([
            ("MAX_ROWS = 1000", "MAX_ROWS = 5000", "MAX_ROWS    = 1000", "MAX_ROWS    = 5000"),
            ("TIMEOUT = 30\n", "TIMEOUT = 60\n", "TIMEOUT     = 30\n", "TIMEOUT     = 60\n"),
            ("MAX_COLS = 50\nTIMEOUT = 30\n", "MAX_COLS = 80\nTIMEOUT = 30\n", "MAX_COLS    = 50\n",
             "MAX_COLS    = 80\n")]):
        out.append(_replace_case("space runs", f"aligned assignments #{n}", aligned, old, new, f_old, f_new))
    table = "| id  | name    |\n|-----|---------|\n| 1   | alice   |\n"
    out.append(_replace_case("space runs", "markdown table cell", table, "| 1 | alice |", "| 1 | alicia |",
                             "| 1   | alice   |", "| 1   | alicia   |"))
    sql = "SELECT  id,   name\nFROM    users;\n"
    out.append(_replace_case("space runs", "sql with double spaces", sql, "SELECT id, name\n", "SELECT id, name, email\n",
                             "SELECT  id,   name\n", "SELECT  id,   name, email\n"))
    out.append(_replace_case("space runs", "old has runs the file does not", PY,
                             "self.path  =  path", "self.path  =  str(path)", "self.path = path",
                             "self.path = str(path)"))
    out.append(_replace_case("space runs", "comment with double space after period", "x = 1  # set x.  Keep it.\n",
                             "# set x. Keep it.", "# set x. Keep it small.", "# set x.  Keep it.",
                             "# set x.  Keep it small."))
    out.append(Case("space runs", "space inside an identifier is not a slip", _u("max_rows = 1\n"),
                    "max rows = 1", "max rows = 2", None))
    out.append(Case("space runs", "two places once spaces are ignored", _u("a  = 1\nb = 2\na =  1\n"),
                    "a = 1", "a = 3", None))
    out.append(_replace_case("space runs", "tab inside a line", "key\tvalue\nother\tthing\n", "key value",
                             "key value2", "key\tvalue", "key\tvalue2"))
    return out


def unicode_cases() -> list[Case]:
    out = []
    for n, (ch, where) in enumerate([("\u201c", '"'), ("\u2018", "'"), ("\u2013", "-"), ("\u2014", "-"),
                                     ("\u00a0", " "), ("\u2004", " "), ("\u2005", " "), ("\u2006", " "),
                                     ("\u2008", " "), ("\u205f", " "), ("\u2009", " "), ("\u202f", " ")]):
        line = f"label = {where}net{where} + value {where} 1\n" if where != " " else "label = net + value - 1\n"
        file_line = line.replace(where, ch) if where != " " else line.replace(" + ", f"{ch}+{ch}")
        text = "x = 0\n" + file_line + "y = 2\n"
        expected = text.replace("value", "amount")
        out.append(Case("unicode punctuation", f"U+{ord(ch):04X} in the file #{n}", _u(text),
                        line, line.replace("value", "amount"), _u(expected)))
    out.append(_replace_case("unicode punctuation", "curly quotes in old_string", PY,
                             "loader = Loader(os.environ[\u201cDATA\u201d])", "loader = Loader(os.environ[\u201cDATA2\u201d])",
                             'loader = Loader(os.environ["DATA"])', 'loader = Loader(os.environ["DATA2"])'))
    out.append(Case("unicode punctuation", "two places once quotes are normalised",
                    _u("s = \u201cx\u201d\nt = 1\ns = \u201ex\u201c\n"), 's = "x"\n', 's = "y"\n', None))
    return out


def all_cases() -> list[Case]:
    from edit_cases_more import (
        applied_cases,
        big_file_cases,
        blank_line_cases,
        cp1251_cases,
        crlf_cases,
        deletion_cases,
        first_line_cases,
        fragment_cases,
        multiple_cases,
        normal_form_cases,
        refusal_cases,
    )

    return [c for make in (big_file_cases, fragment_cases, deletion_cases, first_line_cases, exact_cases,
                           trailing_ws_cases, indentation_cases, double_indent_cases, newline_cases, escaping_cases, wrapping_cases, space_run_cases, unicode_cases, normal_form_cases,
                           cp1251_cases, multiple_cases, refusal_cases, applied_cases, crlf_cases, blank_line_cases)
            for c in make()]
