"""Lesson 08 checkers pass the reference and reject realistic wrong answers, naming the mistake."""
from course_lib.quantization import ptq, primitives as Q
from course_lib.checks import lesson08 as L
from checker_harness import checker_tests

CHECKERS = {
    "quantize_multiplier": (L.check_quantize_multiplier, Q.quantize_multiplier, {
        "half to even": (L.multiplier_half_even, "away from zero"),
        "no fold": (L.multiplier_no_fold, "fold it to 2**30"),
        "truncated": (L.multiplier_truncated, "round to nearest"),
        "2^30": (L.multiplier_2_30, "multiply frac by 2**31"),
        "shift sign": (L.multiplier_neg_shift, "the sign of shift")}),
    "requantize": (L.check_requantize, L.requantize_reference, {
        "float rint": (L.requantize_float_rint, "halves round up"),
        "floor": (L.requantize_floor, "add half"),
        "no zero point": (L.requantize_no_zero_point, "zero point"),
        "no clamp": (L.requantize_no_clamp, "clamp")}),
    "quantize_bias": (L.check_quantize_bias, ptq.quantize_bias, {
        "x_scale only": (L.bias_x_scale_only, "not by x_scale alone"),
        "w_scale only": (L.bias_w_scale_only, "not by w_scale alone"),
        "truncated": (L.bias_truncated, "truncates"),
        "no saturation": (L.bias_no_saturation, "saturate")}),
    "activation_qparams": (L.check_activation_qparams, L.act_qparams_reference, {
        "range without 0": (L.act_qparams_no_zero, "must hold 0"),
        "/256": (L.act_qparams_256, "divide by 255"),
        "zero point sign": (L.act_qparams_zp_sign, "sign"),
        "symmetric": (L.act_qparams_symmetric, "asymmetric")}),
}

test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)
