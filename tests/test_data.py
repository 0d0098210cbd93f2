"""course_lib.core.data: the committed split regenerates byte for byte and is a clean stratified split."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from course_lib.core.data import DATA_DIR, digits_split_indices, load_digits_arrays, load_digits_split, make_regression_task


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


def test_digits_read_without_scikit_learn_equal_its_loader_exactly():
    code = ("import sys; from course_lib.core.data import load_digits_split; load_digits_split(); "
            "assert 'sklearn' not in sys.modules, 'scikit-learn was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    from sklearn.datasets import load_digits

    data, target = load_digits_arrays()
    ref = load_digits()
    assert data.dtype == ref.data.dtype and target.dtype == ref.target.dtype
    assert np.array_equal(data, ref.data) and np.array_equal(target, ref.target)


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


def test_an_installed_package_without_data_dir_gets_the_same_split(monkeypatch, tmp_path):
    import course_lib.core.data as data

    committed = load_digits_split()
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)  # as after `pip install .`: no data/ folder beside it
    recomputed = data.load_digits_split()
    assert all(np.array_equal(a, b) for a, b in zip(committed, recomputed))


def test_pip_install_works_outside_the_checkout(tmp_path):
    """A real `pip install` of the package (no network, no dependencies) loads the split elsewhere."""
    root = Path(__file__).resolve().parent.parent
    src, target = tmp_path / "src", tmp_path / "site"  # build from a copy: no build/ left in the checkout
    shutil.copytree(root / "course_lib", src / "course_lib", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, src / name)
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                        "--target", str(target), str(src)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert not (target / "data").exists()
    code = ("import course_lib.core.data as d, pathlib; s = d.load_digits_split(); "
            "print(len(s.X_train), pathlib.Path(d.__file__).is_relative_to(%r))" % str(root))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(target)})
    assert out.stdout.split() == ["1078", "False"], out.stderr[-2000:]
