"""A student's own work folder, `work/`: made from the student copies, never overwritten.

`python3 course.py start` calls `start`, which first calls `sync`:

- the first time, `work/` is created (git ignores it) with a copy of every lesson in notebooks/student/;
- later, a lesson that is new upstream is copied in; a lesson whose student copy changed upstream
  (after a `git pull`) is offered beside the student's file as `NN_name.updated.ipynb`, and the
  student's own file is never replaced;
- `course.py student` regenerates notebooks/student/ only: it never touches `work/`.

`work/.handed-out.json` records, per lesson, the hash of the student copy last handed out (so an
unchanged lesson is not offered again) and of the `.updated` file written (replaced only while the
student has not edited it). Set COURSE_WORK to use another folder (the tests do).
"""
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STUDENT = ROOT / "notebooks" / "student"
FIRST = "00_measuring_models.ipynb"
RECORD = ".handed-out.json"


def work_dir():
    """The student's work folder: $COURSE_WORK, or work/ in the course folder."""
    return Path(os.environ.get("COURSE_WORK") or ROOT / "work").resolve()


def _hash(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def updated_name(name):
    """Return the side-by-side name of a changed lesson: NN_name.updated.ipynb."""
    return name[: -len(".ipynb")] + ".updated.ipynb"


def sync(work=None, student=STUDENT):
    """Bring the work folder up to date without overwriting a student's file; return what was done, as lines."""
    work = Path(work or work_dir())
    work.mkdir(parents=True, exist_ok=True)
    record_path = work / RECORD
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    done = []
    for src in sorted(student.glob("[0-9][0-9]_*.ipynb")):
        name, new = src.name, _hash(src)
        mine, side = work / name, work / updated_name(name)
        entry = record.setdefault(name, {})
        if not mine.exists():  # a new lesson (or a file the student deleted): nothing to overwrite
            shutil.copyfile(src, mine)
            entry["handed_out"] = new
            done.append(f"copied in: {mine}")
        elif entry.get("handed_out", new) != new:
            if side.exists() and _hash(side) != entry.get("updated"):
                done.append(f"{name} changed upstream, but you edited {side.name}: it is kept; "
                            f"the newest version is {src}")
            else:
                shutil.copyfile(src, side)
                entry["updated"] = new
                done.append(f"{name} changed upstream: your file is untouched, the new version is {side}")
            entry["handed_out"] = new
        entry.setdefault("handed_out", new)
    record_path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return done


def lab_command(lab, args, work):
    """Return the JupyterLab command line that opens the student's lesson 00 (its work copy)."""
    own_root = any(a.startswith(("--ServerApp.root_dir", "--notebook-dir")) for a in args)
    root = ROOT if work.is_relative_to(ROOT) else work.parent
    first = (work / FIRST).relative_to(root).as_posix()
    url = [] if own_root else [f"--ServerApp.root_dir={root}", f"--ServerApp.default_url=/lab/tree/{first}",
                               f"--LabApp.default_url=/lab/tree/{first}"]
    as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []  # containers, CI
    return [*lab, *url, *as_root, "--LabApp.custom_css=True", *args]


def start(lab, args, env):
    """Sync the work folder, say where work lives, then become JupyterLab on the work copy of lesson 00."""
    work = work_dir()
    done = sync(work)
    copied = [Path(d[len("copied in: "):]).name for d in done if d.startswith("copied in: ")]
    if copied:
        print(f"[course] copied into {work}: {', '.join(copied)}", flush=True)
    for line in done:
        if not line.startswith("copied in: "):
            print(f"[course] {line}", flush=True)
    print(f"[course] your work lives in {work} (git ignores it; `course.py student` never touches it)", flush=True)
    cmd = lab_command(lab, args, work)
    if os.name == "posix":  # become JupyterLab, so Ctrl+C and kill reach the server itself
        os.chdir(ROOT)
        os.execve(cmd[0], cmd, env)
    import subprocess

    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    for line in sync():
        print(line)
    sys.exit(0)
