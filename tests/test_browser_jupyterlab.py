"""JupyterLab as a new student meets it: `course.py start`, lesson 00 in the work folder, an exercise.

The server runs on a free port with a token and no browser; its work folder (COURSE_WORK) is a
temporary folder, so the repository stays clean. Headless Chromium (Debian's, driven by playwright)
then: opens the URL `start` printed (the work copy of lesson 00), runs its first cells, writes a wrong
and then a right answer to exercise 0.1, reads the checker's verdicts, and saves: the answer lands in
the work copy, the tracked student copy is unchanged. Screenshots go to build/test-artifacts/jupyterlab/.
(Live RISE is not part of the course's flow: present from the exported decks, slides/README.md.)
"""
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from nbtools import ROOT

pytestmark = pytest.mark.browser
NOTEBOOK = "work/00_measuring_models.ipynb"   # below the temporary root: the student's work copy
ARTIFACTS = ROOT / "build" / "test-artifacts" / "jupyterlab"
WRONG = "def mlp_params_ex(sizes):\n    return sum(a * b for a, b in zip(sizes, sizes[1:]))\n"
RIGHT = "def mlp_params_ex(sizes):\n    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))\n"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Serve JupyterLab through `course.py start` on a copy of the student notebook; yield its base URL and token."""
    tmp = tmp_path_factory.mktemp("lab")
    port, token = _free_port(), "course-walkthrough"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTER_CONFIG_DIR=str(tmp / "config"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp / "user-settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
               COURSE_WORK=str(tmp / "work"))
    proc = subprocess.Popen([sys.executable, "course.py", "start", "--no-browser", f"--port={port}",
                             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
                break
            except OSError:
                assert proc.poll() is None, f"course.py start exited with code {proc.returncode}"
                time.sleep(0.5)
        else:
            raise AssertionError("JupyterLab did not answer within 120 s")
        yield base, token, tmp
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def _cell(page, text):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").filter(has_text=text).first


def _output(cell):
    return cell.locator(".jp-OutputArea-output")


def _type_into(page, cell, code):
    cell.locator(".cm-content").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(code)


def test_student_runs_cells_answers_an_exercise_and_the_work_is_saved_in_work(chromium_browser, lab):
    base, token, tmp = lab
    tracked = (ROOT / "notebooks" / "student" / "00_measuring_models.ipynb").read_bytes()
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    external, errors, failed = [], [], []
    context.on("request", lambda r: None if r.url.startswith((base, "data:", "blob:", "about:"))
               else external.append(r.url))
    context.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60000)
        page.locator(".jp-StatusBar-Widget", has_text="| Idle").first.wait_for(timeout=120000)  # kernel started
        # the news pop-up is switched off by the course's settings: nothing covers the notebook
        assert page.locator(".jp-toast-message, .jp-Notification-Toast").count() == 0

        setup = _cell(page, "from course_lib.core.data import load_digits_split")
        setup.click()
        page.keyboard.press("Shift+Enter")  # run the set-up cell
        _output(setup).filter(has_text="train / val / test:").first.wait_for(timeout=120000)
        first_model = _cell(page, "model = trained_mlp(seed=0")
        first_model.click()
        page.keyboard.press("Shift+Enter")  # train the running example (a few seconds)
        _output(first_model).filter(has_text="test accuracy:").first.wait_for(timeout=120000)
        progress = _cell(page, "from tqdm import tqdm")
        progress.click()
        page.keyboard.press("Shift+Enter")  # three seeds with a tqdm progress bar on stderr
        _output(progress).filter(has_text="sparsity 0.95: test accuracy").first.wait_for(timeout=180000)
        bar = progress.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").first
        background = bar.evaluate("e => getComputedStyle(e).backgroundColor")
        assert background != "rgb(255, 221, 221)", "tqdm's progress bar is shown in a pink error box"
        _shot(page, "01_first_cells.png")

        exercise, check = _cell(page, 'raise NotImplementedError("Exercise 0.1")'), _cell(page, "check_mlp_params(")
        for code, verdict in ((WRONG, "✗ Exercise 0.1"), (RIGHT, "✓ Exercise 0.1 passed")):
            if code is RIGHT:
                exercise = _cell(page, "def mlp_params_ex(sizes):")
            _type_into(page, exercise, code)
            page.keyboard.press("Shift+Enter")  # define the function, move to the check cell
            check.click()
            page.keyboard.press("Shift+Enter")  # run the checker
            _output(check).filter(has_text=verdict).first.wait_for(timeout=60000)
            shown = _output(check).inner_text()
            if code is WRONG:
                assert "Hint:" in shown and "biases" in shown, f"the wrong answer got no useful hint: {shown!r}"
                _shot(page, "02_wrong_answer.png")
        _shot(page, "03_right_answer.png")

        page.keyboard.press("ControlOrMeta+s")  # save: into the work folder
        for _ in range(60):
            if "sum(a * b + b" in (tmp / NOTEBOOK).read_text():
                break
            page.wait_for_timeout(500)
        assert "sum(a * b + b" in (tmp / NOTEBOOK).read_text(), "the answer was not saved into work/"
        assert (ROOT / "notebooks" / "student" / "00_measuring_models.ipynb").read_bytes() == tracked
    except Exception:
        _shot(page, "failed.png")
        raise
    finally:
        context.close()
    assert errors == [], f"JavaScript errors in JupyterLab: {errors[:3]}"
    assert external == [], f"requests that leave the machine (they fail offline): {sorted(set(external))}"
    assert failed == [], f"requests that failed: {failed[:3]}"
