"""Root conftest (applies to tests/ and notebooks/): nbval ignores stderr; the slow marks; lessons
are collected with their student copy's checks (tools/nbval_student.py).

nbval compares stdout and rich outputs, but never stderr (log noise, progress bars).
`course.py test --fast` runs -m "not slow and not browser": nbval items, SLOW_FILES and SLOW_TESTS are slow.
`course.py test` runs pytest-xdist with --dist loadfile (if installed): every test stays on one worker with
the rest of its file, and a notebook's nbval cells stay together, in order, in one kernel.
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "tools"))
from nbval.plugin import IPyNbFile  # noqa: E402
from nbval_student import LessonNotebook, is_lesson  # noqa: E402

SLOW_FILES = {
    "test_start.py": "serves JupyterLab through course.py start",
    "test_grade.py": "runs generated submissions in fresh kernels",
    "test_browser_missing.py": "runs pytest twice in a subprocess",
    "test_scaffold.py": "runs new-lesson and pytest in a copy of the repository",
}
SLOW_TESTS = {"test_pip_install_works_outside_the_checkout": "pip-installs course_lib into a folder"}


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path, parent):
    """Collect each numbered lesson as a LessonNotebook: nbval's cells plus its student copy's checks."""
    found = yield
    if not is_lesson(file_path):
        return found
    return [LessonNotebook.from_parent(parent, path=file_path) if type(f) is IPyNbFile else f for f in found]


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)


def _long(item):
    return item.path.suffix == ".ipynb" or item.path.name in SLOW_FILES or item.path.name.startswith("test_browser")


def pytest_collection_modifyitems(config, items):
    """Mark as slow: nbval items, SLOW_FILES and SLOW_TESTS (the fast preset skips them). Then run the long
    files first: xdist hands out whole files in this order, so the many short ones fill the workers' gaps
    at the end instead of one worker finishing a lesson alone (a stable sort: each file stays in order)."""
    for item in items:
        name = getattr(item, "originalname", item.name)
        if item.path.suffix == ".ipynb" or item.path.name in SLOW_FILES or name in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: not _long(item))
