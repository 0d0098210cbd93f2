"""Execute notebooks with the current environment (shared by execute, benchmark and tests)."""
import os
import subprocess
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from cpu import blas_kernel, cpu_flags, recorded_kernels, runnable_kernels  # noqa: F401 (re-exported)

ROOT = Path(__file__).resolve().parent.parent
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
NOTEBOOKS = ROOT / "notebooks"


def source_notebooks():
    """Return the numbered source notebooks, in course order."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def execute(path, write=False, timeout=600):
    """Run a notebook top to bottom in its folder; return (notebook, seconds). Write back if asked."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    client.execute(stderr=subprocess.DEVNULL)  # the kernel process's own log lines, not cell outputs
    seconds = time.perf_counter() - t0
    if write:
        nb.metadata.setdefault("course", {})["blas_kernel"] = blas_kernel()  # which kernel recorded the outputs
        nb.metadata["kernelspec"] = dict(KERNELSPEC)  # as JupyterLab writes it: opening must not change the file
        nbformat.write(nb, path)
    return nb, seconds


def error_outputs(nb):
    """Return the error outputs stored in a notebook."""
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if o.get("output_type") == "error"]
