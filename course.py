#!/usr/bin/env python3
"""Set up and run the course. Two commands do everything:

    python3 course.py start    # set up what is missing, then open JupyterLab on lesson 00 (student copy)
    python3 course.py test     # set up what is missing, then run the whole test suite

More, for lecturers and contributors (`python3 course.py COMMAND --help` for each):

    python3 course.py test --fast [PYTEST_ARGS]  # unit, oracle and checker tests: no nbval, no browsers
    python3 course.py execute [NOTEBOOK ...]   # re-execute source notebooks in place (outputs committed)
    python3 course.py student                  # regenerate the student copies in notebooks/student/
    python3 course.py bench [--kernels|--no-kernels]  # seconds per notebook, then numpy kernels vs torch
    python3 course.py slides [--pdf] [NOTEBOOK ...]  # offline reveal.js decks (and PDF handouts) in slides/
    python3 course.py portability [NOTEBOOK ...]  # nbval under other BLAS kernels, threads, torch dispatch
    python3 course.py grade SUBMISSIONS_DIR    # run submitted student notebooks, write grades.csv
    python3 course.py new-lesson 12 layerwise_reconstruction "Layer-wise reconstruction"  # scaffold a lesson

Arguments are checked before anything is set up. Set-up is idempotent: a virtual environment in .venv
is created once and re-installed only when pyproject.toml changes (its hash is kept in
.venv/.course-installed).
"""
import argparse
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".course-installed"


def _say(msg):
    print(f"[course] {msg}", flush=True)


def _run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, **kw).returncode


def _wanted_stamp():
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def setup():
    """Create .venv and install the pinned dependencies, unless already done."""
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"[course] Python 3.11 is required, this is {sys.version.split()[0]}. "
                 "Run this file with a Python 3.11 interpreter (or use the conda route in README.md).")
    if not PY.exists():
        _say("creating the virtual environment .venv ...")
        if _run([sys.executable, "-m", "venv", VENV]) != 0:
            sys.exit("[course] could not create .venv (on Debian/Ubuntu: apt install python3.11-venv)")
    if STAMP.exists() and STAMP.read_text().strip() == _wanted_stamp():
        return
    _say("installing the pinned dependencies (first time: a few minutes) ...")
    pip = [PY, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    extra = os.environ.get("TORCH_INDEX_URL")  # optional: a CPU wheel index for torch
    torch_cmd = pip + ["torch==2.13.0"] + (["--extra-index-url", extra] if extra else [])
    if _run(torch_cmd) != 0 or _run(pip + ["-e", "."]) != 0:
        sys.exit("[course] installing the dependencies failed; see the messages above.")
    STAMP.write_text(_wanted_stamp())
    _say("set-up done.")


def _env():
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
    env["PATH"] = str(PY.parent) + os.pathsep + env.get("PATH", "")
    # this checkout's course_lib first, whatever an editable install elsewhere points at
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


COMMANDS = {  # command: (tool script run after set-up, one-line help)
    "start": (None, "set up what is missing, then open JupyterLab on lesson 00 (your copy in work/)"),
    "test": (None, "set up what is missing, then run the test suite (pytest + nbval)"),
    "setup": (None, "create .venv and install the pinned dependencies (idempotent)"),
    "execute": ("tools/execute_notebooks.py", "re-execute source notebooks in place (outputs are committed)"),
    "student": ("tools/make_student_copies.py", "regenerate the student copies in notebooks/student/"),
    "bench": ("tools/benchmark.py", "seconds per notebook, then numpy kernels vs torch"),
    "slides": ("tools/export_slides.py", "offline reveal.js decks (and PDF handouts) in slides/"),
    "portability": ("tools/portability.py", "nbval under other BLAS kernels, threads, torch dispatch"),
    "grade": ("tools/grade.py", "run submitted student notebooks, write grades.csv"),
    "new-lesson": (None, "scaffold a lesson: notebook, checks module, checker test, deck, ledger row"),
}
PASS_THROUGH = {"start": "JupyterLab", "test": "pytest", "grade": "tools/grade.py"}  # extra arguments go there
FAST = ["-o", "addopts=-p no:cacheprovider -W ignore::DeprecationWarning", "-m", "not slow and not browser"]


def parser():
    """Return the command line: one sub-command each, every one with --help."""
    p = argparse.ArgumentParser(prog="course.py", description=__doc__, allow_abbrev=False,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", required=True)

    def cmd(name, **kw):
        return sub.add_parser(name, help=COMMANDS[name][1], description=COMMANDS[name][1], allow_abbrev=False, **kw)

    p.commands = sub.choices  # name -> its parser, for errors in that command's usage

    cmd("start", epilog="Other arguments go to `jupyter lab` (e.g. --no-browser --port=8899).")
    t = cmd("test", epilog="Other arguments go to pytest (e.g. tests/test_nn.py notebooks/02_*.ipynb -k mask -q).")
    t.add_argument("--fast", action="store_true",
                   help="unit, oracle and checker tests only: no nbval, no browser, no slow tests (tests/conftest.py)")
    cmd("setup")
    paths = dict(nargs="*", metavar="NOTEBOOK", help="source notebooks (default: all of notebooks/NN_*.ipynb)")
    cmd("execute").add_argument("paths", **paths)
    cmd("student").add_argument("dest", nargs="?", metavar="DIR", help="write the copies here (default: notebooks/student)")
    b = cmd("bench")
    b.add_argument("--student", action="store_true", help="time the student copies too")
    only = b.add_mutually_exclusive_group()
    only.add_argument("--kernels", action="store_true", help="only the numpy kernels vs their torch twins")
    only.add_argument("--no-kernels", action="store_true", help="only the notebooks")
    s = cmd("slides")
    s.add_argument("--pdf", action="store_true", help="also print each deck to a PDF handout (needs Chromium)")
    s.add_argument("paths", **paths)
    cmd("portability").add_argument("paths", **paths)
    cmd("grade", add_help=False, epilog="Every argument goes to tools/grade.py (`course.py grade --help`).")
    n = cmd("new-lesson", epilog='e.g. python3 course.py new-lesson 12 layerwise_reconstruction "Layer-wise reconstruction"')
    n.add_argument("number", type=_lesson_number, help="two-digit lesson number, e.g. 12")
    n.add_argument("name", type=_snake_case, help="snake_case name, e.g. layerwise_reconstruction")
    n.add_argument("title", help='the lesson\'s title, e.g. "Layer-wise reconstruction"')
    return p


def _lesson_number(text):
    if not re.fullmatch(r"\d{1,2}", text):
        raise argparse.ArgumentTypeError(f"the lesson number must be an integer in [0, 99], got {text!r}")
    return int(text)


def _snake_case(text):
    if not re.fullmatch(r"[a-z][a-z0-9_]*", text):
        raise argparse.ArgumentTypeError(f"the name must be snake_case (a-z, 0-9, _), got {text!r}")
    return text


def parse(argv):
    """Parse and check every argument (before any set-up); return (namespace, pass-through arguments)."""
    p = parser()
    if not argv or argv[0] == "help":
        p.print_help()
        sys.exit(0)
    if argv[0] == "grade":  # tools/grade.py parses its own arguments, --help included
        return argparse.Namespace(cmd="grade"), list(argv[1:])
    args, extra = p.parse_known_args(argv)
    if extra and args.cmd not in PASS_THROUGH:
        p.commands[args.cmd].error(f"unrecognized arguments: {' '.join(extra)}")
    return args, extra


def main(argv):
    args, extra = parse(argv)
    if args.cmd == "new-lesson":  # writes files only: no set-up, no environment
        sys.path.insert(0, str(ROOT / "tools"))
        from scaffold import scaffold

        for path in scaffold(ROOT, args.number, args.name, args.title):
            print("wrote", path.relative_to(ROOT))
        return 0
    setup()
    if args.cmd == "setup":
        return 0
    if args.cmd == "start":
        return start(extra)
    with _own_tmpdir() as tmp:  # TensorFlow's autograph writes files to the temp folder: keep them in ours
        env = dict(_env(), TMPDIR=tmp, TEMP=tmp, TMP=tmp)
        if args.cmd == "test":
            _other_blas_kernel(env)
            named = any((ROOT / a.split("::")[0]).exists() for a in extra if not a.startswith("-"))
            fast = FAST + ([] if named else ["tests"])  # the notebooks folder holds no unit tests
            workers = _workers(extra)
            if workers:
                _one_thread_each(env)
            return _run([PY, "-m", "pytest", *(fast if args.fast else []), *workers, *extra], env=env)
        tool_args = argv[1:] if args.cmd != "grade" else extra  # already checked by parse()
        return _run([PY, COMMANDS[args.cmd][0], *tool_args], env=env)


def _workers(extra):
    """Return pytest-xdist's options for one worker per core (at most 2), if it is installed and not overridden.

    --dist loadfile keeps a file's tests, and a notebook's nbval cells (one kernel, in order), on one worker;
    --no-loadscope-reorder hands out the files in collection order (pyproject's testpaths: the long notebooks
    first, then the short test files that even out the two workers) instead of by their number of tests.
    """
    n = min(2, os.cpu_count() or 1)
    installed = any(VENV.glob("lib/python3.*/site-packages/xdist")) or any(VENV.glob("Lib/site-packages/xdist"))
    overridden = any(a in ("-n", "--numprocesses", "--dist", "no:xdist") or a.startswith(("-n", "--numprocesses="))
                     for a in extra)
    return ["-n", str(n), "--dist", "loadfile", "--no-loadscope-reorder"] if installed and n > 1 and not overridden else []


def start(args):
    """Install the lab settings, then open JupyterLab on the student's work copy of lesson 00.

    The work folder (git-ignored `work/`) is created from the student copies on first start and never
    overwritten (tools/student_work.py).
    """
    _lab_settings()
    sys.path.insert(0, str(ROOT / "tools"))
    from student_work import start as start_lab

    return start_lab([str(PY), "-m", "jupyter", "lab"], args, _env())


def _lab_settings():
    """Install the course's JupyterLab settings into the environment (tools/jupyterlab/README.md says why)."""
    import json

    settings = VENV / "share" / "jupyter" / "lab" / "settings"
    settings.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "tools" / "jupyterlab" / "overrides.json", settings / "overrides.json")
    labconfig = VENV / "etc" / "jupyter" / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    page = labconfig / "page_config.json"
    config = json.loads(page.read_text()) if page.exists() else {}
    for key, value in json.loads((ROOT / "tools" / "jupyterlab" / "page_config.json").read_text()).items():
        config[key] = {**config.get(key, {}), **value}
    page.write_text(json.dumps(config, indent=2) + "\n")
    for static in [*VENV.glob("lib/python3.*/site-packages/jupyter_server/static"),
                   *VENV.glob("Lib/site-packages/jupyter_server/static")]:  # served as /custom/custom.css
        (static / "custom").mkdir(exist_ok=True)
        shutil.copy(ROOT / "tools" / "jupyterlab" / "custom.css", static / "custom" / "custom.css")


class _own_tmpdir:
    """A temporary folder for one command, removed afterwards (no litter in the system temp folder)."""

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="course-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def _one_thread_each(env):
    """Give each test worker one BLAS/OpenMP thread: the workers already fill the cores.

    With two workers and two OpenBLAS threads each, the threads wait on each other: lesson 00 ran 2.5x
    slower beside lesson 05 than with one thread each. Outputs do not depend on it: the portability
    check runs every lesson with 1 and with 2 threads. A value already set is kept.
    """
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")


def _other_blas_kernel(env):
    """Run the tests with a BLAS kernel OTHER than the one that recorded the notebooks' outputs.

    A notebook whose printed results depend on the kernel then fails where it was written, not on
    a student's machine (docs/portability.md). Skipped if OPENBLAS_CORETYPE is set or off x86-64.
    """
    if "OPENBLAS_CORETYPE" in env or env.get("COURSE_KEEP_BLAS") or platform.machine().lower() not in ("x86_64", "amd64"):
        return
    sys.path.insert(0, str(ROOT / "tools"))
    from cpu import recorded_kernels, runnable_kernels

    same = {"Zen": "Haswell"}  # OpenBLAS's Zen target uses the Haswell kernels
    used = {same.get(k, k) for k in recorded_kernels()}
    other = next((k for k in runnable_kernels() if same.get(k, k) not in used), None)
    if other:
        env["OPENBLAS_CORETYPE"] = other
        _say(f"BLAS kernel for this run: {other} (the notebooks were recorded with {', '.join(sorted(used)) or '?'})")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
