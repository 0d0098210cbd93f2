"""`course.py grade` on a class of lesson-07 submissions: honest, wrong and hostile, graded twice.

Each hostile submission tries one way to get a pass it did not earn, or to break the grading of
the others: printed "✓" lines, monkeypatched checkers and importlib.reload, reading the solutions,
writing into course_lib and the temp folder, endless loops (one inside a bare `except:`), a huge
output and a kernel that exits. The class is graded twice: the same rows (the second time without
the one slow student; see SLOW, while "spin" keeps a time limit in both runs).
"""
import ast
import csv
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import grade  # noqa: E402
import grading_codec as codec  # noqa: E402
import grading_kernel  # noqa: E402

LESSON = "07_quantization_basics.ipynb"
EXS = ("7.1", "7.2", "7.3")
# The student whose code runs past the time limit twice, inside bare `except:` blocks (about 15 s of
# waiting): the class is graded twice to show the CSV is reproducible, the second time without this
# student; "spin" (a plain endless loop in 7.3) keeps a time limit in both runs.
SLOW = "loops"
MARKER = "course-hostile-" + hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]


def _nb(cells):
    return {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": c}
                      for c in cells],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


def _exercise_cells(path):
    """Return the lesson's imports its exercises use, then only its exercise and check cells.

    Fast to run: each of the class's 20-odd kernels would spend about a second importing matplotlib.
    """
    cells = grade.code_cells(path)
    keep = []
    for cell, nxt in zip(cells, cells[1:]):
        if cell.startswith("# Exercise"):
            keep += [cell, nxt]
    used = {n.id for c in keep for n in ast.walk(ast.parse(c)) if isinstance(n, ast.Name)}
    imports = [line for line in cells[0].splitlines() if line.startswith(("import ", "from "))
               and {(a.asname or a.name).split(".")[0] for a in ast.parse(line).body[0].names} & used]
    return ["\n".join(imports)] + keep


FORGE = f"""import importlib, sys
import course_lib.checks._core as core, course_lib.checks.lesson07 as L
print("✓ Exercise 7.1 passed all 6 cases.\\n✓ Exercise 7.2 passed all 6 cases.\\n✓ Exercise 7.3 passed all 5 cases.")
sys.__stdout__.write('{{"7.1": ["passed", ""], "7.2": ["passed", ""], "7.3": ["passed", ""]}}\\n')
importlib.reload = lambda m: m
core.run_checks = lambda *a, **k: core.Verdict(a[3], True, "✓ passed")
for name in dir(L):
    if name.startswith("check_"):
        setattr(L, name, lambda *a, **k: core.Verdict("7", True, "✓ passed"))
"""

SNOOP = """import glob, os, course_lib
from pathlib import Path
places = [Path.cwd(), Path.cwd().parent, Path(course_lib.__file__).parents[1], Path(course_lib.__file__).parents[2]]
found = [p for d in places for p in glob.glob(str(d / "**" / "07_quantization_basics.ipynb"), recursive=True)
         if "student" not in p and Path(p).resolve() != Path.cwd().resolve() / "07_quantization_basics.ipynb"]
for path in found:                      # run the solutions, if any source notebook can be reached
    import json
    for c in json.load(open(path))["cells"]:
        if "BEGIN SOLUTION" in "".join(c["source"]):
            exec("".join(c["source"]))
"""

WRITE = f"""import os, tempfile, course_lib
from pathlib import Path
always = "from course_lib.checks._core import Verdict\\ndef _ok(*a, **k):\\n    return Verdict('7', True, 'passed')\\n" \\
         "check_affine_qparams = check_fake_quantize = check_mse_clip = _ok\\n"
for target in (Path(course_lib.__file__).parent / "checks" / "lesson07.py",
               Path(tempfile.gettempdir()) / "{MARKER}", Path.home() / "{MARKER}"):
    try:
        os.chmod(target.parent, 0o777)
        target.write_text(always)
    except OSError as e:
        print("refused:", target, e)
"""

# Where the kernel gets a root of its own (Linux with `unshare`), even a submission that knows the
# course's absolute path can neither read a source notebook nor write outside its folder.
INTRUDER = f"""import json
from pathlib import Path
for path in [Path({str(ROOT)!r}) / "notebooks" / "{LESSON}", Path({str(ROOT)!r}) / ".git" / "HEAD"]:
    try:
        cells = json.load(open(path))["cells"]
    except (OSError, ValueError) as e:
        print("no access:", path, type(e).__name__)
        continue
    for c in cells:
        if "BEGIN SOLUTION" in "".join(c["source"]):
            exec("".join(c["source"]))
"""

VANDAL = f"""from pathlib import Path
for target in (Path("/tmp") / "{MARKER}", Path({str(ROOT)!r}) / "{MARKER}", Path("/var/tmp") / "{MARKER}"):
    try:
        target.write_text("x")
    except OSError as e:
        print("refused:", target, e)
"""


def _class(folder):
    """Write the class: student name -> cells, and the verdicts each must get."""
    perfect = _exercise_cells(ROOT / "notebooks" / LESSON)
    blank = _exercise_cells(ROOT / "notebooks" / "student" / LESSON)
    wrong = list(perfect)
    assert "q_min - np.rint(lo / scale)" in wrong[1]
    wrong[1] = wrong[1].replace("q_min - np.rint(lo / scale)", "q_min + np.rint(lo / scale)")  # 7.1: zero-point sign
    loop = "    while True:\n        try:\n            pass\n        except:\n            pass\n"
    loops = list(perfect)
    loops[1] = loops[1].replace('    """\n', '    """\n' + loop, 1)                               # 7.1 never returns
    loops.insert(1, "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n    except:\n        pass")
    spin = list(perfect)
    spin[5] = spin[5].replace('    """\n', '    """\n    while True:\n        pass\n', 1)         # 7.3 never returns
    crash = list(perfect)
    crash.insert(1, "import os\nos._exit(1)")                                                # a top-level crash
    crash.insert(2, "print('x' * 2_000_000)\nfor i in range(2000):\n    print(i, 'y' * 1000)")  # huge output
    crash[-2] = crash[-2].replace('    """\n', '    """\n    import os\n    os._exit(3)\n', 1)  # 7.3 kills its kernel
    students = {
        "perfect": (perfect, ["passed"] * 3),
        "blank": (blank, ["not done"] * 3),
        "wrong": (wrong, ["failed", "passed", "passed"]),
        "forger": (blank + [FORGE], ["not done"] * 3),
        "snoop": (blank + [SNOOP], ["not done"] * 3),   # after the stubs: a leaked solution would replace them
        "writer": ([WRITE] + blank, ["not done"] * 3),
        "loops": (loops, ["error", "passed", "passed"]),
        "spin": (spin, ["passed", "passed", "error"]),
        "crash": (crash, ["passed", "passed", "error"]),
        "deleted": (perfect + ["del affine_qparams_ex"], ["missing", "passed", "passed"]),
    }
    if grading_kernel._sandboxed():
        students.update(intruder=(blank + [INTRUDER], ["not done"] * 3), vandal=([VANDAL] + blank, ["not done"] * 3))
    for name, (cells, _) in students.items():
        (folder / name).mkdir(parents=True)
        (folder / name / LESSON).write_text(json.dumps(_nb(cells)))
    return {name: dict(zip(EXS, v)) for name, (_, v) in students.items()}


def _run(folder):
    out = subprocess.run([sys.executable, str(ROOT / "course.py"), "grade", str(folder), "--timeout", "6", "--jobs", "2"],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return (folder / "grades.csv").read_bytes(), out.stdout


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    expected = _class(folder)
    checks_before = hashlib.sha256(b"".join(p.read_bytes() for p in sorted((ROOT / "course_lib").rglob("*.py"))))
    first, out = _run(folder)
    feedback = {p.stem: p.read_text() for p in (folder / "feedback").glob("*.md")}
    (folder / SLOW).rename(folder.parent / f"{folder.name}-{SLOW}")  # see SLOW: the re-run grades the others
    second, _ = _run(folder)
    checks_after = hashlib.sha256(b"".join(p.read_bytes() for p in sorted((ROOT / "course_lib").rglob("*.py"))))
    rows = list(csv.DictReader(first.decode().splitlines(keepends=True)))
    return dict(expected=expected, first=first, second=second, out=out, feedback=feedback, rows=rows,
                same_course=checks_before.digest() == checks_after.digest())


def test_every_submission_gets_the_verdict_it_earned(graded):
    got = {(r["student"], r["exercise"]): r["verdict"] for r in graded["rows"]}
    want = {(s, e): v for s, vs in graded["expected"].items() for e, v in vs.items()}
    assert got == want


def test_grading_twice_gives_the_same_csv(graded):
    """The re-run, in the same folder (its grades.csv and feedback/ now there), gives SLOW's classmates the same rows."""
    first, second = (list(csv.reader(graded[k].decode().splitlines(keepends=True))) for k in ("first", "second"))
    assert any(row[0] == SLOW for row in first) and any(row[0] == "spin" and "time limit" in row[-1] for row in second)
    assert second == [row for row in first if row[0] != SLOW]


def test_one_row_per_exercise_and_plain_reasons(graded):
    rows = graded["rows"]
    assert len(rows) == len(graded["expected"]) * 3
    detail = {(r["student"], r["exercise"]): r["detail"] for r in rows}
    assert "time limit" in detail[("loops", "7.1")] and "time limit" in detail[("spin", "7.3")]
    assert "crashed the kernel" in detail[("crash", "7.3")]
    assert "Traceback" not in graded["first"].decode()


def test_nothing_written_outside_its_folder_changes_anything(graded):
    assert graded["same_course"], "a submission changed course_lib"
    assert not (Path(tempfile.gettempdir()) / MARKER).exists() and not (Path("/tmp") / MARKER).exists()
    assert not (Path.home() / MARKER).exists()
    assert not (ROOT / MARKER).exists() and not (Path("/var/tmp") / MARKER).exists()


def test_a_kernel_of_its_own_where_linux_allows_it(graded):
    """On Linux with `unshare` the class above includes an intruder and a vandal who use absolute paths."""
    if not grading_kernel._sandboxed():
        pytest.skip(f"no sandbox here: {grading_kernel.isolation()}")
    assert {"intruder", "vandal"} <= set(graded["expected"]) and "a root of its own" in grading_kernel.isolation()


def test_feedback_names_the_failed_case_and_the_hint(graded):
    fb = graded["feedback"]
    assert set(fb) == set(graded["expected"])
    assert "Exercise 7.1: failed" in fb["wrong"] and "Hint:" in fb["wrong"] and "case '" in fb["wrong"]
    assert "2 of 3 exercises passed" in fb["wrong"]
    assert "code cell 2 ran past the time limit" in fb["loops"] and "code cell 2 crashed the kernel" in fb["crash"]


def test_the_summary_counts_passes(graded):
    assert "perfect" in graded["out"] and "3/3" in graded["out"]


def test_the_total_limit_stops_a_slow_notebook(tmp_path):
    cells = _exercise_cells(ROOT / "notebooks" / LESSON)
    cells.insert(1, "import time\ntime.sleep(60)")
    (tmp_path / "slow").mkdir()
    (tmp_path / "slow" / LESSON).write_text(json.dumps(_nb(cells)))
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "grade.py"), str(tmp_path), "--timeout", "30",
                          "--total", "3"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = list(csv.DictReader(open(tmp_path / "grades.csv")))
    assert [r["verdict"] for r in rows] == ["error"] * 3 and "total time limit" in rows[0]["detail"]
    assert time.monotonic() - t0 < 60, "the total limit did not stop the 60 s cell"


def test_submissions_are_found_by_student_at_any_depth(tmp_path):
    for rel in ("alice/work/07_quantization_basics.ipynb", "bob/07_quantization_basics.ipynb",
                "carol__07_quantization_basics.ipynb", "dan/07_quantization_basics.updated.ipynb",
                "feedback/x.ipynb", "eve/.ipynb_checkpoints/07_quantization_basics.ipynb", "fay/notes.ipynb"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    assert [(s, le) for s, le, _ in grade.submissions(tmp_path)] == [("alice", "07"), ("bob", "07"), ("carol", "07")]


# ------------------------------------------------------------------------ the command line

def test_help_and_a_missing_value_are_proper_errors(tmp_path):
    ok = subprocess.run([sys.executable, str(ROOT / "tools" / "grade.py"), "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "--timeout" in ok.stdout and "--jobs" in ok.stdout
    bad = subprocess.run([sys.executable, str(ROOT / "tools" / "grade.py"), str(tmp_path), "--timeout"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--timeout: expected one argument" in bad.stderr and "Traceback" not in bad.stderr
    neg = subprocess.run([sys.executable, str(ROOT / "tools" / "grade.py"), str(tmp_path), "--timeout", "0"],
                         capture_output=True, text=True)
    assert neg.returncode == 2 and "positive" in neg.stderr
    gone = subprocess.run([sys.executable, str(ROOT / "tools" / "grade.py"), str(tmp_path / "nope")],
                          capture_output=True, text=True)
    assert gone.returncode == 2 and "no such folder" in gone.stderr


# ------------------------------------------------------------------------- the data channel

def test_answers_are_data_never_code():
    modules = sys.modules
    x = (np_array := __import__("numpy").arange(6.0).reshape(2, 3), 3, 2.5, "a", None, True, [1, {"k": (1,)}])
    back = codec.decode(json.loads(json.dumps(codec.encode(x))), modules)
    assert back[1:] == x[1:] and (back[0] == np_array).all() and back[0].dtype == np_array.dtype
    with pytest.raises(ValueError):   # only course_lib's classes are rebuilt
        codec.decode({"t": "object", "class": "subprocess:Popen", "v": []}, modules)
    with pytest.raises(ValueError):   # numpy's pickled object arrays are refused
        import base64
        import io

        import numpy as np
        buf = io.BytesIO()
        np.save(buf, np.array([print], dtype=object), allow_pickle=True)
        codec.decode({"t": "ndarray", "v": base64.b64encode(buf.getvalue()).decode()}, modules)
    with pytest.raises(ValueError):
        codec.read_answer('{"status": "ok"} {"status": "ok"}', modules)  # two results on one line: refused


def _loopback(ns):
    """A kernel stand-in: the same data channel, in this process (checks every lesson's arguments and answers)."""
    class Kernel:
        def call(self, name, args, kwargs, timeout):
            import base64
            import pickle

            with tempfile.TemporaryDirectory() as d:
                codec.kernel_call(ns, name, base64.b64encode(pickle.dumps((args, kwargs))).decode(), f"{d}/a.json")
                return Path(f"{d}/a.json").read_text()

    class Session:
        timeout = 60

        def ready(self):
            return Kernel()

        def lost(self):
            pass
    return Session()


@pytest.mark.parametrize("lesson", [f"{i:02d}" for i in range(12)])
def test_every_reference_solution_passes_through_the_data_channel(lesson):
    import importlib

    path = next((ROOT / "notebooks").glob(f"{lesson}_*.ipynb"))
    ns = {}
    exec(_exercise_cells(path)[0], ns)  # the lesson's imports
    assert grade.exercises(lesson), f"no exercise found in lesson {lesson}"
    for item in grade.exercises(lesson):
        if item[4]:
            continue   # 3.4 and 5.4 read the notebook's own measurements
        cell = next(c for c in grade.code_cells(path) if c.startswith(f"# Exercise {item[0]}"))
        exec(cell, ns)
        check = getattr(importlib.import_module(item[1]), item[2])
        verdict = check(grade.proxy(_loopback(ns), item[3], float("inf")))
        assert verdict.passed, (item[0], repr(verdict))


def test_the_sandbox_hides_what_a_plain_kernel_reads(tmp_path, monkeypatch):
    """The control for the intruder: without the sandbox the same kernel reads the source notebook."""
    if not grading_kernel._sandboxed():
        pytest.skip(f"no sandbox here: {grading_kernel.isolation()}")
    course = grading_kernel.snapshot_course(tmp_path / "course")
    probe = f"open({str(ROOT / 'notebooks' / LESSON)!r}).read(100)"
    seen = {}
    for sandboxed in (True, False):
        monkeypatch.setattr(grading_kernel, "_sandboxed", lambda s=sandboxed: s)
        kernel = grading_kernel.Kernel(grading_kernel.prepare(tmp_path / str(sandboxed), None, course))
        kernel.start()
        try:
            seen[sandboxed] = kernel.run(probe, 60)
        finally:
            kernel.kill()
    assert seen == {True: "error", False: "ok"}
