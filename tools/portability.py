"""Re-run the notebooks under other BLAS kernels, thread counts and torch CPU dispatch levels.

    python3 course.py portability                      # every source notebook, every setting
    python3 course.py portability notebooks/03_*.ipynb # just these

A notebook's stored outputs must not depend on the CPU that recorded them. Each setting re-runs the
notebooks with nbval (the same comparison as `course.py test`) under other environment variables:

    OPENBLAS_CORETYPE      which OpenBLAS kernels numpy's and scipy's OpenBLAS use (Haswell, SkylakeX,
                           Zen, Sandybridge); different kernels round matrix products differently
    OMP_NUM_THREADS,       how many threads OpenBLAS, OpenMP and torch use (1 or 2)
    OPENBLAS_NUM_THREADS,
    MKL_NUM_THREADS
    ATEN_CPU_CAPABILITY    the highest instruction set torch's own kernels dispatch to (avx2, default)

A kernel this CPU cannot execute (SkylakeX needs AVX-512) is skipped with the reason printed.
Prints one line per setting and exits non-zero if any setting failed. See docs/portability.md.
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtools import ROOT, cpu_flags, runnable_kernels, source_notebooks  # noqa: E402

KERNELS = ["Haswell", "SkylakeX", "Zen", "Sandybridge"]  # Sandybridge: no FMA, rounds differently
THREADS = [1, 2]


def settings():
    """Yield (label, extra environment) for every setting of the portability check."""
    for kernel in KERNELS:
        for n in THREADS:
            yield f"OPENBLAS_CORETYPE={kernel}, {n} thread(s)", {
                "OPENBLAS_CORETYPE": kernel, "OMP_NUM_THREADS": str(n), "OPENBLAS_NUM_THREADS": str(n),
                "MKL_NUM_THREADS": str(n)}
    yield "ATEN_CPU_CAPABILITY=avx2", {"ATEN_CPU_CAPABILITY": "avx2"}


def main(paths):
    paths = [str(p) for p in paths] or [str(p.relative_to(ROOT)) for p in source_notebooks()]
    ok, flags = True, cpu_flags()
    for label, extra in settings():
        kernel = extra.get("OPENBLAS_CORETYPE")
        if kernel and kernel not in runnable_kernels(flags):
            print(f"SKIP  {label}: this CPU cannot run the {kernel} kernels (needs AVX-512)", flush=True)
            continue
        if extra.get("ATEN_CPU_CAPABILITY") == "avx2" and "avx2" not in flags:
            print(f"SKIP  {label}: this CPU has no AVX2", flush=True)
            continue
        t0 = time.perf_counter()
        env = dict(os.environ, **extra, COURSE_KEEP_BLAS="1")
        r = subprocess.run([sys.executable, str(ROOT / "course.py"), "test", "-q", *paths],
                           cwd=ROOT, env=env, capture_output=True, text=True)
        last = (r.stdout.strip().splitlines() or ["(no output)"])[-1]
        print(f"{'PASS' if r.returncode == 0 else 'FAIL'}  {label}: {last} ({time.perf_counter() - t0:.0f} s)",
              flush=True)
        if r.returncode != 0:
            ok = False
            print("\n".join(line for line in r.stdout.splitlines() if line.startswith("FAILED")), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="course.py portability", description=__doc__.split("\n")[0], allow_abbrev=False)
    p.add_argument("paths", nargs="*", metavar="NOTEBOOK", help="default: every source notebook")
    sys.exit(main(p.parse_args().paths))
