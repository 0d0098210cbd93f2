"""Source notebooks are committed executed, in order, without errors, with the course's fixed names."""
import json

import pytest
from nbtools import NOTEBOOKS, source_notebooks

NAMES = ["00_measuring_models", "01_decision_tree_pruning", "02_sparsity_and_masks",
         "03_optimal_brain_damage", "04_optimal_brain_surgeon", "05_magnitude_pruning",
         "06_gradual_pruning", "07_quantization_basics", "08_post_training_quantization",
         "09_quantization_aware_training", "10_knowledge_distillation", "11_capstone",
         "13_quantizing_transformers"]
SOURCES = source_notebooks()


def test_notebook_names_are_the_course_names():
    assert SOURCES, "no lesson notebooks found"
    for p in SOURCES:
        assert p.stem in NAMES, f"{p.name} is not one of the course's fixed lesson names"
    assert not list(NOTEBOOKS.glob("*.ipynb")) or all(p in SOURCES for p in NOTEBOOKS.glob("*.ipynb"))


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
    import re
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
