"""Without Chromium the browser tests are skipped loudly (how to install it, and how many); in CI they fail."""
import os
import subprocess
import sys

from nbtools import ROOT

TEST = "tests/test_browser_slides.py::test_speaker_view_shows_the_notes_offline"


def _run(**env):
    env = dict(os.environ, COURSE_CHROMIUM=str(ROOT / "no-such-chromium"), **env)
    return subprocess.run([sys.executable, "-m", "pytest", TEST, "-q"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_missing_chromium_is_a_counted_skip_that_says_how_to_install_it():
    done = _run(CI="")
    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 skipped" in done.stdout and "1 BROWSER TESTS SKIPPED" in done.stdout, done.stdout[-2000:]
    assert "apt-get install -y chromium" in done.stdout


def test_missing_chromium_fails_in_ci():
    done = _run(CI="true")
    assert done.returncode != 0 and "apt-get install -y chromium" in done.stdout, done.stdout[-2000:]
