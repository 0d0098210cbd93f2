"""Grade submitted student notebooks: run each in a fresh kernel, collect every exercise's verdict.

    python3 course.py grade SUBMISSIONS_DIR [--timeout SECONDS]

SUBMISSIONS_DIR holds one folder per student (or notebooks named STUDENT__NN_lesson.ipynb). Every
notebook runs in its own process and kernel with a time limit; a crash, an endless loop or a deleted
checker import costs that notebook its verdicts, never the whole run. After the student's cells, the
grader itself calls each exercise's checker (the checker modules freshly re-imported), so a verdict
line printed by the student counts for nothing. Writes SUBMISSIONS_DIR/grades.csv (student, lesson,
exercise, verdict, detail) and prints a summary table: passed / failed / not done / missing / error.
"""
import csv
import json
import re
import secrets
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtools import NOTEBOOKS  # noqa: E402

CHECK_CALL = re.compile(r"^(check_\w+)\((\w+)(.*)\)\s*$", re.M)
EXERCISE = re.compile(r"^# Exercise (\d+\.\d+)", re.M)


def exercises(lesson):
    """Return [(exercise, checker module, check call)] of a lesson, read from its source notebook."""
    import nbformat

    path = next(NOTEBOOKS.glob(f"{lesson}_*.ipynb"))
    cells = nbformat.read(path, as_version=4).cells
    out = []
    for cell, nxt in zip(cells, cells[1:]):
        m = EXERCISE.match(cell.source) if cell.cell_type == "code" else None
        call = CHECK_CALL.search(nxt.source) if m and nxt.cell_type == "code" else None
        module = re.search(r"from (course_lib\.checks\.\w+) import", nxt.source) if call else None
        if call and module:
            out.append((m.group(1), module.group(1), call.group(0).strip()))
    return out


def grader_cell(items, nonce):
    """Return the code the grader appends: fresh checker modules, one verdict per exercise, as JSON."""
    lines = ["import importlib, json, sys", "_verdicts = {}"]
    for ex, module, call in items:
        lines += [f"try:",
                  f"    import course_lib.checks._core, {module}",
                  f"    importlib.reload(course_lib.checks._core); _m = importlib.reload({module})",
                  f"    _v = getattr(_m, {call.split('(')[0]!r})({call.split('(', 1)[1]}",
                  f"    _verdicts[{ex!r}] = ['passed' if _v.passed else ('not done' if 'not done yet' in repr(_v) "
                  f"else 'failed'), repr(_v).splitlines()[0]]",
                  f"except NameError as e:",
                  f"    _verdicts[{ex!r}] = ['missing', str(e)]",
                  f"except BaseException as e:",
                  f"    _verdicts[{ex!r}] = ['error', type(e).__name__ + ': ' + str(e)]"]
    lines.append(f"sys.__stdout__.write({nonce!r} + json.dumps(_verdicts) + '\\n'); sys.__stdout__.flush()")
    lines.append(f"print({nonce!r} + json.dumps(_verdicts))")
    return "\n".join(lines)


def run_one(path, timeout):
    """Execute one submission with the grader cell appended; return {exercise: [verdict, detail]}."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    lesson = Path(path).name.split("__")[-1][:2]
    items = exercises(lesson)
    nonce = "GRADE-" + secrets.token_hex(8) + ":"
    nb.cells.append(nbformat.v4.new_code_cell(grader_cell(items, nonce)))
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True, resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        client.execute()
    except Exception as e:  # the kernel died: every exercise is an error
        return {ex: ["error", f"the notebook could not run: {type(e).__name__}"] for ex, _, _ in items}
    for out in nb.cells[-1].get("outputs", []):
        for line in out.get("text", "").splitlines():
            if line.startswith(nonce):
                return json.loads(line[len(nonce):])
    return {ex: ["error", "the grader's cell did not finish (time limit or crash)"] for ex, _, _ in items}


def submissions(root):
    """Yield (student, lesson, path) for every submitted notebook below root."""
    for p in sorted(Path(root).rglob("*.ipynb")):
        if ".ipynb_checkpoints" in p.parts:
            continue
        student = p.parent.name if p.parent != Path(root) else p.name.split("__")[0]
        lesson = p.name.split("__")[-1][:2]
        if lesson.isdigit():
            yield student, lesson, p


def grade(root, timeout=60, total=600):
    """Grade every submission below root; write grades.csv; return the rows."""
    rows = []
    for student, lesson, path in submissions(root):
        cmd = [sys.executable, __file__, "--one", str(path), "--timeout", str(timeout)]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=total)
            verdicts = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 and r.stdout.strip() else None
        except (subprocess.TimeoutExpired, ValueError, IndexError):
            verdicts = None
        if verdicts is None:
            verdicts = {ex: ["error", "the notebook exceeded its time limit or crashed the grader"]
                        for ex, _, _ in exercises(lesson)}
        rows += [(student, lesson, ex, v, d) for ex, (v, d) in sorted(verdicts.items())]
    with open(Path(root) / "grades.csv", "w", newline="") as f:
        csv.writer(f).writerows([("student", "lesson", "exercise", "verdict", "detail"), *rows])
    return rows


def summary(rows):
    """Return a readable table: one line per student, one column per exercise, and a count."""
    exs = sorted({r[2] for r in rows}, key=lambda e: tuple(map(int, e.split("."))))
    mark = {"passed": "✓", "failed": "✗", "not done": "…", "missing": "?", "error": "!"}
    by = {}
    for student, _, ex, verdict, _ in rows:
        by.setdefault(student, {})[ex] = verdict
    lines = [f"{'student':20s} " + " ".join(f"{e:>5s}" for e in exs) + "  passed"]
    for student, v in sorted(by.items()):
        lines.append(f"{student:20s} " + " ".join(f"{mark[v[e]] if e in v else '-':>5s}" for e in exs)
                     + f"  {sum(x == 'passed' for x in v.values())}/{len(exs)}")
    return "\n".join(lines + ["(✓ passed, ✗ failed, … not done, ? missing, ! error)"])


if __name__ == "__main__":
    args = sys.argv[1:]
    timeout = int(args[args.index("--timeout") + 1]) if "--timeout" in args else 60
    if args and args[0] == "--one":
        print(json.dumps(run_one(args[1], timeout)))
        sys.exit(0)
    if not args or not Path(args[0]).is_dir():
        sys.exit(__doc__)
    rows = grade(args[0], timeout)
    print(summary(rows))
    print(f"wrote {Path(args[0]) / 'grades.csv'}")
