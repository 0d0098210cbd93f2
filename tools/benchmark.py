"""Print seconds per notebook and the total (run on a 2-core CPU; the budget is 60 s per notebook, 5 minutes in all).

    python3 course.py bench            # the source notebooks
    python3 course.py bench --student  # the student copies too
    python3 course.py bench --kernels  # only course_lib's numpy kernels vs their torch twins (tools/kernel_bench.py)
    python3 course.py bench --no-kernels  # only the notebooks
Notebooks are executed in memory; nothing is written. After the notebooks, the kernels are timed.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtools import NOTEBOOKS, execute, source_notebooks  # noqa: E402

BUDGET = 60.0


def notebooks(student=False):
    """Execute each notebook in memory; print its seconds and the total."""
    paths = source_notebooks()
    if student:
        paths += sorted((NOTEBOOKS / "student").glob("[0-9][0-9]_*.ipynb"))
    total = 0.0
    print(f"{'notebook':48s} {'seconds':>8s}")
    for p in paths:
        _, sec = execute(p)
        total += sec
        flag = "  OVER BUDGET" if sec > BUDGET else ""
        print(f"{str(p.relative_to(NOTEBOOKS)):48s} {sec:8.1f}{flag}", flush=True)
    print(f"{'total':48s} {total:8.1f}")


def parse(argv):
    p = argparse.ArgumentParser(prog="course.py bench", description=__doc__.split("\n")[0], allow_abbrev=False)
    p.add_argument("--student", action="store_true", help="time the student copies too")
    only = p.add_mutually_exclusive_group()
    only.add_argument("--kernels", action="store_true", help="only the numpy kernels vs their torch twins")
    only.add_argument("--no-kernels", action="store_true", help="only the notebooks")
    return p.parse_args(argv)


if __name__ == "__main__":
    args = parse(sys.argv[1:])
    if not args.kernels:
        notebooks(args.student)
    if not args.no_kernels:
        import kernel_bench
        kernel_bench.run()
