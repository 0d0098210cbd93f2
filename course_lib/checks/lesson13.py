"""Checkers for lesson 13 (quantizing transformers: low-bit floats, MX blocks, SmoothQuant).

References come from course_lib.quantization.{minifloat, mx, outliers}; the wrong answers below are the
known mistakes the verdicts name, and tests/test_checks_lesson13.py uses the same functions as mutants.
"""
import numpy as np

from ..quantization import minifloat, mx, outliers
from ._core import Case, Mistake, allclose, exact, run_checks

E4M3_MAX = 448.0
EMAX_FORMAT = {8: "mxfp8_e4m3", 15: "mxfp8_e5m2", 4: "mxfp6_e3m2", 2: "mxfp4", 0: "mxint8"}


# --- 13.1: E4M3 encoding. The reference and a configurable wrong encoder (the mutants).
def e4m3_reference(x):
    """The reference of exercise 13.1: E4M3 codes, ties to even, saturating at +-448, NaN -> 0x7F."""
    return minifloat.float_encode(np.asarray(x, dtype=np.float64), "e4m3", saturate=True)


def _e4m3_variant(x, rounding="even", saturate=True, subnormals=True, zero_sign=True, max_val=E4M3_MAX):
    """E4M3 codes written a second way, with one rule switched: the known wrong answers of 13.1."""
    x = np.asarray(x, dtype=np.float64)
    sign = np.signbit(x) if zero_sign else (x < 0)
    nan = np.isnan(x)
    a = np.where(nan, 0.0, np.minimum(np.abs(x), 1e300))
    _, e = np.frexp(np.where(a > 0, a, 1.0))
    u = np.ldexp(1.0, np.maximum(e - 1, -6) - 3)          # the spacing of the binade (subnormals: 2^-9)
    r = {"even": np.rint, "away": lambda t: np.floor(t + 0.5), "trunc": np.floor}[rounding](a / u) * u
    if not subnormals:
        r = np.where(a < 2.0 ** -6, 0.0, r)
    over = r > max_val
    r = np.minimum(r, max_val)
    _, e = np.frexp(np.where(r > 0, r, 1.0))
    normal = r >= 2.0 ** -6
    E = np.where(normal, e - 1, -6)
    man = np.rint(np.where(normal, r / np.ldexp(1.0, E) - 1.0, r / 2.0 ** -6) * 8).astype(np.int64)
    code = (np.where(normal, E + 7, 0).astype(np.int64) << 3) | man
    if not saturate:
        code = np.where(over, 0x7F, code)
    code = code | (sign.astype(np.int64) << 7)
    return np.where(nan, 0x7F, code).astype(np.uint8)


def e4m3_half_away(x):                      # np.round(x + 0.5)-style rounding: halves away from zero
    return _e4m3_variant(x, rounding="away")


def e4m3_truncate(x):                       # int() / floor on the mantissa: rounds towards zero
    return _e4m3_variant(x, rounding="trunc")


def e4m3_no_saturation(x):                  # overflow -> NaN (ml_dtypes' cast), not +-448
    return _e4m3_variant(x, saturate=False)


def e4m3_flush_subnormals(x):               # values below 2^-6 flushed to zero
    return _e4m3_variant(x, subnormals=False)


def e4m3_ieee_max(x):                       # the IEEE-style E4M3 (all-ones exponent reserved): max 240
    return _e4m3_variant(x, max_val=240.0)


def e4m3_zero_sign(x):                      # the sign bit from x < 0: -0.0 becomes +0.0
    return _e4m3_variant(x, zero_sign=False)


def e4m3_via_float32(x):                    # cast to float32 first: two roundings
    return e4m3_reference(np.asarray(x, dtype=np.float64).astype(np.float32))


def e4m3_int64(x):                          # the right codes in the wrong dtype
    return e4m3_reference(x).astype(np.int64)


def _uint8_codes(expected, got):
    """Compare codes exactly, then require dtype uint8 (a code is one byte)."""
    why = exact(expected, got)
    if why is None and got.dtype != np.uint8:
        return f"the right codes, but dtype {got.dtype}: the task asks for dtype uint8"
    return why


def _e4m3_cases():
    table = minifloat.code_table("e4m3").astype(np.float64)
    finite = table[np.isfinite(table)]                    # 254 values, -0.0 included
    pos = np.unique(finite[finite > 0])
    mids = (pos[:-1] + pos[1:]) / 2                        # exact in float64
    tie = "a value exactly halfway between two codes goes to the code whose last mantissa bit is 0 (even)"
    return [
        Case("every representable value (254 codes)", (finite,), hint="a representable value must give its own code"),
        Case("exact midpoints between neighbouring values", (np.concatenate([mids, -mids]),), hint=tie),
        Case("just above and below midpoints", (np.concatenate([mids * (1 + 2.0 ** -20), mids * (1 - 2.0 ** -20)]),),
             hint="round to the NEAREST code: only exact halves are ties"),
        Case("overflow and infinities", (np.array([448.0, 449.0, 464.0, 500.0, 1e6, np.inf, -np.inf, -1e6]),),
             hint="every |x| that rounds above 448, and +-inf, must saturate to +-448 (0x7E / 0xFE)"),
        Case("subnormals (below 2^-6)", (np.array([2.0 ** -9, 2.0 ** -10, 3 * 2.0 ** -10, 1e-3, 7e-3, -2.0 ** -8, 1e-5]),),
             hint="below 2^-6 the exponent field is 0 and the value is 2^-6 * F / 8: keep subnormals, "
                  "ties to even (2^-10 -> 0)"),
        Case("NaN", (np.array([np.nan, 1.0, np.nan]),), hint="NaN gives 0x7F (S.1111.111 with S = 0)"),
        Case("one rounding from float64: 17 + 2^-30", (np.array([17.0 + 2.0 ** -30, 19.0 - 2.0 ** -30, 0.0]),),
             hint="round once from the float64 input: 17 + 2^-30 is above the midpoint 17, so it rounds to 18"),
        Case("a 2-d array of weights", (np.random.default_rng(13).normal(0, 30, (4, 8)),),
             hint="return an array of the input's shape"),
    ]


def check_e4m3_encode(fn):
    """Exercise 13.1: the uint8 code of E4M3(x): nearest, ties to even, saturating at +-448, NaN 0x7F."""
    mistakes = [Mistake(e4m3_half_away, "halves must round to EVEN (the code whose last mantissa bit is 0), "
                                        "not away from zero: 17 -> 16, 19 -> 20"),
                Mistake(e4m3_truncate, "that rounds towards zero: round to the NEAREST code"),
                Mistake(e4m3_no_saturation, "overflow must SATURATE to +-448 (the MX spec's conversion), not give NaN"),
                Mistake(e4m3_flush_subnormals, "keep subnormals: below 2^-6 the exponent field is 0 and the value "
                                               "is 2^-6 * F / 8"),
                Mistake(e4m3_ieee_max, "E4M3 (fn) has no infinities: exponent 1111 holds numbers up to 448 "
                                       "(only S.1111.111 is NaN), so the largest value is 448, not 240"),
                Mistake(e4m3_zero_sign, "-0.0 keeps its sign: its code is 0x80 (use np.signbit, not x < 0)"),
                Mistake(e4m3_via_float32, "round once, from the float64 input: casting to float32 first rounds twice"),
                Mistake(e4m3_int64, "the task asks for dtype uint8 (one byte per code)")]
    return run_checks(fn, e4m3_reference, _e4m3_cases(), "13.1", compare=_uint8_codes, mistakes=mistakes)


# --- 13.2: the shared E8M0 exponent of an MX block.
def shared_exponent_reference(block, emax_elem):
    """The reference of exercise 13.2: clamp(floor(log2 max|V|) - emax_elem, -127, 127); all zeros: -127."""
    block = np.asarray(block, dtype=np.float32)
    return int(mx.shared_exponent(block[None], EMAX_FORMAT[emax_elem], block.size)[0, 0])


def _amax(block):
    return float(np.max(np.abs(np.asarray(block, dtype=np.float64))))


def exponent_ceil(block, emax_elem):
    a = _amax(block)
    return -127 if a == 0 else max(int(np.ceil(np.log2(a))) - emax_elem, -127)


def exponent_round(block, emax_elem):
    a = _amax(block)
    return -127 if a == 0 else max(int(np.round(np.log2(a))) - emax_elem, -127)


def exponent_signed_max(block, emax_elem):   # max(V) instead of max |V|
    a = float(np.max(np.asarray(block, dtype=np.float64)))
    return -127 if a <= 0 else max(int(np.floor(np.log2(a))) - emax_elem, -127)


def exponent_no_emax(block, emax_elem):
    a = _amax(block)
    return -127 if a == 0 else max(int(np.floor(np.log2(a))), -127)


def exponent_plus_emax(block, emax_elem):
    a = _amax(block)
    return -127 if a == 0 else max(int(np.floor(np.log2(a))) + emax_elem, -127)


def exponent_no_clamp(block, emax_elem):
    a = _amax(block)
    return -127 if a == 0 else int(np.floor(np.log2(a))) - emax_elem


def exponent_float32_log2(block, emax_elem):  # np.log2 in float32 rounds log2(15.999999) to 4.0
    a = np.max(np.abs(np.asarray(block, dtype=np.float32)))
    return -127 if a == 0 else max(int(np.floor(np.log2(a))) - emax_elem, -127)


def exponent_float(block, emax_elem):
    return float(shared_exponent_reference(block, emax_elem))


def check_shared_exponent(fn):
    """Exercise 13.2: the unbiased shared exponent of one MX block (OCP MX v1.0, sec. 6.3), an int."""
    rng = np.random.default_rng(132)
    typical = rng.normal(0, 0.05, 32).astype(np.float32)
    neg = np.full(32, 0.5, np.float32)
    neg[7] = -5.0
    pow2 = np.linspace(-4, 4, 32).astype(np.float32)
    hint = "shared_exp = floor(log2(max_i |V_i|)) - emax_elem, clamped to [-127, 127]"
    cases = [Case("a block of weights, E4M3 elements (emax 8)", (typical, 8), hint=hint),
             Case("the largest magnitude is negative (E2M1, emax 2)", (neg, 2), hint="use max |V_i|, the magnitude"),
             Case("max |V| = 6: floor, not round or ceil (E2M1)", (np.array([6.0, -1.0, 0.5, 2.0], np.float32), 2),
                  hint="log2(6) = 2.58: FLOOR gives 2"),
             Case("max |V| exactly a power of two (E5M2, emax 15)", (pow2, 15), hint=hint),
             Case("max |V| just below 1 (0.99999994, E3M2, emax 4)", (np.array([0.99999994, 0.25], np.float32), 4),
                  hint="floor(log2(0.99999994)) is -1: compute the floor exactly (np.frexp, or np.log2 in float64)"),
             Case("max |V| just below 16 (15.999999, E2M1, emax 2)", (np.array([-15.999999, 3.0], np.float32), 2),
                  hint="floor(log2(15.999999)) is 3: compute the floor exactly (np.frexp, or np.log2 in float64)"),
             Case("an all-zero block", (np.zeros(32, np.float32), 8), hint="the task says: an all-zero block gives -127"),
             Case("a tiny block: clamp at -127 (MXINT8, emax 0)", (np.full(8, 1e-39, np.float32), 0),
                  hint="floor(log2(1e-39)) = -130: clamp the result to [-127, 127]"),
             Case("a large block (E4M3)", (np.array([3e38, -1.0], np.float32), 8), hint=hint)]
    mistakes = [Mistake(exponent_ceil, "that is ceil(log2 max|V|): the spec takes the FLOOR"),
                Mistake(exponent_round, "that rounds log2 max|V| to nearest: the spec takes the FLOOR"),
                Mistake(exponent_signed_max, "use the largest MAGNITUDE max |V_i|, not the largest signed value"),
                Mistake(exponent_no_emax, "subtract emax_elem, the element format's largest exponent"),
                Mistake(exponent_plus_emax, "SUBTRACT emax_elem (the block's largest value must land in the "
                                            "element's top binade), do not add it"),
                Mistake(exponent_no_clamp, "clamp the shared exponent to [-127, 127] (E8M0's range)"),
                Mistake(exponent_float32_log2, "np.log2 in float32 rounds log2(15.999999) up to 4.0: compute the floor "
                                               "exactly (np.frexp, or np.log2 in float64)")]
    return run_checks(fn, shared_exponent_reference, cases, "13.2", compare=exact, mistakes=mistakes)


# --- 13.3: SmoothQuant's migration scales.
def smoothquant_reference(X, W, alpha):
    """The reference of exercise 13.3: s_j = max_t |X_tj|^alpha / max_o |W_oj|^(1 - alpha)."""
    return outliers.smoothquant_scales(X, W, alpha, eps=0.0)


def _col_max(a, axis=0):
    return np.abs(np.asarray(a, dtype=np.float64)).max(axis=axis)


def sq_alpha_swapped(X, W, alpha):
    return _col_max(X) ** (1 - alpha) / _col_max(W) ** alpha


def sq_w_rows(X, W, alpha):                 # max over W's input axis: one number per OUTPUT channel
    return _col_max(X) ** alpha / _col_max(W, axis=1) ** (1 - alpha)


def sq_x_rows(X, W, alpha):                 # max over X's channel axis: one number per token
    return _col_max(X, axis=1) ** alpha / _col_max(W) ** (1 - alpha)


def sq_no_abs(X, W, alpha):
    X, W = np.asarray(X, dtype=np.float64), np.asarray(W, dtype=np.float64)
    return np.abs(X.max(axis=0)) ** alpha / np.abs(W.max(axis=0)) ** (1 - alpha)


def sq_mean_abs(X, W, alpha):               # AWQ's statistic, mean |X_j|
    return np.abs(np.asarray(X, dtype=np.float64)).mean(axis=0) ** alpha / _col_max(W) ** (1 - alpha)


def sq_product(X, W, alpha):
    return _col_max(X) ** alpha * _col_max(W) ** (1 - alpha)


def sq_inverse(X, W, alpha):
    return _col_max(W) ** (1 - alpha) / _col_max(X) ** alpha


def sq_fixed_half(X, W, alpha):             # alpha ignored: the default 0.5
    return np.sqrt(_col_max(X) / _col_max(W))


def check_smoothquant_scales(fn):
    """Exercise 13.3: s_j = max|X_j|^alpha / max|W_j|^(1 - alpha), one per input channel j."""
    rng = np.random.default_rng(133)
    X = rng.normal(0, 1, (64, 16))
    X[:, 3] *= 30                                   # an outlier channel
    X_neg = X.copy()
    X_neg[5, 9] = -200.0                            # its largest magnitude is negative
    W = rng.normal(0, 0.1, (8, 16))
    W_neg = W.copy()
    W_neg[2, 4] = -3.0
    hint = "s_j = max_t |X_tj|^alpha / max_o |W_oj|^(1 - alpha): channel j is a COLUMN of X (tokens, in) and of W (out, in)"
    sq_X, sq_W = rng.normal(0, 1, (16, 16)), rng.normal(0, 0.1, (16, 16))
    sq_X[:, 2] *= 20
    cases = [Case("square X and W (16 x 16)", (sq_X, sq_W, 0.5), hint=hint),
             Case("alpha = 0.5, one outlier channel", (X, W, 0.5), hint=hint),
             Case("alpha = 0.75", (X, W, 0.75), hint="alpha is the exponent of max|X_j|, 1 - alpha that of max|W_j|"),
             Case("alpha = 0: s_j = 1 / max|W_j|", (X, W, 0.0), hint=hint),
             Case("alpha = 1: s_j = max|X_j|", (X, W, 1.0), hint=hint),
             Case("negative outliers in X and W", (X_neg, W_neg, 0.5), hint="take the maximum of the MAGNITUDES |x|"),
             Case("float32 inputs", (X.astype(np.float32), W.astype(np.float32), 0.8), hint=hint)]
    mistakes = [Mistake(sq_alpha_swapped, "alpha on the wrong side: max|X_j| ** alpha / max|W_j| ** (1 - alpha)"),
                Mistake(sq_w_rows, "max over the wrong axis of W: channel j is COLUMN j of W (out, in), "
                                   "so take the max over the rows (axis 0)"),
                Mistake(sq_x_rows, "max over the wrong axis of X: channel j is COLUMN j of X (tokens, in), "
                                   "so take the max over the tokens (axis 0)"),
                Mistake(sq_no_abs, "take the maximum of the MAGNITUDES |x|, not of the signed values"),
                Mistake(sq_mean_abs, "SmoothQuant uses the MAXIMUM |X_j| (mean |X_j| is AWQ's statistic)"),
                Mistake(sq_product, "divide by max|W_j| ** (1 - alpha), do not multiply"),
                Mistake(sq_inverse, "that is 1 / s: s_j = max|X_j| ** alpha / max|W_j| ** (1 - alpha) (the "
                                    "activations are DIVIDED by s)"),
                Mistake(sq_fixed_half, "use the given alpha, not 0.5")]
    # rtol 1e-5: float32 against float64 powers differ in the last float32 bits (about 1e-7 relative)
    return run_checks(fn, smoothquant_reference, cases, "13.3", compare=allclose(atol=0.0, rtol=1e-5),
                      mistakes=mistakes)
