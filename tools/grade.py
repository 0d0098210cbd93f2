"""Grade submitted student notebooks; the verdicts are computed outside the students' kernels.

    python3 course.py grade SUBMISSIONS_DIR [--timeout SECONDS] [--total SECONDS] [--jobs N]

SUBMISSIONS_DIR holds one folder per student (any depth: alice/work/07_x.ipynb is alice's), or
notebooks named STUDENT__NN_lesson.ipynb.

How a notebook is graded (tools/grading_kernel.py, tools/grading_codec.py):
1. Its code cells run in a fresh kernel, in a fresh temporary folder that holds only the
   submission and a read-only copy of course_lib; no course notebook is reachable from it. As root
   the kernel runs as `nobody`. A cell past --timeout, or one that kills its kernel, is skipped:
   the kernel's process group is killed, a new kernel re-runs the other cells.
2. The checkers run in THIS process, imported before any submission ran. They call the student's
   function through a proxy: the arguments go to the kernel, the answer comes back as plain data
   (numbers, arrays, tuples; never code). So nothing the submission prints, patches, or writes can
   change a verdict; the student only controls what their function returns. An exercise that runs
   past --timeout is killed and marked "error"; the next exercise gets a fresh kernel.
3. One row per exercise: SUBMISSIONS_DIR/grades.csv (student, lesson, exercise, verdict, detail),
   verdicts passed / failed / not done / missing / error, and SUBMISSIONS_DIR/feedback/STUDENT.md
   to hand back (the failed case, expected and got, and the hint). Same folder, same CSV.
"""
import argparse
import ast
import concurrent.futures
import csv
import hashlib
import importlib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import grading_codec as codec  # noqa: E402
from grading_kernel import Kernel, KernelDied, isolation, prepare, remove, snapshot_course  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
EXERCISE = re.compile(r"^# Exercise (\d+\.\d+)", re.M)
ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
MAX_RESTARTS = 6
MARK = {"passed": "✓", "failed": "✗", "not done": "…", "missing": "?", "error": "!"}


class Stop(BaseException):
    """Ends one exercise's check with a verdict (a BaseException: the checker's `except Exception` lets it pass)."""

    def __init__(self, verdict, detail):
        super().__init__(detail)
        self.verdict, self.detail = verdict, detail


# ------------------------------------------------------------------------------- the exercises

def code_cells(path):
    """Return the sources of a notebook's code cells (read as JSON: a submission is data, nothing more)."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells if c.get("cell_type") == "code"]


def exercises(lesson):
    """Return [(exercise, checker module, check name, function name, extra argument expressions, check cell)]."""
    cells = code_cells(next(NOTEBOOKS.glob(f"{lesson}_*.ipynb")))
    out = []
    for cell, nxt in zip(cells, cells[1:]):
        m = EXERCISE.match(cell)
        module = re.search(r"from (course_lib\.checks\.\w+) import", nxt) if m else None
        calls = [n.value for n in ast.parse(nxt).body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)
                 and isinstance(n.value.func, ast.Name) and n.value.func.id.startswith("check_")] if module else []
        if calls and isinstance(calls[0].args[0], ast.Name):
            call = calls[0]
            out.append((m.group(1), module.group(1), call.func.id, call.args[0].id,
                        tuple(ast.unparse(a) for a in call.args[1:]), nxt.strip()))
    return out


def submissions(root):
    """Yield (student, lesson, path) for every submitted notebook below root, sorted."""
    root = Path(root)
    for p in sorted(root.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in p.parts or "feedback" in p.relative_to(root).parts[:1] or ".updated." in p.name:
            continue
        rel = p.relative_to(root).parts  # alice/07_x.ipynb, alice/work/07_x.ipynb or alice__07_x.ipynb
        student = rel[0] if len(rel) > 1 else p.name.split("__")[0]
        lesson = p.name.split("__")[-1][:2]
        if lesson.isdigit() and any(NOTEBOOKS.glob(f"{lesson}_*.ipynb")):
            yield student, lesson, p


# --------------------------------------------------------------------------- one notebook's run

class Session:
    """One submission: its kernel (restarted when needed) and the cells that must be skipped."""

    def __init__(self, folder, cells, timeout, total):
        self.folder, self.cells, self.timeout = folder, cells, timeout
        self.end = time.monotonic() + (total or float("inf"))
        self.kernel, self.bad, self.restarts = None, {}, 0

    def left(self, limit):
        return max(0.0, min(limit, self.end - time.monotonic()))

    def ready(self):
        """Return a kernel that has run every cell except the bad ones (a cell past its time, a crash)."""
        while self.kernel is None:
            if self.restarts > MAX_RESTARTS or self.left(1) <= 0:
                raise Stop("error", "the notebook ran past its total time limit or crashed too often to be graded")
            self.restarts += 1
            kernel = Kernel(self.folder)
            try:
                kernel.start()
            except KernelDied as e:
                raise Stop("error", str(e)) from None
            for i, code in enumerate(self.cells):
                if i not in self.bad and self.left(1) > 0:
                    status = kernel.run(code, self.left(self.timeout))
                    if status in ("timeout", "died"):
                        self.bad[i] = status
                        break
            else:
                self.kernel = kernel
        if self.left(1) <= 0:
            raise Stop("error", "the notebook ran past its total time limit")
        return self.kernel

    def lost(self):
        """The kernel was killed (time limit) or died: the next exercise starts a fresh one."""
        if self.kernel:
            self.kernel.kill()
        self.kernel = None

    def notes(self):
        why = {"timeout": f"ran past the time limit ({self.timeout:g} s)", "died": "crashed the kernel"}
        return [f"code cell {i + 1} {why[s]}; it was skipped" for i, s in sorted(self.bad.items())]


def _answer(text):
    """Decode one answer of the kernel strictly; anything malformed is an error verdict."""
    try:
        return codec.read_answer(text, sys.modules)
    except Exception as e:
        raise Stop("error", f"the answer of your function could not be read ({type(e).__name__})") from None


def _student_error(detail):
    """An exception of the student's exception's name, carrying its message (for run_checks' wording)."""
    name, _, msg = detail.partition(": ")
    cls = type(name if name.isidentifier() else "Exception", (Exception,), {})
    return cls(ADDRESS.sub("", msg))


def _write_back(before, after):
    """Copy an argument's state after the call in the kernel into the checker's own argument (in-place changes)."""
    try:
        if isinstance(before, codec.np.ndarray) and isinstance(after, codec.np.ndarray) and before.shape == after.shape:
            codec.np.copyto(before, after, casting="unsafe")
        elif isinstance(before, list) and isinstance(after, list):
            before[:] = after
        elif isinstance(before, dict) and isinstance(after, dict):
            before.clear()
            before.update(after)
        elif type(before) is type(after) and type(before).__module__.startswith("course_lib") and hasattr(before, "__dict__"):
            for k, v in vars(after).items():
                object.__setattr__(before, k, v)
    except (TypeError, ValueError):
        pass


def proxy(session, name, deadline):
    """The student's function as the checker sees it: a call into the kernel, an answer as data."""
    def student_fn(*args, **kwargs):
        left = deadline - time.monotonic()
        try:
            text = session.ready().call(name, args, kwargs, max(0.0, left))
        except KernelDied as e:
            session.lost()
            if str(e) == "timeout" and session.left(1) <= 0:
                raise Stop("error", "the notebook ran past its total time limit") from None
            raise Stop("error", f"your function ran past the time limit ({session.timeout:g} s) and was stopped"
                       if str(e) == "timeout" else "your function crashed the kernel (it exited)") from None
        except Exception as e:  # pickling the checker's arguments, starting a kernel
            raise Stop("error", f"the grader could not run your function ({type(e).__name__}: {e})") from None
        status, result, args_after, kwargs_after = _answer(text)
        if status == "missing":
            raise Stop("missing", ADDRESS.sub("", result))
        if status == "not done":
            raise NotImplementedError(name)
        if status == "raised":
            raise _student_error(result)
        for b, a in zip(args, args_after):
            _write_back(b, a)
        for k in kwargs:
            _write_back(kwargs[k], kwargs_after.get(k))
        return result
    student_fn.__name__ = name
    return student_fn


def grade_exercise(session, item):
    """Return (verdict, detail) of one exercise: the checker here, the student's function in the kernel."""
    _, module, check, fn, extra, _ = item
    try:
        session.ready()  # a restart re-runs the cells first: not part of the exercise's time
        deadline = time.monotonic() + session.left(session.timeout)
        values = []
        for expr in extra:
            status, value, _, _ = _answer(session.ready().value(expr, session.left(session.timeout)))
            if status != "ok":
                raise Stop("missing" if status == "missing" else "error", f"`{expr}` could not be read: run the cells above the check")
            values.append(value)
        verdict = getattr(sys.modules[module], check)(proxy(session, fn, deadline), *values)
    except Stop as s:
        return s.verdict, s.detail
    except KernelDied:
        session.lost()
        return "error", "the kernel stopped while reading your results"
    except Exception as e:  # the checker itself failed on an answer it could not handle
        return "error", f"the checker could not judge your answer ({type(e).__name__}: {ADDRESS.sub('', str(e))})"
    message = ADDRESS.sub("", repr(verdict))
    if verdict.passed:
        return "passed", message
    return ("not done" if "not done yet" in message else "failed"), message


def grade_notebook(student, lesson, path, items, course, timeout, total):
    """Grade one submission; return (rows, notes)."""
    folder = Path(tempfile.mkdtemp(prefix="course-grade-"))
    session = None
    try:
        cells = code_cells(path)
        checks = {item[5] for item in items}
        prepare(folder / "s", path, course)
        session = Session(folder / "s", [c if c.strip() not in checks else "" for c in cells], timeout, total)
        rows = [(student, lesson, item[0], *grade_exercise(session, item)) for item in items]
        return rows, session.notes()
    except Exception as e:  # an unreadable notebook, a kernel that cannot start
        why = f"the notebook could not be graded ({type(e).__name__}: {ADDRESS.sub('', str(e))})"
        return [(student, lesson, item[0], "error", why) for item in items], session.notes() if session else []
    finally:
        if session:
            session.lost()
        remove(folder)


# --------------------------------------------------------------------------------- the class run

def _fingerprint():
    h = hashlib.sha256()
    for p in sorted((ROOT / "course_lib").rglob("*.py")):
        h.update(str(p.relative_to(ROOT)).encode() + p.read_bytes())
    return h.hexdigest()


def grade(root, timeout=60, total=None, jobs=2):
    """Grade every submission below root; write grades.csv and feedback/STUDENT.md; return (rows, notes)."""
    subs = list(submissions(root))
    items = {lesson: exercises(lesson) for lesson in sorted({s[1] for s in subs})}
    for lesson_items in items.values():  # every checker is imported before any submission runs
        for item in lesson_items:
            importlib.import_module(item[1])
    before = _fingerprint()
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        course = snapshot_course(Path(tmp) / "course")
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(grade_notebook, st, le, p, items[le], course, timeout, total) for st, le, p in subs]
            results = [f.result() for f in futures]
    if _fingerprint() != before:
        print("[grade] WARNING: course_lib changed on disk while grading (a submission wrote into it?); "
              "the verdicts used the checkers loaded before: check `git status`.", file=sys.stderr)
    rows = sorted((r for rs, _ in results for r in rs), key=lambda r: (r[0], r[1], tuple(map(int, r[2].split(".")))))
    notes = {(st, le): n for (st, le, _), (_, n) in zip(subs, results) if n}
    write_csv(Path(root) / "grades.csv", rows)
    write_feedback(Path(root) / "feedback", rows, notes)
    return rows, notes


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows([("student", "lesson", "exercise", "verdict", "detail"), *rows])


def write_feedback(folder, rows, notes):
    """One markdown file per student: a verdict per exercise, then what failed, with the hint."""
    folder.mkdir(exist_ok=True)
    by = {}
    for r in rows:
        by.setdefault(r[0], []).append(r)
    for student, rs in by.items():
        passed = sum(r[3] == "passed" for r in rs)
        lines = [f"# Feedback for {student}", "", f"{passed} of {len(rs)} exercises passed.", "",
                 "| lesson | exercise | verdict |", "|---|---|---|"]
        lines += [f"| {le} | {ex} | {MARK[v]} {v} |" for _, le, ex, v, _ in rs]
        for _, le, ex, v, d in rs:
            if v != "passed":
                lines += ["", f"## Exercise {ex}: {v}", "", "```", d, "```"]
        for (st, le), ns in sorted(notes.items()):
            if st == student:
                lines += ["", f"## Notes on lesson {le}", ""] + [f"- {n}" for n in ns]
        (folder / f"{student}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def summary(rows):
    """Return a readable table: one line per student, one column per exercise, and a count."""
    exs = sorted({r[2] for r in rows}, key=lambda e: tuple(map(int, e.split("."))))
    by = {}
    for student, _, ex, verdict, _ in rows:
        by.setdefault(student, {})[ex] = verdict
    lines = [f"{'student':20s} " + " ".join(f"{e:>5s}" for e in exs) + "  passed"]
    for student, v in sorted(by.items()):
        lines.append(f"{student:20s} " + " ".join(f"{MARK[v[e]] if e in v else '-':>5s}" for e in exs)
                     + f"  {sum(x == 'passed' for x in v.values())}/{len(exs)}")
    return "\n".join(lines + ["(✓ passed, ✗ failed, … not done, ? missing, ! error)"])


def _positive(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def parse_args(argv):
    p = argparse.ArgumentParser(prog="course.py grade", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.split("\n")[4:]))
    p.add_argument("submissions", type=Path, help="folder of submitted notebooks (one folder per student)")
    p.add_argument("--timeout", type=_positive, default=60.0, metavar="SECONDS",
                   help="time limit of each code cell and of each exercise's check (default 60)")
    p.add_argument("--total", type=_positive, default=None, metavar="SECONDS",
                   help="time limit of one notebook in all (default: none)")
    p.add_argument("--jobs", type=int, default=max(1, min(4, (os.cpu_count() or 2) // 2)), metavar="N",
                   help="notebooks graded at the same time (default: half the CPU cores, at most 4)")
    args = p.parse_args(argv)
    if not args.submissions.is_dir():
        p.error(f"no such folder: {args.submissions}")
    if args.jobs < 1:
        p.error(f"--jobs must be >= 1, got {args.jobs}")
    return args


if __name__ == "__main__":
    a = parse_args(sys.argv[1:])
    print(f"[grade] {isolation()}", file=sys.stderr)
    rows, notes = grade(a.submissions, a.timeout, a.total, a.jobs)
    print(summary(rows))
    for (st, le), ns in sorted(notes.items()):
        print(f"{st} {le}: " + "; ".join(ns))
    print(f"wrote {a.submissions / 'grades.csv'} and {a.submissions / 'feedback'}/")
