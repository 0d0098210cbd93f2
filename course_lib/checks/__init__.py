"""Exercise checkers: run a student's function on hidden cases and print a plain-words verdict.

Each lesson has a module `course_lib.checks.lessonNN` with one `check_<exercise>` function per
exercise. The reference answer always comes from the course_lib core (never a second copy here).
A failing verdict names the likely mistake: known wrong answers of the lesson (`Mistake`) and the
common ones every checker recognises (`common_mistake`). How to write one: docs/checkers.md.
"""
from ._core import Case, Mistake, Verdict, allclose, common_mistake, exact, items, run_checks

__all__ = ["Case", "Mistake", "Verdict", "allclose", "common_mistake", "exact", "items", "run_checks"]
