"""What CPU and BLAS kernel this is (standard library only: course.py imports it before set-up)."""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# OpenBLAS kernels that every x86-64 CPU with these instruction-set flags can execute
KERNEL_NEEDS = {"Sandybridge": {"avx"}, "Haswell": {"avx2", "fma"}, "Zen": {"avx2", "fma"},
                "SkylakeX": {"avx512f", "avx512bw", "avx512dq", "avx512vl"}}


def cpu_flags():
    """Return the CPU's instruction-set flags (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((ln for ln in text.splitlines() if ln.startswith(("flags", "Features"))), "")
    return set(line.split(":", 1)[-1].split())


def runnable_kernels(flags=None):
    """Return the OpenBLAS kernel names of KERNEL_NEEDS that this CPU can execute."""
    flags = cpu_flags() if flags is None else flags
    return [k for k, need in KERNEL_NEEDS.items() if need <= flags]


def blas_kernel():
    """Return the kernel numpy's OpenBLAS uses in this environment (e.g. 'Haswell'), or None."""
    from threadpoolctl import threadpool_info

    import numpy  # noqa: F401  (loads numpy's OpenBLAS so threadpoolctl can see it)
    return next((i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"), None)


def recorded_kernels(paths=None):
    """Return the BLAS kernels the stored outputs were recorded with (notebook metadata, see execute)."""
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) if paths is None else paths
    return {json.loads(Path(p).read_text())["metadata"].get("course", {}).get("blas_kernel") for p in paths} - {None}
