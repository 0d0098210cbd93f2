"""Re-execute source notebooks in place, so their committed outputs are fresh (nbval compares them).

    python3 course.py execute                      # all of notebooks/NN_*.ipynb
    python3 course.py execute notebooks/02_*.ipynb # just these
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtools import error_outputs, execute, source_notebooks  # noqa: E402

if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="course.py execute", description=__doc__.split("\n")[0], allow_abbrev=False)
    p.add_argument("paths", nargs="*", type=Path, metavar="NOTEBOOK", help="default: all of notebooks/NN_*.ipynb")
    paths = p.parse_args().paths or source_notebooks()
    failed = False
    for p in paths:
        nb, sec = execute(p, write=True)
        errs = error_outputs(nb)
        failed |= bool(errs)
        print(f"{p.name:40s} {sec:6.1f} s" + (f"  {len(errs)} ERROR output(s)!" if errs else ""))
    sys.exit(1 if failed else 0)
