"""README.md is tested: every example runs and prints what the README says it prints.

How an example is written, where it runs and what is masked is described in
``tests/readme_examples.py`` (and in README's *Development* section). Each example block is one
test, named by its README line and first command (``-k L425``). After a deliberate change of
gdfit's output, ``python tests/readme_examples.py --update`` rewrites the README's outputs.

The rest of this module tests the harness itself: the parser, the masks, the matcher, the
rewriting, the shell and Python runners and the jq stand-in, on small texts of their own.
"""

from __future__ import annotations

import io
import shlex
import shutil
import subprocess
import sys

import pytest
import readme_examples as rx
import readme_jq

BLOCKS = rx.parse(rx.README.read_text(encoding="utf-8"))
EXAMPLES = [b for b in BLOCKS if b.kind != "text" and b.not_run is None]
HINT = ("\n\nIf gdfit's output changed on purpose, rewrite the README's outputs with\n"
        "    python tests/readme_examples.py --update\nand review the diff.")


@pytest.fixture(scope="session")
def example_runs(request: pytest.FixtureRequest) -> dict[int, rx.Run]:
    """The runs of the example blocks this session selected, several at a time."""
    selected = [item.callspec.params["block"] for item in request.session.items
                if getattr(item, "originalname", "") == "test_example"
                and hasattr(item, "callspec")]
    return rx.run_blocks(selected)


@pytest.mark.parametrize("block", EXAMPLES, ids=[b.name for b in EXAMPLES])
def test_example(block: rx.Block, example_runs: dict[int, rx.Run]) -> None:
    run = example_runs.get(block.line) or rx.run_block(block)
    problems = [*block.problems, *run.problems()]
    assert not problems, "\n\n".join(problems) + HINT


def test_the_readme_keeps_the_rules_for_examples() -> None:
    """Every block is an example, text, or says why it is not run; no rule is broken."""
    assert [p for b in BLOCKS for p in b.problems] == []
    assert len(EXAMPLES) >= 40
    kinds = {b.kind for b in EXAMPLES}
    assert kinds == {"console", "commands", "python"}
    assert all(b.not_run for b in BLOCKS if b.not_run is not None)
    assert sum(len(b.commands) for b in EXAMPLES if b.kind != "python") >= 70


# --- parsing ----------------------------------------------------------------------------

SAMPLE = """# title

```console
$ gdfit fit a.csv \\
    --quiet
line one
line two

$ gdfit fit b.csv   # exit 3: the budget runs out
$ echo $?
3
```

- an item

  ```
  $ cat x | gdfit fit -
  out
  ```

```bash
# a comment
gdfit fit c.csv
gdfit fit d.csv  # the tutorial (exit 3: not converged)
```

```
gdfit fit PATH [options]
```

```text
$ gdfit fit shown.csv
```

```
just output
```

<!-- not run: needs a cluster -->
```console
$ dask scheduler &
```

```console
laptop$ gdfit fit s3://x
```

```python
>>> 1 + 1
2
```
"""


def test_parse_classifies_the_blocks() -> None:
    blocks = rx.parse(SAMPLE)
    assert [(b.line, b.kind) for b in blocks] == [
        (3, "console"), (16, "console"), (21, "commands"), (27, "commands"), (31, "text"),
        (35, "text"), (40, "console"), (44, "text"), (48, "python")]
    assert blocks[6].not_run == "needs a cluster"
    assert blocks[7].problems and "not run" in blocks[7].problems[0]
    assert [b.problems for b in blocks[:7]] == [()] * 7
    assert [b.line for b in rx.examples(SAMPLE)] == [3, 16, 21, 27, 48]


def test_parse_reads_commands_outputs_and_exit_codes() -> None:
    console, item, commands = rx.parse(SAMPLE)[:3]
    first, second, echo = console.commands
    assert (first.line, first.text) == (4, "gdfit fit a.csv \\\n    --quiet")
    assert first.expected == ("line one", "line two", "")
    assert first.span == (5, 8)  # 0-based README lines 5..7 hold the output
    assert first.status == 0
    assert second.status is None  # `echo $?` prints it
    assert (echo.text, echo.expected, echo.status) == ("echo $?", ("3",), 0)
    assert item.indent == "  " and item.commands[0].expected == ("out",)
    assert item.commands[0].span == (17, 18)
    assert [(c.text, c.status, c.compared) for c in commands.commands] == [
        ("gdfit fit c.csv", 0, False), ("gdfit fit d.csv  # the tutorial (exit 3: not converged)",
                                        3, False)]


def test_output_before_the_first_command_is_a_problem() -> None:
    (block,) = rx.parse("```console\nstray\n$ echo hi\nhi\n```\n")
    assert block.problems == ("line 2: output before the first '$ ' command",)


def test_an_elided_line_cannot_be_continued() -> None:
    (block,) = rx.parse("```\n$ gdfit fit a.csv\n...\n            continued\n```\n")
    assert block.problems == ("line 4: a wrapped line's continuation right after an elision; "
                              "show the line it continues",)


# --- masking and matching ---------------------------------------------------------------

def test_masks_hide_what_changes_from_run_to_run() -> None:
    lines = ["iterations  4  (5 function, 5 gradient evaluations, 0.158 ms)",
             "read 0.0 MiB in 1.2 s (pyarrow.csv), 822 ms, 3.5µs",
             '{"elapsed_s": 0.0001347519992123125, "w": [2.0]}', '{"elapsed_s":1e-05}',
             "model  m.json  (schema gdfit.model v1, gdfit 0.1.0, 2026-11-27T11:55:22Z)",
             '"gdfit_version": "0.1.0.dev3"']
    assert rx.prepare(lines) == [
        "iterations  4  (5 function, 5 gradient evaluations, <time>)",
        "read 0.0 MiB in <time> (pyarrow.csv), <time>, <time>",
        '{"elapsed_s": <time>, "w": [2.0]}', '{"elapsed_s":<time>}',
        "model  m.json  (schema gdfit.model v1, gdfit <version>, <timestamp>)",
        '"gdfit_version": "<version>"']


def test_masks_leave_numbers_that_are_not_durations() -> None:
    lines = ["--max-iter 5000, 3 rows, x^2 s, 0.5 MiB/s, w = 1.5", "ms: 5ms"]
    assert rx.prepare(lines) == ["--max-iter 5000, 3 rows, x^2 s, 0.5 MiB/s, w = 1.5",
                                 "ms: <time>"]


def test_the_csv_elapsed_column_is_masked_by_its_header() -> None:
    lines = ["a,elapsed_s,b", "1,0.0123,x", '2,0.5,"p, q"', "", "c,d", "1,0.0123"]
    assert rx.prepare(lines) == ["a,elapsed_s,b", "1,<time>,x", "2,<time>,p, q", "", "c,d",
                                 "1,0.0123"]


def test_tables_with_a_masked_cell_are_compared_without_their_padding() -> None:
    readme = ["┃ # ┃    time ┃", "┡━━━╇━━━━━━━━━┩", "│ 1 │ 0.36 ms │", "└───┴─────────┘",
              "  1e5┤ ▞▞ cg    │"]
    actual = ["┃ # ┃     time ┃", "┡━━━╇━━━━━━━━━━┩", "│ 1 │ 0.285 ms │", "└───┴──────────┘",
              "  1e5┤ ▞▞ cg    │"]
    assert rx.matches(rx.prepare(readme), rx.prepare(actual))
    plot = ["  1e5┤ ▞▞ cg    │"]
    assert not rx.matches(rx.prepare(plot), rx.prepare(["  1e5┤ ▞▞ bb    │"]))
    assert not rx.matches(rx.prepare(readme), rx.prepare([*actual[:2], "│ 2 │ 0.285 ms │",
                                                          *actual[3:]]))


def test_numbers_agree_to_their_rounding_and_no_further() -> None:
    # The last digits of a sum depend on the CPU's SIMD width: 1e-14 relative is the same figure.
    assert rx.same_line("r 0.6256304344900888 n 500", "r 0.625630434490081 n 500")
    # Rounding-level figures agree whatever their digits; their size is what the README claims.
    assert rx.same_line("gradient norm 2.06e-15 ≤ 1e-12", "gradient norm 1.12e-15 ≤ 1e-12")
    assert rx.same_line("│ 2 │ 1.58e-13 │", "│ 2 │  1.6e-13 │")
    assert not rx.same_line("gradient norm 2.06e-15", "gradient norm 2.06e-3")
    assert not rx.same_line("w 2.5477374689", "w 2.5477474689")  # a real change, 4e-6
    assert not rx.same_line("iterations 114", "iterations 106")
    assert not rx.same_line("iterations 114", "iterations 114 of 200")
    assert not rx.same_line("x^2 1.5", "x^3 1.5")


def test_a_block_may_allow_its_numbers_a_stated_tolerance() -> None:
    text = "\n".join(["<!-- numbers within 10%: a line search in rounding noise -->", "```",
                      "$ gdfit compare data.csv", "│ wolfe │ 114 │", "```", "",
                      "<!-- numbers within 1: LRE digits -->", "```", "$ gdfit x",
                      "Norris 12.41", "```", "", "```", "$ gdfit y", "n 3", "```"])
    first, second, third = (b.commands[0] for b in rx.parse(text))
    assert first.within == (0.0, 0.1) and second.within == (1.0, 0.0)
    assert third.within == (0.0, 0.0)
    assert rx.matches(["│ wolfe │ 114 │"], ["│ wolfe │ 106 │"], first.within)
    assert not rx.matches(["│ wolfe │ 114 │"], ["│ wolfe │ 90 │"], first.within)
    assert rx.matches(["Norris 12.41"], ["Norris 12.39"], second.within)
    assert not rx.matches(["Norris 12.41"], ["Norris 12.39"], third.within)


def test_a_plot_is_compared_by_its_axes_and_labels_not_its_cells() -> None:
    readme = ["     │ ▞▞ fixed        ▝▀▀▀▀▄▄▄▄▖      │", "1e3┤▐ ▐        ▜▄       │"]
    actual = ["     │ ▞▞ fixed        ▝▀▀▀▀▙▄▄▄▖      │", "1e3┤▐ ▐▖       ▜▄       │"]
    assert rx.matches(readme, actual)
    assert not rx.matches(readme, [actual[0].replace("fixed", "bb   "), actual[1]])
    assert not rx.matches(readme, [actual[0], actual[1].replace("1e3", "1e4")])


def test_a_line_wrapped_elsewhere_still_matches() -> None:
    readme = ["iterations  800  (801 function, 800 gradient evaluations, 110 ms), 50",
              "            epochs", "MSE         0.625696"]
    actual = ["iterations  800  (801 function, 800 gradient evaluations, 1.1 s), 50 epochs",
              "MSE         0.625696"]
    assert rx.matches(rx.prepare(readme), rx.prepare(actual))
    assert not rx.matches(rx.prepare(readme), rx.prepare([actual[0], "MSE         0.6257"]))
    progress = ["     iter  loss", "        0  18.6"]
    assert rx.prepare(progress) == progress


@pytest.mark.parametrize(("expected", "actual", "result"), [
    (["a", "b"], ["a", "b", ""], True),
    (["a", "b"], ["a", "c"], False),
    (["...", "c"], ["a", "b", "c"], True),
    (["a", "..."], ["a"], True),
    (["a", "…", "c", "...", "e"], ["a", "b", "c", "d", "e"], True),
    (["a", "    …", "e"], ["a", "b", "e"], True),
    (["a", "...", "c"], ["a", "b", "c", "d"], False),
    ([], ["x"], False),
])
def test_matches_with_elisions(expected: list[str], actual: list[str], result: bool) -> None:
    assert rx.matches(rx.prepare(expected), rx.prepare(actual)) is result


# --- rewriting --------------------------------------------------------------------------

def test_rewrite_keeps_what_still_matches_and_changes_the_rest() -> None:
    old = ["status  converged", "iterations 4 (1.76 ms)", "distance 3.99e-3", "g 2e-15"]
    new = ["status  converged   ", "iterations 4 (0.2 ms)", "distance 4.5e-3", "g 1e-15", ""]
    # rounding-level figures that agree are kept as written, like the masked timings
    assert rx.rewrite(old, new) == ["status  converged", "iterations 4 (1.76 ms)",
                                    "distance 4.5e-3", "g 2e-15"]
    assert rx.rewrite(old, [*old, ""]) == old


@pytest.mark.parametrize(("old", "new", "result"), [
    # an elision at the start keeps standing for the lines before the ones shown
    (["...", "status a", "iterations 4"], ["note", "table", "status b", "iterations 4", "MSE 1"],
     ["...", "status b", "iterations 4", "MSE 1"]),
    # at the end: the lines shown stay the first ones, including a new first line
    (["explain 1", "explain 2", "..."], ["note", "explain 1", "explain 2", "table", "status"],
     ["note", "explain 1", "explain 2", "..."]),
    # an elision at the end of lines that all changed: as many lines as before
    (["harbor 1", "west 1", "…"], ["harbor 2", "west 2", "south 2", "east 2"],
     ["harbor 2", "west 2", "…"]),
    # one in the middle: both ends follow the output
    (["a", "...", "y 1", "z"], ["a", "b", "c", "y 2", "z", "zz"], ["a", "...", "y 2", "z", "zz"]),
    # no room left for the end: the whole output, without the elision
    (["a", "b", "...", "c", "d"], ["x"], ["x"]),
])
def test_rewrite_keeps_each_elision(old: list[str], new: list[str], result: list[str]) -> None:
    assert rx.rewrite(old, new) == result
    assert rx.matches(rx.prepare(result), rx.prepare(new))


def test_update_rewrites_outputs_only_and_keeps_the_indent() -> None:
    text = ("intro\n\n  ```\n  $ gdfit fit a.csv   # exit 3\n  old 1\n  same\n\n"
            "  $ echo $?\n  3\n  ```\n")
    block = rx.parse(text)[0]
    fit, echo = block.commands
    runs = [rx.Run(block, [rx.Outcome(fit, ["new 1", "same", ""], 3),
                           rx.Outcome(echo, ["3", ""], 0)])]
    new_text, report = rx.update(text, runs)
    assert new_text == text.replace("old 1", "new 1")
    assert len(report) == 1 and "-old 1" in report[0] and "+new 1" in report[0]
    assert rx.update(new_text, [rx.Run(rx.parse(new_text)[0], [])]) == (new_text, [])


# --- running ----------------------------------------------------------------------------

def _run(markdown: str) -> rx.Run:
    (block,) = rx.parse(markdown)
    return rx.run_block(block)


def test_a_block_is_one_clean_shell_session_in_a_copy_of_the_sample_data(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GDFIT_STEP", "norm")
    monkeypatch.setenv("COLUMNS", "33")
    run = _run("```console\n"
               "$ echo \"${GDFIT_STEP:-unset} $NO_COLOR $COLUMNS\"; cat\n"
               "unset 1 100\n"
               "$ printf 'a\\nb' > f.txt; head -3 sample_data/tutorial.csv | wc -l\n"
               "3\n"
               "$ cat f.txt\n"
               "a\n"
               "b\n"
               "$ false | true; echo \"status ${PIPESTATUS[0]}\"\n"
               "status 1\n"
               "$ (exit 4)\n"
               "$ echo $?\n"
               "4\n"
               "```\n")
    assert run.problems() == []
    assert [o.status for o in run.outcomes] == [0, 0, 0, 0, 4, 0]


def test_a_wrong_status_or_output_is_reported_with_its_readme_line() -> None:
    run = _run("```\n$ echo one\ntwo\n$ (exit 3)\n$ (exit 1)   # exit 2\n```\n")
    problems = run.problems()
    assert len(problems) == 3
    assert problems[0].startswith("README line 2: the output of `echo one` differs")
    assert "-two" in problems[0] and "+one" in problems[0]
    assert problems[1].startswith("README line 4: `(exit 3)` exited 3, the README says 0")
    assert problems[2].startswith("README line 5: `(exit 1)   # exit 2` exited 1, the README "
                                  "says 2")


def test_a_command_only_block_checks_the_status_but_not_the_output() -> None:
    assert _run("```bash\necho whatever\n(exit 3)  # exit 3\n```\n").problems() == []
    problems = _run("```bash\necho fine\ngdfit-no-such-command\n```\n").problems()
    assert len(problems) == 1 and "exited 127, the README says 0" in problems[0]
    assert "command not found" in problems[0]


def test_gdfit_and_python_are_this_installation() -> None:
    run = _run("```console\n$ gdfit --version\ngdfit 9.9.9\n"
               "$ python -c 'import sys, gdfit; print(sys.prefix == sys.base_prefix)'\n"
               f"{sys.prefix == sys.base_prefix}\n```\n")
    assert run.problems() == []  # the version is masked


def test_python_blocks_run_in_a_fresh_interpreter_statement_by_statement() -> None:
    run = _run("```python\n>>> import sys, warnings\n>>> 'pytest' in sys.modules\nFalse\n"
               ">>> x = [1, 2]\n>>> x\n[1, 2]\n"
               ">>> print('a'); print('b')\na\nb\n\nprose between statements\n\n"
               ">>> warnings.warn('careful')\nUserWarning: careful\n"
               ">>> 1 / 0\nTraceback (most recent call last):\n  ...\n"
               "ZeroDivisionError: division by zero\n"
               ">>> import pathlib; pathlib.Path('sample_data/tutorial.csv').read_text()[:4]\n"
               "'x,y\\n'\n```\n")
    assert run.problems() == []
    wrong = _run("```python\n>>> 2 + 2\n5\n```\n").problems()
    assert len(wrong) == 1 and wrong[0].startswith("README line 2: the output of `2 + 2`")
    script = _run("```python\nassert 1 + 1 == 3, 'arithmetic'\n```\n").problems()
    assert len(script) == 1 and "AssertionError: arithmetic" in script[0]


def test_blank_output_lines_are_written_blankline_as_in_doctest() -> None:
    run = _run("```python\n>>> print('a\\n\\nb\\n')\na\n<BLANKLINE>\nb\n<BLANKLINE>\n```\n")
    assert run.problems() == []
    missing = _run("```python\n>>> print('a\\n')\na\n```\n").problems()
    assert len(missing) == 1 and "+<BLANKLINE>" in missing[0]


def test_python_blocks_of_a_section_are_cells_of_one_session() -> None:
    text = ("## One\n\n```python\n>>> x = 2\n```\n\n```python\nassert x == 2\ny = x + 1\n```\n\n"
            "```python\n>>> x + y\n5\n```\n\n## Two\n\n```python\n>>> 'x' in dir()\nFalse\n```\n")
    blocks = rx.parse(text)
    assert [len(b.session) for b in blocks] == [0, 1, 2, 0]
    for block in blocks:
        assert rx.run_block(block).problems() == []
    broken = rx.parse(text.replace("y = x + 1", "y = z"))[2]
    problems = rx.run_block(broken).problems()
    assert any("run first (same section), failed" in p and "NameError" in p for p in problems)


# --- the jq stand-in --------------------------------------------------------------------

JSON = '{"w": [2.5, -1.25], "engine": "gram", "n_obs": 3, "stats": {"r2": 0.5}, "s": "é"}'


@pytest.mark.parametrize(("args", "expected"), [
    ([".w"], "[\n  2.5,\n  -1.25\n]"),
    (["-c", ".w"], "[2.5,-1.25]"),
    ([".engine"], '"gram"'),
    (["-r", ".engine"], "gram"),
    (["-c", "{engine, n_obs}"], '{"engine":"gram","n_obs":3}'),
    (["-rc", "{r2: .stats.r2, first: .w[0]}"], '{"r2":0.5,"first":2.5}'),
    ([".missing"], "null"),
    (["-r", ".s"], "é"),
])
def test_the_jq_stand_in_prints_what_jq_prints(args: list[str], expected: str) -> None:
    stand_in = subprocess.run([sys.executable, str(rx.JQ_STAND_IN), *args], input=JSON,
                              capture_output=True, text=True, check=True)
    assert stand_in.stdout == expected + "\n"
    if shutil.which("jq"):
        real = subprocess.run(["jq", *args], input=JSON, capture_output=True, text=True,
                              check=True)
        assert real.stdout == stand_in.stdout


def test_without_jq_on_the_machine_the_examples_get_the_stand_in(
        monkeypatch: pytest.MonkeyPatch) -> None:
    which = shutil.which
    monkeypatch.setattr(rx.shutil, "which",
                        lambda name, **kw: None if name == "jq" else which(name, **kw))
    run = _run("```console\n$ echo '{\"w\": [1.5]}' | jq -c .w; command -v jq\n[1.5]\n"
               "<tmp>/.readme-bin/jq\n```\n")
    assert run.problems() == []


def test_the_jq_stand_in_filters_each_value_and_refuses_what_it_does_not_know(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"a": 1}\n{"a": 2}\n'))
    assert readme_jq.main(["-c", ".a"]) == 0
    assert capsys.readouterr().out == "1\n2\n"
    assert readme_jq.main([".a | length"]) == 2
    assert "unsupported filter" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("[1]"))
    assert readme_jq.main([".a"]) == 5


def test_every_jq_filter_in_the_readme_is_one_the_stand_in_knows() -> None:
    filters = []
    for block in EXAMPLES:
        for command in block.commands:
            for stage in command.text.split("|")[1:]:
                lexer = shlex.shlex(stage, posix=True, punctuation_chars=";&")
                lexer.whitespace_split, lexer.commenters = True, "#"
                words = list(lexer)
                words = words[:words.index(";")] if ";" in words else words
                if words and words[0] == "jq":
                    filters.append(next(w for w in words[1:] if not w.startswith("-")))
    assert filters, "the README has no jq example left: drop this test and the stand-in"
    for text in filters:
        readme_jq.parse_filter(text)  # raises ValueError when it does not know it
