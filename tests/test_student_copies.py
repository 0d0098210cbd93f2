"""Student copies: fresh, free of solutions, every exercise stubbed and checked, and they run end to end."""
import json
import re
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from make_student_copies import BEGIN, END, EXERCISE, STUDENT, is_speaker_notes, strip_solutions, write_all
from nbtools import error_outputs, source_notebooks

SOURCES = source_notebooks()


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _solution_lines(src):
    inside, lines = False, []
    for line in src.split("\n"):
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif inside and line.strip() and not line.strip().startswith("#"):
            lines.append(line.strip())
    return lines


def test_strip_solutions_keeps_indentation_and_numbers_the_stub():
    src = "# Exercise 3.2\ndef f(x):\n    \"\"\"doc\"\"\"\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"
    out = strip_solutions(src)
    assert '    raise NotImplementedError("Exercise 3.2")' in out and "return x + 1" not in out
    assert '"""doc"""' in out


@pytest.mark.parametrize("bad, why", [
    ("def f():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION", "needs a '# Exercise N.M'"),
    ("# Exercise 1.1\n### BEGIN SOLUTION\npass", "without ### END"),
    ("# Exercise 1.1\n### END SOLUTION", "without ### BEGIN"),
])
def test_strip_solutions_rejects_malformed_blocks(bad, why):
    with pytest.raises(ValueError, match=why):
        strip_solutions(bad)


def test_committed_student_copies_are_fresh(tmp_path):
    fresh = write_all(tmp_path)
    committed = sorted(STUDENT.glob("[0-9][0-9]_*.ipynb"))
    assert [p.name for p in fresh] == [p.name for p in committed], "run: python3 course.py student"
    for new in fresh:
        assert new.read_bytes() == (STUDENT / new.name).read_bytes(), \
            f"{new.name} is stale: run `python3 course.py student` and commit notebooks/student/"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_exercises_are_numbered_checked_and_pass_in_the_source(path):
    nb = nbformat.read(path, as_version=4)
    code = _code(nb)
    lesson = int(path.name[:2])
    ex_cells = [i for i, c in enumerate(code) if BEGIN in c.source]
    assert len(ex_cells) >= 3, f"{path.name} has {len(ex_cells)} exercises, the course wants >= 3"
    for i in ex_cells:
        number = EXERCISE.search(code[i].source).group(1)
        assert number.startswith(f"{lesson}."), f"{path.name}: exercise {number} is numbered for another lesson"
        check = code[i + 1]
        assert "check_" in check.source, f"{path.name}: exercise {number} has no check cell right after it"
        shown = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in check.outputs)
        assert f"✓ Exercise {number} passed" in shown, f"{path.name}: the reference solution of {number} " \
                                                       "does not pass its own checker in the stored output"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_student_copy_has_no_solution_text(path):
    src = nbformat.read(path, as_version=4)
    stu = nbformat.read(STUDENT / path.name, as_version=4)
    assert "BEGIN SOLUTION" not in (STUDENT / path.name).read_text()
    for s_cell, t_cell in zip(_code(src), _code(stu)):
        for line in _solution_lines(s_cell.source):
            assert line not in t_cell.source, f"{path.name}: solution line leaked: {line!r}"
        assert not t_cell.outputs and t_cell.execution_count is None


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_student_copy_has_no_speaker_notes(path):
    src = nbformat.read(path, as_version=4)
    stu = nbformat.read(STUDENT / path.name, as_version=4)
    notes = [c for c in src.cells if is_speaker_notes(c)]
    assert notes, f"{path.name}: the source has no speaker notes to leave out?"
    assert not any(is_speaker_notes(c) for c in stu.cells)
    assert "Speaker notes" not in (STUDENT / path.name).read_text()
    assert len(stu.cells) == len(src.cells) - len(notes)   # nothing else is dropped


def test_speaker_notes_are_recognised_by_type_and_by_text():
    md = nbformat.v4.new_markdown_cell
    assert is_speaker_notes(md("anything", metadata={"slideshow": {"slide_type": "notes"}}))
    assert is_speaker_notes(md("*Speaker notes.* Exercise 8.2: shift right with rounding ..."))
    assert not is_speaker_notes(md("## Exercises", metadata={"slideshow": {"slide_type": "slide"}}))
    assert not is_speaker_notes(nbformat.v4.new_code_cell("print('Speaker notes')"))


WATCH = "import sys\nsys.path.insert(0, {tools!r})\nimport figure_labels\nfigure_labels.watch(get_ipython())"
REPORT = "import json\nprint('FIGURE-LABELS:' + json.dumps(figure_labels.FOUND))"
# Remove an entry once merged (strict=False: the merge passes either way). Lesson 11: the capstone chart
# (11 overlaps measured, e.g. 'dense float32' on 'dense float32, PyTorch'), redrawn on another branch of
# issue 21. Lesson 10's student-size sweep (a log-axis minor tick '3x10^1' over the tick '32') is fixed.
LABELS_PENDING = {}  # notebook name -> reason, for a figure whose fix is pending


@pytest.fixture(scope="module")
def ran():
    """Run each student copy once, top to bottom, with every displayed figure checked for overlapping labels."""
    cache = {}

    def run(path):
        if path.name not in cache:
            nb = nbformat.read(STUDENT / path.name, as_version=4)
            tools = str(Path(__file__).resolve().parent.parent / "tools")
            nb.cells.insert(0, nbformat.v4.new_code_cell(WATCH.format(tools=tools)))
            nb.cells.append(nbformat.v4.new_code_cell(REPORT))
            NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=False, allow_errors=True,
                           resources={"metadata": {"path": str(STUDENT)}}).execute(stderr=subprocess.DEVNULL)
            executed = nb
            out = "".join(o.get("text", "") for o in executed.cells[-1].outputs)
            labels = json.loads(out.split("FIGURE-LABELS:", 1)[1]) if "FIGURE-LABELS:" in out else None
            executed.cells = executed.cells[1:-1]
            cache[path.name] = executed, labels
        return cache[path.name]
    return run


@pytest.mark.slow
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_student_copy_runs_top_to_bottom_and_says_not_done_yet(path, ran):
    nb, _ = ran(path)
    assert not error_outputs(nb), f"{path.name}: the student copy crashed"
    verdicts = [o.get("data", {}).get("text/plain", "") + o.get("text", "")
                for c in _code(nb) if "check_" in c.source for o in c.outputs]
    n_ex = sum(BEGIN in c.source for c in _code(nbformat.read(path, as_version=4)))
    assert sum("not done yet" in v for v in verdicts) == n_ex


@pytest.mark.slow
@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.xfail(
    p.name in LABELS_PENDING, reason=LABELS_PENDING.get(p.name, "no fix pending"), strict=False))
    for p in SOURCES], ids=lambda p: p.name)
def test_no_figure_has_overlapping_labels(path, ran):
    """Every figure the lesson shows (the same code as the source's), checked as matplotlib draws it."""
    _, labels = ran(path)
    assert labels is not None, f"{path.name}: the figure check did not report"
    shown = [f"code cell {f['cell']} ({f['figure']!r}): {f['texts'][0]!r} overlaps {f['texts'][1]!r}" for f in labels]
    assert shown == [], f"{path.name}: {len(shown)} overlapping label(s): " + "; ".join(shown[:6])


def test_the_overlap_check_finds_overlaps_and_only_those():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from figure_labels import overlaps

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1], label="a line")
    ax.set(xlabel="x", ylabel="y", title="clean")
    ax.legend()
    assert overlaps(fig) == []
    ax.text(0.5, 0.5, "one label", transform=ax.transAxes)
    ax.text(0.52, 0.5, "another label", transform=ax.transAxes)
    assert [(a, b) for a, b, _, _ in overlaps(fig)] == [("one label", "another label")]
    ax.set_xticks(range(40))            # 40 tick labels on a 4-inch axis: they collide
    ax.set_xticklabels([f"tick {i}" for i in range(40)])
    assert len(overlaps(fig)) > 10
    plt.close(fig)
