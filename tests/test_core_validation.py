"""Bad input gets an error that names the argument and the allowed values."""
import numpy as np
import pytest

from course_lib.coding import weight_sharing
from course_lib.core import measure, validation
from course_lib.distillation import kd
from course_lib.quantization import primitives, qat
from course_lib.pruning.masks import apply_mask, block_mask, global_magnitude_masks, magnitude_mask, structured_mask
from course_lib.pruning.schedules import ConstantSparsity, PolynomialDecay, zhu_gupta_sparsity
from course_lib.pruning.sparsity import sparsity, sparsity_report

W = np.arange(12.0).reshape(3, 4)


@pytest.mark.parametrize("call, match", [
    (lambda: magnitude_mask(W, 1.5), r"sparsity must be in \[0.0, 1.0\], got 1.5"),
    (lambda: magnitude_mask(W, -0.1), r"sparsity must be in \[0.0, 1.0\]"),
    (lambda: magnitude_mask(W, 0.5, rule="keras"), r"rule must be one of \['tfmot', 'torch'\]"),
    (lambda: magnitude_mask([1.0, np.nan], 0.5), r"w contains NaN"),
    (lambda: magnitude_mask([], 0.5), r"w must not be empty"),
    (lambda: structured_mask(W, 0.5, axis=2), r"axis must be in \[-2, 1\] for a 2-d array, got 2"),
    (lambda: structured_mask(np.ones(4), 0.5), r"at least 2 dimensions"),
    (lambda: structured_mask(W, 0.5, p=0), r"p must be a positive number"),
    (lambda: block_mask(W, 0.5, (0, 2)), r"block_shape must be a pair of positive integers"),
    (lambda: block_mask(W, 0.5, (2, 2), pooling="min"), r"pooling must be one of \['avg', 'max'\]"),
    (lambda: block_mask(np.ones((2, 2, 2)), 0.5, (1, 1)), r"2-dimensional"),
    (lambda: apply_mask(W, np.ones((4, 3), bool)), r"mask must have the shape of w \(3, 4\)"),
    (lambda: apply_mask(W, np.full((3, 4), 2)), r"mask must be boolean"),
    (lambda: global_magnitude_masks({}, 0.5), r"weights must hold at least one array"),
    (lambda: global_magnitude_masks({"fc1": [np.inf]}, 0.5), r"weights\['fc1'\] contains NaN or infinity"),
    (lambda: PolynomialDecay(0.0, 0.5, begin_step=-1, end_step=10), r"begin_step must be >= 0, got -1"),
    (lambda: PolynomialDecay(0.0, 0.5, 10, 5), r"end_step must be -1 or >= begin_step=10, got 5"),
    (lambda: PolynomialDecay(0.0, 0.5, 0, -1), r"-1 \(prune forever\) is allowed only for ConstantSparsity"),
    (lambda: PolynomialDecay(0.0, 0.5, 3, 3), r"end_step must be > begin_step=3"),
    (lambda: PolynomialDecay(0.0, 1.0, 0, 10), r"final_sparsity must be in \[0.0, 1.0\), got 1.0"),
    (lambda: ConstantSparsity(0.5, 0, frequency=0), r"frequency must be >= 1, got 0"),
    (lambda: ConstantSparsity(0.5, 0)(-3), r"step must be >= 0, got -3"),
    (lambda: zhu_gupta_sparsity(-1, 0.0, 0.9, 0, 10, 5), r"t must be a non-negative integer"),
    (lambda: sparsity("abc"), r"x must hold numbers"),
    (lambda: sparsity_report([W]), r"params must be a non-empty mapping"),
    (lambda: measure.model_bytes(10, "int3"), r"fmt must be one of"),
    (lambda: measure.dense_macs([64]), r"sizes must list at least an input and an output"),
    (lambda: measure.conv2d_macs(3, 8, 3, 3, 4, 4, groups=2), r"groups must divide c_in=3"),
    # silent wrong results before issue 18
    (lambda: kd.soft_cross_entropy([[2.0, 2.0]], [[0.0, 1.0]]), r"p must hold probabilities .* row sums in \[4, 4\]"),
    (lambda: kd.soft_cross_entropy([[1.5, -0.5]], [[0.0, 1.0]]), r"p must hold probabilities .* minimum -0.5"),
    (lambda: kd.bias_correction(np.zeros((2, 3)), 1, np.nan), r"delta must be in \(-inf, inf\), got nan"),
    (lambda: weight_sharing.compression_rate(1000, 33), r"bits must be in \[1, 16\], got 33"),
    (lambda: qat.allocate_bits([10, 20], np.zeros((2, 2)), [2, 33], 1000), r"choices must be in \[2, 16\], got 33"),
])
def test_errors_name_the_argument_and_the_allowed_values(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_zhu_gupta_formula_at_its_end_points_and_middle():
    assert zhu_gupta_sparsity(0, 0.0, 0.9, 0, 10, 5) == 0.0
    assert zhu_gupta_sparsity(50, 0.0, 0.9, 0, 10, 5) == pytest.approx(0.9)
    assert zhu_gupta_sparsity(25, 0.0, 0.9, 0, 10, 5) == pytest.approx(0.9 * (1 - 0.5 ** 3))
    assert np.allclose(zhu_gupta_sparsity(np.array([0, 100]), 0.1, 0.5, 0, 4, 5), [0.1, 0.5])


def test_measure_counts():
    assert measure.count_params({"a": np.zeros((3, 4)), "b": np.ones(5)}) == 17
    assert measure.count_params({"a": np.zeros((3, 4)), "b": np.ones(5)}, nonzero_only=True) == 5
    assert measure.model_bytes(1000, "int4") == 500 and measure.model_bytes(3, "float32") == 12
    assert measure.dense_macs([64, 32, 10]) == 64 * 32 + 32 * 10
    assert measure.conv2d_macs(4, 8, 3, 3, 5, 5, groups=2) == 8 * 25 * 2 * 9
    t = measure.time_it(lambda: None, warmup=0, repeat=5)
    assert len(t.samples) == 5 and t.median >= 0 and "runs" in repr(t)
    assert [measure.format_seconds(x) for x in (2.5, 0.00123, 4.5e-6, 3e-9)] == ["2.50 s", "1.23 ms", "4.50 µs", "3.00 ns"]


def test_one_bits_range():
    assert validation.MAX_BITS == 16
    assert primitives.q_range(16) == (-2 ** 15, 2 ** 15 - 1) and weight_sharing.codebook_bits(4, 16) == 4 * 16 + 2 ** 16 * 32
    for call in (lambda: primitives.q_range(17), lambda: weight_sharing.compression_rate(10, 17),
                 lambda: qat.allocate_bits([1], np.zeros((1, 1)), [17], 100)):
        with pytest.raises(ValueError, match=r"must be in \[\d, 16\], got 17"):
            call()
    with pytest.raises(ValueError, match=r"bits must be in \[2, 16\], got 1"):  # a signed grid needs two bits
        primitives.q_range(1)
    assert weight_sharing.compression_rate(10, 1) > 0  # one bit indexes two shared values


def test_one_log_softmax_and_one_temperature_check():
    from course_lib.core import nn

    assert kd.log_softmax is nn.log_softmax and kd.softmax is nn.softmax
    z = np.random.default_rng(0).normal(size=(4, 5)) * 30
    np.testing.assert_array_equal(np.exp(nn.log_softmax(z, 3.0)), np.exp(nn.log_softmax(z, 3.0)))
    np.testing.assert_allclose(np.exp(nn.log_softmax(z, 3.0)), nn.softmax(z, 3.0), rtol=1e-12)
    y = np.array([0, 1, 2, 3])  # kd_loss's fused hard term (alpha = 0) is log_softmax's cross-entropy
    assert abs(kd.kd_loss(z, z, y, T=2.0, alpha=0.0) + np.mean(nn.log_softmax(z)[np.arange(4), y])) < 1e-12
    for T in (0, -1.0, np.nan, True):
        for f in (nn.softmax, nn.log_softmax, lambda z, T: kd.kd_loss_fn(T)):
            with pytest.raises((TypeError, ValueError), match="T must be a finite number > 0"):
                f(z, T)


def test_only_the_outermost_call_is_checked():
    """A checked function's own calls of checked functions are not checked again; top-level calls are."""
    from course_lib.core.validation import Real, validate

    seen = []

    class Counted(Real):
        def check(self, x, name):
            seen.append(name)
            return super().check(x, name)

    @validate(x=Counted())
    def inner(x):
        return x

    @validate(y=Counted())
    def outer(y):
        return inner(y) + inner(y)

    @validate(z=Counted())
    def fails(z):
        raise RuntimeError("body failed")

    assert outer(1.0) == 2.0 and seen == ["y"]
    with pytest.raises(ValueError, match="^x must be"):
        inner(float("nan"))                       # called from outside: checked
    with pytest.raises(RuntimeError):
        fails(1.0)
    with pytest.raises(TypeError, match="^x must be"):
        inner("a")                                # a body that raised leaves checking on
