"""course_lib.quantization.mx equals torchao's MXTensor.to_mx (FLOOR mode, CPU) and the OCP MX v1.0 rules."""
import numpy as np
import pytest

from course_lib.frameworks.torchao_bridge import MX_ELEMENTS as TORCHAO, torchao_mx
from course_lib.quantization import mx
from course_lib.quantization.minifloat import code_table


def _torchao(x, fmt):
    return torchao_mx(x, fmt, 32)


def _inputs(seed, kind):
    rng = np.random.default_rng(seed)
    x = {"gauss": lambda: rng.standard_normal((8, 256)),
         "laplace": lambda: rng.laplace(size=(8, 256)) * 1e-3,
         "wide": lambda: (rng.standard_normal((8, 8, 32)) * np.exp2(rng.integers(-100, 100, (8, 8, 1)))).reshape(8, 256),
         }[kind]()
    x = x.astype(np.float32)
    x[0, :32] = 0.0                                   # all-zero block: shared exponent -127
    x[0, 32:64] = rng.standard_normal(32) * 2.0 ** -130  # float32 subnormals in a block whose
    x[0, 32] = 2.0 ** -100                               # shared exponent stays above torchao's corner
    x[1, :32] = 448.0 * np.linspace(-1, 1, 32)        # max lands exactly on 448 / 7.5 / 6 ...
    x[1, 32:64] = 1.0                                 # amax a power of two
    x[1, 64:96] = np.float32(2.0) - np.float32(2.0 ** -23)  # amax just below a power of two
    x[2, :32] = np.arange(32) * 0.25                  # ties of the element grids
    return x


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", ["gauss", "laplace", "wide"])
@pytest.mark.parametrize("fmt", sorted(TORCHAO))
def test_mx_equals_torchao(seed, kind, fmt):
    x = _inputs(seed, kind)
    ref_codes, ref_scales, ref_hat = _torchao(x, fmt)
    codes, scales = mx.mx_quantize(x, fmt)
    np.testing.assert_array_equal(scales, ref_scales)
    np.testing.assert_array_equal(codes, ref_codes)
    np.testing.assert_array_equal(mx.mx_dequantize(codes, scales, fmt), ref_hat)


@pytest.mark.parametrize("fmt", sorted(TORCHAO))
def test_torchao_corner_below_2_to_minus_126(fmt):
    """torchao divides by max(2^-127, 2^-126) but multiplies back by 2^-127: rule='torchao'."""
    x = (np.random.default_rng(5).standard_normal((2, 32)) * 2.0 ** -128).astype(np.float32)
    ref_codes, ref_scales, ref_hat = _torchao(x, fmt)
    codes, scales = mx.mx_quantize(x, fmt, rule="torchao")
    assert np.all(scales == 0)  # shared exponent -127: the corner is exercised
    np.testing.assert_array_equal(codes, ref_codes)
    np.testing.assert_array_equal(mx.mx_dequantize(codes, scales, fmt), ref_hat)
    spec_codes, _ = mx.mx_quantize(x, fmt)
    assert not np.array_equal(spec_codes, codes)  # the documented difference


@pytest.mark.parametrize("fmt", sorted(mx.ELEMENTS))
def test_shared_exponent_is_the_spec_rule(fmt):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((4, 64)) * np.exp2(rng.uniform(-30, 30, (4, 1)))).astype(np.float32)
    amax = np.abs(x.reshape(4, 2, 32)).max(-1).astype(np.float64)
    expected = np.floor(np.log2(amax)).astype(int) - mx.EMAX[mx.ELEMENTS[fmt]]
    np.testing.assert_array_equal(mx.shared_exponent(x, fmt), expected)
    assert mx.shared_exponent(np.zeros(32), fmt)[0] == -127
    assert mx.shared_exponent(np.full(32, 3e38, np.float32), fmt)[0] == 127 - mx.EMAX[mx.ELEMENTS[fmt]]


@pytest.mark.parametrize("fmt", sorted(TORCHAO))
def test_elements_saturate_and_stay_on_the_grid(fmt):
    elem = mx.ELEMENTS[fmt]
    x = np.full((1, 32), 1.999, np.float32)  # block max rounds above the element's max: saturates
    x[0, 1] = -1.999
    hat = mx.mx_fake_quantize(x, fmt)
    top = np.nanmax(code_table(elem)[np.isfinite(code_table(elem))])
    X = 2.0 ** (0 - mx.EMAX[elem])
    assert hat[0, 0] == min(top, 2 ** (mx.EMAX[elem] + 1)) * X and hat[0, 1] == -hat[0, 0]


def test_mxint8_follows_the_spec():
    x = np.array([[1.0, -1.0, 0.5, 1.0 + 2 ** -7, 1.0 + 3 * 2 ** -7, 1.99, -1.99] + [0.0] * 25], np.float32)
    codes, scales = mx.mx_quantize(x, "mxint8")
    assert scales[0] == 127  # floor(log2 1.99) - 0 = 0
    assert codes[0, :7].tolist() == [64, -64, 32, 64, 66, 127, -127]  # 64.5 -> 64 and 65.5 -> 66: ties to even
    np.testing.assert_array_equal(mx.mx_dequantize(codes, scales, "mxint8")[0, :3], [1.0, -1.0, 0.5])
    assert mx.mx_bits_per_element("mxint8") == 8.25 and mx.mx_bits_per_element("mxfp4") == 4.25


@pytest.mark.parametrize("call, message", [
    (lambda: mx.mx_quantize(np.ones(30), "mxfp4"), "block_size must divide"),
    (lambda: mx.mx_quantize(np.ones(32), "mxfp3"), "fmt must be one of"),
    (lambda: mx.mx_quantize(np.full(32, np.nan), "mxfp4"), "x contains NaN"),
    (lambda: mx.mx_quantize(np.ones(32), "mxfp4", rule="ocp"), "rule must be one of"),
    (lambda: mx.shared_exponent(np.ones(32), "mxfp4", block_size=0), "block_size must be >= 1"),
    (lambda: mx.mx_dequantize(np.ones(32), np.ones(1, np.uint8), "mxfp4"), "codes must hold integers"),
    (lambda: mx.mx_dequantize(np.ones(32, np.uint8), np.ones(2, np.uint8), "mxfp4"), "scales must have shape"),
    (lambda: mx.mx_bits_per_element("fp8"), "fmt must be one of"),
    (lambda: mx.mx_fake_quantize(np.ones((2, 32)), "mxfp4", block_size=64), "block_size must divide"),
])
def test_errors_name_the_argument(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()
