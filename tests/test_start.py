"""The README's start command really serves JupyterLab, with the slide extension, on lesson 00."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.read()


def test_start_serves_jupyterlab_on_lesson_00(tmp_path):
    port, token = _free_port(), "course-test"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"))
    proc = subprocess.Popen([sys.executable, "course.py", "start", "--no-browser", f"--port={port}",
                             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # as root too
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
        status, body = _get(f"{base}/api/contents/notebooks/student/00_measuring_models.ipynb?content=0&token={token}")
        assert status == 200 and json.loads(body)["type"] == "notebook"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    with socket.socket() as s:  # stopping the command stops the server (no orphaned JupyterLab)
        assert s.connect_ex(("127.0.0.1", port)) != 0, "JupyterLab still serves after the start command ended"


def test_slide_extension_is_installed():
    out = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True, text=True)
    listing = out.stdout + out.stderr
    assert "jupyterlab-rise" in listing and "enabled" in listing


def test_start_opens_the_student_copy_not_the_solutions():
    sys.path.insert(0, str(ROOT))
    import course

    assert course.FIRST == "notebooks/student/00_measuring_models.ipynb" and (ROOT / course.FIRST).exists()
    assert "BEGIN SOLUTION" not in (ROOT / course.FIRST).read_text()


def test_start_switches_off_the_news_pop_up():
    sys.path.insert(0, str(ROOT))
    import course

    course._lab_settings()
    settings = json.loads((course.VENV / "share/jupyter/lab/settings/overrides.json").read_text())
    assert settings["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
