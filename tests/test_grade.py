"""`course.py grade` on generated submissions: perfect, blank, wrong and hostile."""
import csv
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import grade  # noqa: E402


def _exercise_cells(path):
    """The lesson's exercise and check cells only (fast to run), after one import cell."""
    cells = nbformat.read(path, as_version=4).cells
    keep = [nbformat.v4.new_code_cell("import numpy as np")]
    for cell, nxt in zip(cells, cells[1:]):
        if cell.cell_type == "code" and cell.source.startswith("# Exercise"):
            keep += [nbformat.v4.new_code_cell(cell.source), nbformat.v4.new_code_cell(nxt.source)]
    return keep


def _write(folder, student, cells):
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    (folder / student).mkdir(parents=True)
    nbformat.write(nb, folder / student / "06_gradual_pruning.ipynb")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = tmp_path_factory.mktemp("submissions")
    perfect = _exercise_cells(ROOT / "notebooks" / "06_gradual_pruning.ipynb")
    blank = _exercise_cells(ROOT / "notebooks" / "student" / "06_gradual_pruning.ipynb")
    wrong = [nbformat.v4.new_code_cell(c.source) for c in perfect]
    wrong[1].source = wrong[1].source.replace("(1.0 - p) ** power", "p ** power")        # 6.1 wrong
    hostile = [nbformat.v4.new_code_cell(c.source) for c in perfect if "import check_" not in c.source]
    hostile[3].source = "del update_steps_ex"                                              # 6.2 gone
    hostile += [nbformat.v4.new_code_cell('print("✓ Exercise 6.3 passed all 5 cases.")\n'
                                          "def matching_width_ex(*a):\n    return 0"),  # forged and wrong
                nbformat.v4.new_code_cell("raise RuntimeError('boom')"),
                nbformat.v4.new_code_cell("while True:\n    pass")]
    for student, cells in (("perfect", perfect), ("blank", blank), ("wrong", wrong), ("hostile", hostile)):
        _write(subs, student, cells)
    out = subprocess.run([sys.executable, str(ROOT / "course.py"), "grade", str(subs), "--timeout", "15"],
                         capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = list(csv.DictReader(open(subs / "grades.csv")))
    return {(r["student"], r["exercise"]): r["verdict"] for r in rows}, out.stdout


def test_perfect_passes_everything(graded):
    v, _ = graded
    assert [v[("perfect", e)] for e in ("6.1", "6.2", "6.3", "6.4")] == ["passed"] * 4


def test_blank_is_not_done(graded):
    v, _ = graded
    assert [v[("blank", e)] for e in ("6.1", "6.2", "6.3", "6.4")] == ["not done"] * 4


def test_wrong_answer_fails_only_there(graded):
    v, _ = graded
    assert v[("wrong", "6.1")] == "failed" and v[("wrong", "6.2")] == "passed"


def test_hostile_notebook_is_survived_and_not_believed(graded):
    v, out = graded
    assert v[("hostile", "6.2")] == "missing"          # the function was deleted
    assert v[("hostile", "6.3")] in ("failed", "error")  # its printed "✓" counts for nothing
    assert "perfect" in out and "4/4" in out
