"""Export lesson notebooks as reveal.js slide decks into slides/ (one HTML deck per lecture).

    python3 course.py slides                         # every lesson
    python3 course.py slides notebooks/02_*.ipynb    # just these

Cells carry RISE metadata (slide / subslide / fragment / skip), so the same notebook is presented
live in JupyterLab (jupyterlab-rise) and exported here. The HTML loads reveal.js from its CDN unless
you pass a local copy: REVEAL_PREFIX=path/to/reveal.js python3 course.py slides
"""
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtools import ROOT, source_notebooks  # noqa: E402

if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]] or source_notebooks()
    extra = [f"--SlidesExporter.reveal_url_prefix={os.environ['REVEAL_PREFIX']}"] if "REVEAL_PREFIX" in os.environ else []
    for p in paths:
        cmd = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "slides", str(p),
               "--output-dir", str(ROOT / "slides"), "--log-level=WARN", *extra]
        if subprocess.run(cmd).returncode != 0:
            sys.exit(f"export failed for {p}")
        print("wrote", (ROOT / "slides" / (p.stem + ".slides.html")).relative_to(ROOT))
