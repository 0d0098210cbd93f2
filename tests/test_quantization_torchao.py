"""torchao's int8 configs on the course's MLP equal the numpy reference ptq.dynamic_forward."""
import numpy as np
import pytest

from course_lib.core import data, nn
from course_lib.quantization import ptq


def _mlp(seed):
    d = data.load_digits_split()
    m = nn.MLP([64, 32, 16, 10], activation="relu", seed=seed)
    nn.train(m, d.X_train, d.y_train, 3, lr=0.05, seed=seed)
    return m, d


@pytest.mark.torch
@pytest.mark.parametrize("seed", [0, 1])
def test_dynamic_int8_equals_torchao_exactly(seed):
    """Int8DynamicActivationInt8WeightConfig: same int8 weights and scales, same run-time activation
    quantization, an exact int32 product, then the same float32 products in the same order."""
    from course_lib.frameworks import torchao_bridge as TA

    m, d = _mlp(seed)
    seq = TA.quantize_mlp(m, "dynamic")
    X = np.concatenate([d.X_test, np.zeros((1, 64)), np.ones((1, 64)),
                        np.random.default_rng(seed).normal(0, 3, (20, 64))]).astype(np.float32)
    assert np.array_equal(TA.torchao_forward(seq, X), ptq.dynamic_forward(m, X))
    for (q_w, s_w), W in zip(TA.int8_weights(seq), m.W):
        q, s = ptq._rows_int8(W.astype(np.float32))
        assert np.array_equal(q_w, q) and np.array_equal(s_w, s)


@pytest.mark.torch
def test_weight_only_int8_equals_torchao_to_float32_rounding():
    """Int8WeightOnlyConfig multiplies float32 activations by the int8 weights in a float32 matmul,
    whose summation order differs between torch and numpy's BLAS: each output of a 64- or 32-term sum
    may differ by a few float32 ulps, so we allow 1e-5 of the largest output (eps32 = 1.2e-7)."""
    from course_lib.frameworks import torchao_bridge as TA

    m, d = _mlp(2)
    a, b = TA.torchao_forward(TA.quantize_mlp(m, "weight_only"), d.X_test), ptq.dynamic_forward(m, d.X_test, True)
    assert np.max(np.abs(a - b)) <= 1e-5 * np.max(np.abs(b))
    assert not np.allclose(b, m.forward(d.X_test), atol=1e-4)  # the weights really are int8


def test_dynamic_activation_scale_is_max_abs_over_127_5():
    x = np.array([[1.0, -2.55, 0.5]], dtype=np.float32)
    q, s = ptq._rows_int8(x)
    assert np.isclose(s[0], 2.55 / 127.5) and q.tolist() == [[50, -128, 25]]


@pytest.mark.torch
def test_import_torchao_is_quiet():
    """In a fresh interpreter (torchao logs only on its first import), nothing reaches stdout or stderr."""
    import subprocess
    import sys

    code = "from course_lib.frameworks import import_torchao; import_torchao()"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == "", r.stdout + r.stderr
