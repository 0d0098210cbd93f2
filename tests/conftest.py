"""Shared test set-up: import path for tools/, and nbval ignores stderr (TF/torch chatter)."""
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import pytest  # noqa: E402

BROWSER_SKIPS = []


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives headless Chromium (Debian's `chromium`, via playwright)")


@pytest.fixture(scope="session")
def chromium_browser():
    """A headless Chromium for the browser tests: skipped loudly where it is missing, a failure in CI."""
    from browser import INSTALL, chromium, chromium_path

    if chromium_path() is None:
        msg = f"Chromium is missing, browser tests skipped: install it with `{INSTALL}`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{msg} (CI=true: a missing browser is a failure)", pytrace=False)
        BROWSER_SKIPS.append(msg)
        pytest.skip(msg)
    with chromium() as browser:
        yield browser


def pytest_runtest_logreport(report):
    if report.skipped and "Chromium is missing" in str(report.longrepr):
        BROWSER_SKIPS.append(report.nodeid)


def pytest_terminal_summary(terminalreporter):
    skipped = [s for s in BROWSER_SKIPS if "::" in s]
    if skipped:
        terminalreporter.write_sep("!", f"{len(skipped)} BROWSER TESTS SKIPPED: Chromium is missing; "
                                        "install it with `apt-get install -y chromium`", red=True, bold=True)
