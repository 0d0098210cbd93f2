"""The README's start command serves JupyterLab on the student's own work copy of lesson 00; work is never lost."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.read()


def test_start_serves_jupyterlab_on_the_work_copy_of_lesson_00(tmp_path):
    port, token = _free_port(), "course-test"
    work, log = tmp_path / "work", tmp_path / "lab.log"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"),
               COURSE_WORK=str(work))
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "course.py", "start", "--no-browser", f"--port={port}",
                                 "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # as root too
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                status, _ = _get(f"{base}/api/status?token={token}")
                break
            except OSError:
                assert proc.poll() is None, f"course.py start exited with code {proc.returncode}"
                time.sleep(0.5)
        else:
            raise AssertionError("JupyterLab did not answer within 60 s")
        status, body = _get(f"{base}/lab?token={token}")
        assert status == 200 and b"JupyterLab" in body
        status, body = _get(f"{base}/api/contents/work/00_measuring_models.ipynb?content=0&token={token}")
        assert status == 200 and json.loads(body)["type"] == "notebook"
        printed = log.read_text()
        assert f"{base}/lab/tree/work/00_measuring_models.ipynb?token=" in printed, printed[-2000:]  # not /lab
        status, body = _get(f"{base}/lab/tree/work/00_measuring_models.ipynb?token={token}")
        assert status == 200 and b"JupyterLab" in body
        assert f"your work lives in {work}" in printed
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    with socket.socket() as s:  # stopping the command stops the server (no orphaned JupyterLab)
        assert s.connect_ex(("127.0.0.1", port)) != 0, "JupyterLab still serves after the start command ended"
    assert (work / "00_measuring_models.ipynb").read_bytes() == \
        (ROOT / "notebooks" / "student" / "00_measuring_models.ipynb").read_bytes()


def test_start_opens_the_work_copy_not_the_solutions(tmp_path):
    import student_work

    assert "BEGIN SOLUTION" not in (student_work.STUDENT / student_work.FIRST).read_text()
    cmd = student_work.lab_command(["jupyter", "lab"], [], ROOT / "work")
    assert f"--ServerApp.root_dir={ROOT}" in cmd
    assert "--ServerApp.default_url=/lab/tree/work/00_measuring_models.ipynb" in cmd
    elsewhere = student_work.lab_command(["jupyter", "lab"], [], tmp_path / "mine")
    assert f"--ServerApp.root_dir={tmp_path}" in elsewhere
    assert not any("default_url" in a for a in student_work.lab_command(["jupyter", "lab"], ["--notebook-dir=/x"], ROOT))


def test_start_switches_off_the_news_pop_up():
    sys.path.insert(0, str(ROOT))
    import course

    course._lab_settings()
    settings = json.loads((course.VENV / "share/jupyter/lab/settings/overrides.json").read_text())
    assert settings["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"


# ------------------------------------------------------------------------------ the work folder

def _lessons(folder, **texts):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (folder / f"{name}.ipynb").write_text(text)
    return folder


def test_first_sync_copies_every_lesson_and_git_ignores_the_folder(tmp_path):
    import student_work

    work = tmp_path / "work"
    done = student_work.sync(work)
    names = sorted(p.name for p in student_work.STUDENT.glob("[0-9][0-9]_*.ipynb"))
    assert sorted(p.name for p in work.glob("*.ipynb")) == names and len(done) == len(names)
    assert student_work.sync(work) == []    # the second start changes nothing
    ignored = subprocess.run(["git", "check-ignore", "-q", "work/00_measuring_models.ipynb"], cwd=ROOT)
    assert ignored.returncode == 0, "work/ must be git-ignored"


def test_an_update_is_offered_beside_the_students_file_never_over_it(tmp_path):
    import student_work

    upstream, work = _lessons(tmp_path / "student", **{"00_a": "v1", "01_b": "v1"}), tmp_path / "work"
    student_work.sync(work, upstream)
    (work / "00_a.ipynb").write_text("my answers")
    _lessons(upstream, **{"00_a": "v2", "02_c": "new"})          # a git pull: one changed, one new lesson
    done = student_work.sync(work, upstream)
    assert (work / "00_a.ipynb").read_text() == "my answers"
    assert (work / "00_a.updated.ipynb").read_text() == "v2" and (work / "02_c.ipynb").read_text() == "new"
    assert (work / "01_b.ipynb").read_text() == "v1" and not (work / "01_b.updated.ipynb").exists()
    assert any("changed upstream" in d for d in done)
    assert student_work.sync(work, upstream) == []               # offered once
    (work / "00_a.updated.ipynb").write_text("merging by hand")   # the student works in the offered copy
    _lessons(upstream, **{"00_a": "v3"})
    done = student_work.sync(work, upstream)
    assert (work / "00_a.updated.ipynb").read_text() == "merging by hand" and "kept" in done[0]
    assert (work / "00_a.ipynb").read_text() == "my answers"


def test_regenerating_student_copies_never_touches_work(tmp_path, monkeypatch):
    import make_student_copies
    import student_work

    work = tmp_path / "work"
    student_work.sync(work)
    (work / "00_measuring_models.ipynb").write_text("my answers")
    before = {p.name: p.read_bytes() for p in work.iterdir()}
    make_student_copies.write_all(tmp_path / "student")
    assert {p.name: p.read_bytes() for p in work.iterdir()} == before
    assert "work" not in make_student_copies.STUDENT.parts[len(ROOT.parts):]
