"""Student copies: fresh, free of solutions, every exercise stubbed and checked, and they run end to end.

Running a copy end to end happens inside its lesson's nbval run (tools/nbval_student.py): each stub and its
check, and every figure's labels, in the same kernel as the source; here, the static and unit checks.
"""
import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import student_copy_run
from make_student_copies import BEGIN, END, EXERCISE, STUDENT, is_speaker_notes, strip_solutions, write_all
from nbtools import source_notebooks

ROOT = Path(__file__).resolve().parent.parent

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


def _bound(src):
    """Top-level names a cell binds (functions, classes, assignments, imports)."""
    names = set()
    for node in ast.parse(src).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _read(src):
    return {n.id for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _uses_of_exercises(cells):
    """[(exercise cell, later cell, names)]: a later cell of the student copy reading what an exercise binds."""
    student = [strip_solutions(c) for c in cells]
    found = []
    for k, src in enumerate(cells):
        if BEGIN in src:
            bound = _bound(src)
            found += [(k, j, sorted(_read(student[j]) & bound)) for j in range(k + 2, len(cells))
                      if _read(student[j]) & bound]  # k + 1 is the exercise's own check
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_later_cell_of_the_student_copy_needs_an_exercise_answer(path):
    """A student copy runs top to bottom with its stubs: no later cell may read what an exercise defines.

    The lesson's nbval run executes each stub and its check (tools/nbval_student.py); this is what a
    separate top-to-bottom run of the copy showed besides: later cells never call a stub.
    """
    cells = [c.source for c in _code(nbformat.read(path, as_version=4))]
    assert _uses_of_exercises(cells) == [], f"{path.name}: (exercise cell, later cell, names) of a stub's use"


def test_the_use_check_finds_a_later_use_of_an_exercise_and_only_that():
    ex = "# Exercise 1.1\ndef f_ex(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"
    assert _uses_of_exercises([ex, "check_f(f_ex)", "print(1)"]) == []
    assert _uses_of_exercises([ex, "check_f(f_ex)", "y = f_ex(2)"]) == [(0, 2, ["f_ex"])]
    later = "# Exercise 1.2\ndef g_ex(x):\n    ### BEGIN SOLUTION\n    return f_ex(x)\n    ### END SOLUTION\n"
    assert _uses_of_exercises([ex, "check_f(f_ex)", later, "check_g(g_ex)"]) == []  # only inside a solution


def test_every_lesson_is_collected_with_its_student_copy_checks():
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist", "notebooks"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"})  # -v would change -q's lines
    out = done.stdout
    assert done.returncode == 0, f"collection failed:\n{out[-3000:]}\n{done.stderr[-3000:]}"
    for path in SOURCES:
        items = [line.split("::", 1)[1] for line in out.splitlines() if line.startswith(f"notebooks/{path.name}::")]
        exercises = [EXERCISE.search(c.source).group(1) for c in _code(nbformat.read(path, as_version=4)) if BEGIN in c.source]
        assert items[0] == "Student copy: start" and items[-1] == "Student copy: figure labels", path.name
        assert [i for i in items if "Exercise" in i] == [f"Student copy: Exercise {n}" for n in exercises], path.name
        assert sum(i.startswith("Cell ") for i in items) == len(_code(nbformat.read(path, as_version=4)))


class _Shell:
    def __init__(self, **ns):
        self.user_ns = ns


CHECK = "from course_lib.checks.lesson07 import check_affine_qparams\ncheck_affine_qparams(affine_qparams_ex)"
STUB = "def affine_qparams_ex(x_min, x_max, bits):\n    raise NotImplementedError('Exercise 7.1')\n"


def test_a_stub_and_its_check_run_in_a_copy_of_the_namespace():
    shell = _Shell(affine_qparams_ex="the source's answer")
    student_copy_run.exercise(shell, "Exercise 7.1", STUB, CHECK)
    assert shell.user_ns == {"affine_qparams_ex": "the source's answer"}  # the source's state is untouched


@pytest.mark.parametrize("stub, says", [
    ("def affine_qparams_ex(x_min, x_max, bits):\n    return 1.0, 0", "should say 'not done yet'"),  # an answer
    ("def affine_qparams_ex(x_min, x_max, bits)\n    pass", "crashed: SyntaxError"),
    ("affine_qparams_ex = undefined_name", "crashed: NameError"),
])
def test_a_student_copy_that_is_not_a_stub_or_crashes_fails(stub, says):
    with pytest.raises(AssertionError, match=re.escape(says)):
        student_copy_run.exercise(_Shell(), "Exercise 7.1", stub, CHECK)


def test_the_figure_check_fails_on_overlapping_labels(monkeypatch):
    student_copy_run.figures()
    monkeypatch.setattr(student_copy_run.figure_labels, "FOUND", [{"cell": 3, "figure": "f", "texts": ["a", "b"]}])
    with pytest.raises(AssertionError, match="1 overlapping label.*Cell 3 \\('f'\\): 'a' overlaps 'b'"):
        student_copy_run.figures()


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
