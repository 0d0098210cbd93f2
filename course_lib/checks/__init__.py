"""Exercise checkers: run a student's function on hidden cases and print a plain-words verdict.

Each lesson has a module `course_lib.checks.lessonNN` with one `check_<exercise>` function per
exercise. The reference answer always comes from the course_lib core (never a second copy here).
"""
from ._core import Case, Verdict, allclose, exact, run_checks

__all__ = ["Case", "Verdict", "allclose", "exact", "run_checks"]
