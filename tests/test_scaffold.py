"""`course.py new-lesson` scaffolds a lesson that already follows the course's rules, and never overwrites one.

It runs in a temporary copy of the repository; the copy's own tests then check the new lesson. What
the author still has to do is exactly what no scaffold can: execute the notebook (its outputs are
committed), write at least 3 exercises, and quote real results in the ledger row.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AUTHOR_STILL_HAS_TO = [  # the tests a fresh scaffold fails by design, and why
    "test_committed_executed_in_order_without_errors",  # execute it: python3 course.py execute
    "test_exercises_are_numbered_checked_and_pass_in_the_source",  # >= 3 exercises, outputs stored
]


def _copy(dest):
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "student", "_assets", "*.html", "*.pdf")
    for d in ("course_lib", "tests", "tools", "slides/template"):
        shutil.copytree(ROOT / d, dest / d, ignore=ignore)
    (dest / "notebooks").mkdir()
    for p in ROOT.glob("notebooks/[0-9][0-9]_*.ipynb"):
        shutil.copy(p, dest / "notebooks" / p.name)
    for f in ("course.py", "conftest.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / f, dest / f)


@pytest.mark.slow
def test_new_lesson_follows_the_rules_and_refuses_to_overwrite(tmp_path):
    _copy(tmp_path)
    n = len(list(ROOT.glob("notebooks/[0-9][0-9]_*.ipynb")))
    new = [sys.executable, "course.py", "new-lesson", str(n), "scaffolded_lesson", "A scaffolded lesson"]
    out = subprocess.run(new, cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    nb = tmp_path / "notebooks" / f"{n:02d}_scaffolded_lesson.ipynb"
    for path in (nb, tmp_path / f"course_lib/checks/lesson{n:02d}.py", tmp_path / f"tests/test_checks_lesson{n:02d}.py"):
        assert path.exists() and path.name in out.stdout
    assert f"| {n:02d} | TODO" in (tmp_path / "README.md").read_text()  # the ledger row stub

    again = subprocess.run(new, cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode != 0 and "exists already" in again.stderr and "nothing written" in again.stderr

    env = dict(os.environ, PYTHONPATH=str(tmp_path), TF_USE_LEGACY_KERAS="1", PYTHONHASHSEED="0")
    assert subprocess.run([sys.executable, "tools/make_student_copies.py"], cwd=tmp_path, env=env,
                          capture_output=True).returncode == 0
    deselect = " and ".join(f"not {t}" for t in AUTHOR_STILL_HAS_TO)
    tests = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-q",
                            "-m", "not slow", "-k", f"({nb.name} or lesson{n:02d} or numbered) and {deselect}",
                            "tests/test_notebook_hygiene.py", "tests/test_slides.py", "tests/test_student_copies.py",
                            f"tests/test_checks_lesson{n:02d}.py"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert int(re.search(r"(\d+) passed", tests.stdout).group(1)) >= 10 and "failed" not in tests.stdout
