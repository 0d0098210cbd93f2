"""Regenerate every file in data/ (see data/README.md). Deterministic: run it twice, get the same bytes."""
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from course_lib.core.data import digits_split_indices# noqa: E402


def write_digits_split(path=HERE / "digits_split.json"):
    """Write the fixed stratified 60/20/20 split of scikit-learn's digits (indices into load_digits())."""
    path.write_text(json.dumps(digits_split_indices(seed=0), indent=0) + "\n")
    return path


if __name__ == "__main__":
    print("wrote", write_digits_split())
