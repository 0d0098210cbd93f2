"""Source notebooks are committed executed, in order, without errors, with the course's fixed names."""
import json
import re

import pytest
from nbtools import NOTEBOOKS, source_notebooks

SOURCES = source_notebooks()
NAMES = [p.stem for p in SOURCES]  # NN_snake_case, numbered 00, 01, ... without gaps
ROOT = NOTEBOOKS.parent


def test_notebook_names_are_numbered_lessons_without_gaps():
    assert SOURCES, "no lesson notebooks found"
    for name in NAMES:
        assert re.fullmatch(r"\d\d_[a-z0-9]+(_[a-z0-9]+)*", name), f"{name}: lesson notebooks are NN_snake_case"
    assert [int(n[:2]) for n in NAMES] == list(range(len(NAMES))), f"lesson numbers must run 00, 01, ...: {NAMES}"
    assert all(p in SOURCES for p in NOTEBOOKS.glob("*.ipynb")), "every notebook in notebooks/ is a numbered lesson"


@pytest.mark.parametrize("name", NAMES)
def test_every_lesson_has_its_checks_module_and_checker_tests(name):
    for path in (f"course_lib/checks/lesson{name[:2]}.py", f"tests/test_checks_lesson{name[:2]}.py"):
        assert (ROOT / path).exists(), f"{name}: {path} is missing (python3 course.py new-lesson scaffolds both)"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_committed_executed_in_order_without_errors(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    counts = [c["execution_count"] for c in code]
    assert None not in counts, f"{path.name}: some code cells were never executed"
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: not executed top to bottom in one run"
    assert not [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_widget_progress_bars_and_tf_through_course_lib(path):
    text = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    assert "tqdm.auto" not in text and "tqdm.notebook" not in text, "widgets break nbval: use tqdm(file=sys.stderr)"
    if "import tensorflow" in text:
        assert text.index("import course_lib") < text.index("import tensorflow"), \
            "import course_lib (which sets TF_USE_LEGACY_KERAS=1) before tensorflow"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_framework_log_noise_in_stored_outputs(path):
    """stderr may hold tqdm progress bars only: no TensorFlow/absl/oneDNN notices, no warnings."""
    bar = re.compile(r"^\s*$|\d+%\|.*\|")
    for cell in json.loads(path.read_text())["cells"]:
        for o in cell.get("outputs", []):
            if o.get("name") == "stderr":
                noisy = [ln for ln in "".join(o["text"]).replace("\r", "\n").split("\n") if not bar.search(ln)]
                assert not noisy, f"{path.name}: stderr noise in a stored output: {noisy[:2]}"


@pytest.mark.parametrize("path", SOURCES + sorted((NOTEBOOKS / "student").glob("[0-9][0-9]_*.ipynb")),
                         ids=lambda p: p.parent.name + "/" + p.name)
def test_kernelspec_is_what_jupyterlab_writes(path):
    """JupyterLab rewrites a kernelspec that differs from the kernel's own: opening a lesson must not change it."""
    from nbtools import KERNELSPEC

    assert json.loads(path.read_text())["metadata"]["kernelspec"] == KERNELSPEC
