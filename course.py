#!/usr/bin/env python3
"""Set up and run the course. Two commands do everything:

    python3 course.py start    # set up what is missing, then open JupyterLab on lesson 00 (student copy)
    python3 course.py test     # set up what is missing, then run the whole test suite

More, for lecturers and contributors:

    python3 course.py execute [NOTEBOOK ...]   # re-execute source notebooks in place (outputs committed)
    python3 course.py student                  # regenerate the student copies in notebooks/student/
    python3 course.py bench [--kernels|--no-kernels]  # seconds per notebook, then numpy kernels vs torch
    python3 course.py slides [--pdf] [NOTEBOOK ...]  # offline reveal.js decks (and PDF handouts) in slides/
    python3 course.py portability [NOTEBOOK ...]  # nbval under other BLAS kernels, threads, torch dispatch
    python3 course.py grade SUBMISSIONS_DIR    # run submitted student notebooks, write grades.csv

Set-up is idempotent: a virtual environment in .venv is created once and re-installed only when
pyproject.toml changes (its hash is kept in .venv/.course-installed).
"""
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".course-installed"
FIRST = "notebooks/student/00_measuring_models.ipynb"  # the student copy: the sources hold the solutions


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


def main(argv):
    cmd, args = (argv[0], argv[1:]) if argv else ("help", [])
    if cmd in ("help", "-h", "--help"):
        print(__doc__)
        return 0
    tools = {"execute": "tools/execute_notebooks.py", "student": "tools/make_student_copies.py",
             "bench": "tools/benchmark.py", "slides": "tools/export_slides.py",
             "portability": "tools/portability.py", "grade": "tools/grade.py"}
    if cmd not in ("start", "test", "setup", *tools):
        print(__doc__)
        return 2
    setup()
    if cmd == "setup":
        return 0
    if cmd == "start":  # the student's work/ folder, then JupyterLab on its lesson 00 (tools/student_work.py)
        _lab_settings()
        sys.path.insert(0, str(ROOT / "tools"))
        from student_work import start

        return start([str(PY), "-m", "jupyter", "lab"], args, _env())
    with _own_tmpdir() as tmp:  # TensorFlow's autograph writes files to the temp folder: keep them in ours
        env = dict(_env(), TMPDIR=tmp, TEMP=tmp, TMP=tmp)
        if cmd == "test":
            _other_blas_kernel(env)
            return _run([PY, "-m", "pytest", *args], env=env)
        return _run([PY, tools[cmd], *args], env=env)


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
