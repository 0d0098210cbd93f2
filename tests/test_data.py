"""course_lib.data: the committed split regenerates byte for byte and is a clean stratified split."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from course_lib.data import DATA_DIR, digits_split_indices, load_digits_split, make_regression_task


def test_committed_split_regenerates_identically(tmp_path):
    sys.path.insert(0, str(DATA_DIR))
    import make_data

    out = make_data.write_digits_split(tmp_path / "split.json")
    assert out.read_bytes() == (DATA_DIR / "digits_split.json").read_bytes()


def test_split_is_disjoint_complete_and_stratified():
    idx = json.loads((DATA_DIR / "digits_split.json").read_text())
    all_idx = idx["train"] + idx["val"] + idx["test"]
    assert sorted(all_idx) == list(range(1797))
    s = load_digits_split()
    assert [len(a) for a in s] == [1078, 1078, 359, 359, 360, 360]
    assert s.X_train.min() >= 0 and s.X_train.max() <= 1 and s.X_train.dtype == np.float32
    for y in (s.y_train, s.y_val, s.y_test):
        shares = np.bincount(y, minlength=10) / len(y)
        assert np.all(np.abs(shares - 0.1) < 0.02)


def test_split_function_is_deterministic():
    assert digits_split_indices(seed=0) == digits_split_indices(seed=0)
    assert digits_split_indices(seed=0) != digits_split_indices(seed=1)


def test_regression_task_scaling_and_validation():
    X_tr, y_tr, X_va, y_va = make_regression_task(n_samples=200, n_features=10, n_informative=5)
    assert X_tr.shape == (160, 10) and X_va.shape == (40, 10)
    assert np.abs(np.concatenate([X_tr, X_va])).max(axis=0) == pytest.approx(np.ones(10))
    assert np.abs(np.concatenate([y_tr, y_va])).max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="n_informative must be <= n_features"):
        make_regression_task(n_features=5, n_informative=6)
