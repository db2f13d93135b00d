import importlib.util
import threading

import pytest

from pairterm import syntax_guard
from pairterm.syntax_guard import LANGUAGES, guard, language_for_path

HAS_JS = importlib.util.find_spec("tree_sitter_javascript") is not None
needs_js = pytest.mark.skipif(not HAS_JS, reason="textual[syntax] grammars not installed")

# -- Python -----------------------------------------------------------------------------------


def test_dangling_dot_after_a_call_is_cut() -> None:
    before = "with path.open() as fh:\n    return fh.read"
    assert guard(before, "().", "", "python") == "()"
    assert guard("x = fh.read", "().strip().", "", "python") == "().strip()"


def test_good_multi_line_suggestion_is_kept_whole() -> None:
    before = "def f(a, b):\n    "
    assert guard(before, "return a + b", "", "python") == "return a + b"
    two_lines = "total = a + b\n    return total"
    assert guard(before, two_lines, "", "python") == two_lines


def test_incomplete_but_valid_suggestion_is_kept() -> None:
    # An open call ending in `,` is where a person goes on typing, not a defect.
    assert guard("def f(a, b):\n    ", "return foo(a,", "", "python") == "return foo(a,"
    # So is a block header waiting for its body, or a dict waiting for its value.
    assert guard("for item in", " items:", "", "python") == " items:"
    assert guard("d = {", "'a': 1, 'b':", "}", "python") == "'a': 1, 'b':"


def test_closer_typed_after_the_cursor_counts() -> None:
    assert guard("foo(", "a, b", ")", "python") == "a, b"
    # ... and a suggestion that closes it a second time loses its own closer.
    assert guard("foo(", "a, b)", ")", "python") == "a, b"
    # A dangling dot is still a defect when the closer follows.
    assert guard("foo(", "a.", ")", "python") == "a"


def test_unmatched_closer_is_cut() -> None:
    assert guard("print(x", "))", "", "python") == ")"


def test_earlier_error_of_the_person_does_not_cost_a_good_suggestion() -> None:
    broken_above = "def broken(:\n    pass\n\n"
    assert guard(broken_above + "x = fh.read", "().strip()", "", "python") == "().strip()"
    assert guard(broken_above + "x = fh.read", "().", "", "python") == "()"
    # The error may even be inside the same function, above the cursor line.
    same_def = "def f(a, b):\n    x = a b\n    return "
    assert guard(same_def, "a + b", "", "python") == "a + b"
    assert guard(same_def, "a +", "", "python") == "a"


def test_dangling_operator_is_cut_but_the_persons_own_is_not_ours() -> None:
    assert guard("x = a", " and", "", "python") == ""
    assert guard("lst = [x for x in items", " if x.", "]", "python") == " if x"
    # The person typed the `+`; a suggestion that only adds a comment does not make it worse.
    assert guard("x = (a +", "  # wrap", "", "python") == "  # wrap"


def test_broken_multi_line_suggestion_keeps_the_lines_before_the_error() -> None:
    before = "def tail(self, fh):\n    data = fh.read"
    suggestion = "()\n    return data.\n\ndef other(self):\n    pass"
    assert guard(before, suggestion, "", "python") == "()\n    return data"
    assert guard(before, "() foo bar baz", "", "python") == "()"


def test_cursor_deep_in_a_long_class_is_judged_from_its_own_method() -> None:
    # No line at column 0 within the window: the region starts at the method, dedented.
    methods = "".join(f"    def m{i}(self, x):\n        return x + {i}\n\n" for i in range(60))
    before = "class Big:\n" + methods + "    def last(self, fh):\n        data = fh.read"
    assert guard(before, "().", "", "python") == "()"
    rest = "()\n        return data\n\n    def other(self):\n        return 1"
    assert guard(before, rest, "", "python") == rest


def test_else_completed_from_a_typed_prefix_is_kept() -> None:
    before = "if x:\n    y = 1\nel"
    assert guard(before, "se:\n    y = 2", "", "python") == "se:\n    y = 2"


def test_prose_in_strings_and_comments_is_not_code() -> None:
    assert guard('def f():\n    """Return the', " sum of a and b.", "", "python") == (
        " sum of a and b."
    )
    assert guard("print('Done", ".", "", "python") == "."
    assert guard("# compute the", " total.", "", "python") == " total."


def test_tabs_and_crlf() -> None:
    assert guard("def f():\n\tx = 1\n\treturn fh.read", "().", "", "python") == "()"
    assert guard("def f():\r\n    return fh.read", "().", "", "python") == "()"


# -- other languages ---------------------------------------------------------------------------


@needs_js
def test_javascript_dangling_dot_is_cut() -> None:
    before = "const text = fs.readFileSync(p)"
    assert guard(before, ".toString().", "", "javascript") == ".toString()"


@needs_js
def test_javascript_good_and_incomplete_suggestions_are_kept() -> None:
    body = "function f(a, b) {\n  "
    assert guard(body, "return a + b;", "", "javascript") == "return a + b;"
    block = "if (a) {\n    return b;"
    assert guard(body, block, "", "javascript") == block
    assert guard(body, "for (const x of", "", "javascript") == "for (const x of"
    assert guard("foo(", "a, b", ")", "javascript") == "a, b"


@needs_js
def test_javascript_extra_closer_and_run_together_words_are_cut() -> None:
    assert guard("print(x", "))", "", "javascript") == ")"
    assert guard("foo(", "a b, c", ")", "javascript") == "a"
    body = "function f() {\n  "
    assert guard(body, "const x = a b;\n  return x;", "", "javascript") == "const x = a"
    # An error on the very last token reads as "not finished yet" (like `for (const x of`),
    # so `a b c` passes: models do not write that, and cutting every unfinished end would.


@needs_js
def test_a_parse_over_budget_leaves_the_suggestion_unjudged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    big = "function f() {\n" + "  x = foo(a, b) + bar(c);\n" * 60
    monkeypatch.setattr(syntax_guard, "PARSE_BUDGET_S", -1.0)
    assert guard(big + "  y = a", ".b().", "", "javascript") == ".b()."
    # The parse cut short must not be resumed by the next call in this thread.
    monkeypatch.setattr(syntax_guard, "PARSE_BUDGET_S", 1.0)
    assert guard("const t = a", ".b().", "", "javascript") == ".b()"


def test_other_grammars_when_installed() -> None:
    for module, before, suggestion, language, expected in [
        ("tree_sitter_rust", "fn main() {\n    let v = data.iter()", ".map(|x| x * 2).", "rust",
         ".map(|x| x * 2)"),
        ("tree_sitter_rust", "fn main() {\n    let v = ", "foo(a, b", "rust", "foo(a, b"),
        ("tree_sitter_go", "func main() {\n\tx := a", ".B().", "go", ".B()"),
        ("tree_sitter_json", '{\n  "a": 1,\n  ', '"b": 2,', "json", '"b": 2,'),
        ("tree_sitter_json", '{\n  "a": 1,\n  ', '"b": 2}}', "json", '"b": 2}'),
    ]:
        if importlib.util.find_spec(module) is not None:
            assert guard(before, suggestion, "", language) == expected, (language, suggestion)


def test_unknown_language_or_no_grammar_leaves_the_suggestion_alone() -> None:
    assert guard("x = fh.read", "().", "", None) == "()."
    assert guard("x = fh.read", "().", "", "cobol") == "()."
    assert guard("x = fh.read", "().", "", "typescript") == "()."  # no grammar installed
    assert guard("# Title\n", "Some text.", "", "markdown") == "Some text."
    assert guard("x = ", "", "", "python") == ""


@needs_js
def test_parsers_work_from_several_threads() -> None:
    results: list[str] = []

    def work() -> None:
        results.extend(guard("const t = a", ".b().", "", "javascript") for _ in range(20))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [".b()"] * 80


def test_language_for_path() -> None:
    assert language_for_path("src/app.py") == "python"
    assert language_for_path("lib/Main.RS") == "rust"
    assert language_for_path("web/app.ts") == "typescript"  # not judged as JavaScript
    assert language_for_path("Makefile") is None
    assert language_for_path(None) is None
    assert LANGUAGES[".ts"] == "javascript"  # the highlighter keeps its mapping
