"""More of the hand-made Edit catalogue (see :mod:`edit_cases`): Unicode normal forms,
cp1251, allow_multiple, cases that must be refused, already-applied edits, line endings,
blank lines, fragments, deletions, first lines copied without their indentation, big files."""

from __future__ import annotations

from edit_cases import FILES, GO, JS, PY, SQL, YAML, Case, _replace_case, _u


def normal_form_cases() -> list[Case]:
    out = []
    import unicodedata
    for n, word in enumerate(["café", "naïve", "Zürich", "São Paulo", "crème brûlée", "Ångström"]):
        nfc, nfd = unicodedata.normalize("NFC", word), unicodedata.normalize("NFD", word)
        text = f'CITY = "{nfc}"\nN = 1\n'
        out.append(Case("normal form", f"NFD in old_string, NFC in the file #{n}", _u(text), f'CITY = "{nfd}"',
                        f'CITY = "{nfd}!"', _u(f'CITY = "{nfc}!"\nN = 1\n')))
        if n < 3:
            text = f'CITY = "{nfd}"\nN = 1\n'
            out.append(Case("normal form", f"NFC in old_string, NFD in the file #{n}", _u(text), f'CITY = "{nfc}"',
                            f'CITY = "{nfc}?"', _u(f'CITY = "{nfd}?"\nN = 1\n')))
    return out


def cp1251_cases() -> list[Case]:
    out = []
    texts = [
        ("-- Отчёт по продажам\nSELECT сумма FROM продажи;\n", "SELECT сумма FROM продажи;",
         "SELECT SUM(сумма) FROM продажи;"),
        ("# Загрузка данных\nимя_файла = 'данные.csv'\n", "имя_файла = 'данные.csv'", "имя_файла = 'новые.csv'"),
        ("# Привет, мир\nprint('Здравствуйте')\n", "print('Здравствуйте')", "print('Добрый день')"),
        ("описание: Таблица заказов\nвладелец: аналитика\n", "владелец: аналитика", "владелец: инженеры данных"),
        ("// Сумма заказа\nconst итог = цена * количество;\n", "цена * количество", "цена * количество * 1.2"),
    ]
    for n, (text, old, new) in enumerate(texts):
        out.append(Case("cp1251", f"cyrillic in cp1251 #{n}", text.encode("cp1251"), old, new,
                        text.replace(old, new).encode("cp1251")))
    out.append(Case("cp1251", "latin-1 western text stays latin-1", "# café crème\nx = 1\n".encode("latin-1"),
                    "x = 1", "x = 2", "# café crème\nx = 2\n".encode("latin-1")))
    return out


def multiple_cases() -> list[Case]:
    text = "a = load()\nb = a\na = load()\n"
    tol = "def f():\n\tlog('x')\n\ndef g():\n\t\tlog('x')\n"
    spaced = "v  = 1\nw = 0\nv =  1\n"
    return [
        _replace_case("allow_multiple", "every exact occurrence", text, "a = load()", "a = load(cache=True)",
                      "a = load()", "a = load(cache=True)", allow_multiple=True),
        Case("allow_multiple", "several exact places without allow_multiple", _u(text), "a = load()", "a = x()", None),
        Case("allow_multiple", "tolerant places replaced", _u(tol), "    log('x')\n", "    log('y')\n",
             _u(tol.replace("log('x')", "log('y')")), True),
        Case("allow_multiple", "tolerant places without allow_multiple", _u(tol), "    log('x')\n",
             "    log('y')\n", None),
        Case("allow_multiple", "space-run places replaced", _u(spaced), "v = 1", "v = 2",
             _u(spaced.replace("= 1", "= 2").replace("=  1", "=  2")), True),
        _replace_case("allow_multiple", "one occurrence with allow_multiple", PY, "import os", "import os.path",
                      "import os", "import os.path", allow_multiple=True),
        Case("allow_multiple", "sql column renamed everywhere", _u(SQL), "order_date", "day",
             _u(SQL.replace("order_date", "day")), True),
        Case("allow_multiple", "yaml key everywhere", _u(YAML), "name:", "id:", _u(YAML.replace("name:", "id:")), True),
    ]


def refusal_cases() -> list[Case]:
    return [
        Case("must refuse", "not in the file", _u(PY), "def save(self):\n", "def save(self, path):\n", None),
        Case("must refuse", "identical strings", _u(PY), "import os", "import os", None),
        Case("must refuse", "empty old_string on an existing file", _u(PY), "", "x = 1\n", None),
        Case("must refuse", "placeholder elision", _u(PY), "def main():\n",
             "def main():\n    # ... existing code ...\n", None),
        Case("must refuse", "line numbers copied", _u(PY), "     7\tdef __init__(self, path):\n",
             "     7\tdef __init__(self, p):\n", None),
        Case("must refuse", "two equal places", _u("x = 1\ny = 2\nx = 1\n"), "x = 1\n", "x = 3\n", None),
        Case("must refuse", "two places ignoring indentation", _u("if a:\n    go()\nif b:\n        go()\n"),
             "  go()\n", "  stop()\n", None),
        Case("must refuse", "fragment after indentation with an unclear new block", _u(PY), "return self.rows\n",
             "log()\nreturn self.rows\n", None),
        Case("must refuse", "blank-line gap mis-sized next to the change", _u("a = 1\n\nb = 2\n"), "a = 1\nb = 2\n",
             "a = 1\nz = 0\nb = 2\n", None),
        Case("must refuse", "fragment that is not a whole line", _u("val = compute(x)  # cached\n"),
             "compute(x)\n", "compute(y)\n", None),
    ]


def applied_cases() -> list[Case]:
    done = PY.replace("self.rows = []", "self.rows = []  # filled by load()")
    return [
        Case("already applied", "insertion already there", _u(PY), "import os\n", "import os\n\n", None),
        Case("already applied", "old gone, new present", _u(done), "        self.rows = []\n",
             "        self.rows = []  # filled by load()\n", None),
        Case("already applied", "only trailing whitespace would change", _u("x = 1\n"), "x = 1   \n", "x = 1\n", None),
    ]


def crlf_cases() -> list[Case]:
    def crlf(s: str) -> bytes:
        return s.replace("\n", "\r\n").encode()
    return [
        Case("line endings", "CRLF file, LF request", crlf(SQL), "FROM orders\n", "FROM orders o\n",
             crlf(SQL.replace("FROM orders\n", "FROM orders o\n"))),
        Case("line endings", "LF file, CRLF request", _u(JS), "  return sum;\r\n}\r\n", "  return sum * 1;\r\n}\r\n",
             _u(JS.replace("return sum;", "return sum * 1;"))),
        Case("line endings", "CRLF file, insertion", crlf(PY), "import os\n", "import os\nimport re\n",
             crlf(PY.replace("import os\n", "import os\nimport re\n"))),
        Case("line endings", "CRLF file, newline mismatch", crlf(YAML), "version: 2\n", "version: 3",
             crlf(YAML.replace("version: 2", "version: 3"))),
        Case("line endings", "no final newline kept", _u(GO.rstrip("\n")), "\t}\n}", "\t}\n\tfmt.Println()\n}\n",
             _u(GO.rstrip("\n").replace("\t}\n}", "\t}\n\tfmt.Println()\n}"))),
    ]


def blank_line_cases() -> list[Case]:
    return [
        _replace_case("blank lines", "a blank line missing", PY, "import os\n\nclass Loader:\n",
                      "import os\n\nclass DataLoader:\n", "class Loader:", "class DataLoader:"),
        _replace_case("blank lines", "a blank line extra", JS, "  }\n\n  return sum;\n", "  }\n\n  return sum | 0;\n",
                      "return sum;", "return sum | 0;"),
        _replace_case("blank lines", "blank lines missing and an indentation shift", PY,
                      "    self.rows = []\ndef load(self):\n", "    self.rows = []\ndef load(self, strict=False):\n",
                      "def load(self):", "def load(self, strict=False):"),
        _replace_case("blank lines", "two blank lines where the file has one", SQL,
                      "GROUP BY order_date\n\n\nORDER BY order_date;\n", "GROUP BY order_date\n\n\nORDER BY 1;\n",
                      "ORDER BY order_date;", "ORDER BY 1;"),
    ]


def fragment_cases() -> list[Case]:
    """Part of a line, as Aider-style search/replace blocks and str_replace tools allow."""
    pairs = [("py", "os.environ", "os.environ.get"), ("py", "line.strip()", "line.rstrip('\\n')"),
             ("js", "item.price", "item.unitPrice"), ("js", "{ total }", "{ total, sum: total }"),
             ("sql", "SUM(amount)", "SUM(amount_eur)"), ("sql", "status = 'paid'", "status <> 'void'"),
             ("yaml", "name: orders", "name: fct_orders"), ("go", "fmt.Println(i)", "fmt.Print(i)")]
    out = [_replace_case("fragment", f"{k} part of a line #{n}", FILES[k], o, nw, o, nw)
           for n, (k, o, nw) in enumerate(pairs)]
    out.append(_replace_case("fragment", "curly quotes in a fragment", PY, "environ[\u201cDATA\u201d]",
                             "environ[\u201cDATA_DIR\u201d]", 'environ["DATA"]', 'environ["DATA_DIR"]'))
    return out


def deletion_cases() -> list[Case]:
    return [
        _replace_case("deletion", "delete a line", PY, "        self.rows = []\n", "", "        self.rows = []\n", ""),
        _replace_case("deletion", "delete a block", JS, "  for (const item of items) {\n    sum += item.price * item.qty;\n  }\n",
                      "", "  for (const item of items) {\n    sum += item.price * item.qty;\n  }\n", ""),
        _replace_case("deletion", "delete a fragment", SQL, " AS revenue", "", " AS revenue", ""),
        _replace_case("deletion", "delete a shifted block", PY, "with open(self.path) as fh:\n    for line in fh:\n"
                      "        self.rows.append(line.strip())\n", "",
                      "        with open(self.path) as fh:\n            for line in fh:\n"
                      "                self.rows.append(line.strip())\n", ""),
        _replace_case("deletion", "delete a yaml item", YAML, "          - not_null\n", "", "          - not_null\n", ""),
        Case("deletion", "delete a line that occurs twice", _u("pass\nx = 1\npass\n"), "pass\n", "", None),
    ]


def first_line_cases() -> list[Case]:
    """old_string copied from after the first line's indentation (the rest as in the file)."""
    return [
        _replace_case("first line unindented", "python two lines", PY,
                      "with open(self.path) as fh:\n            for line in fh:\n",
                      "with open(self.path, newline='') as fh:\n            for line in fh:\n",
                      "with open(self.path) as fh:", "with open(self.path, newline='') as fh:"),
        _replace_case("first line unindented", "js two lines", JS, "for (const item of items) {\n    sum += item.price * item.qty;\n",
                      "for (const item of items) {\n    sum += item.price;\n", "    sum += item.price * item.qty;\n",
                      "    sum += item.price;\n"),
        _replace_case("first line unindented", "go two lines", GO, "for i := 0; i < 3; i++ {\n\t\tfmt.Println(i)\n",
                      "for i := 0; i < 3; i++ {\n\t\tfmt.Println(-i)\n", "fmt.Println(i)", "fmt.Println(-i)"),
        Case("first line unindented", "first line deleted: where the rest goes is a guess", _u(PY),
             "with open(self.path) as fh:\n            for line in fh:\n", "            for line in fh:\n", None),
    ]


def big_file_cases() -> list[Case]:
    """One-line edits in generated files of 4 and 10 MB (a quadratic diff never finishes these)."""
    out = []
    for mb in (4, 10):
        lines, size, i = [], 0, 0
        while size < mb * 1_000_000:
            line = f"    value_{i} = compute({i}, 'x')\n" + ("\n" if i % 5 == 0 else "") + ("}\n" if i % 7 == 0 else "")
            lines.append(line)
            size += len(line)
            i += 1
        text = "def build():\n" + "".join(lines)
        target = f"    value_{i // 2} = compute({i // 2}, 'x')\n"
        out.append(_replace_case("big file", f"{mb} MB, one line changed", text, target,
                                 target.replace("'x'", "'y'"), target, target.replace("'x'", "'y'")))
    return out
