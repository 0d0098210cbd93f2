"""Lesson 09 checkers pass the reference and reject realistic wrong answers, naming the mistake."""
from course_lib.quantization import qat
from course_lib.checks import lesson09 as L
from checker_harness import checker_tests

CHECKERS = {
    "ste_grad": (L.check_ste_grad, L.ste_grad, {
        "real domain": (L.ste_real_domain, "BEFORE rounding"),
        "strict": (L.ste_strict, "q_min <= q <= q_max"),
        "no mask": (L.ste_no_mask, "NOT through the clamp"),
        "half up": (L.ste_half_up, "halves to even")}),
    "lsq_step_grad": (L.check_lsq_step_grad, L.lsq_step_grad, {
        "no g": (L.lsq_no_g, "gradient scale g"),
        "g without Q_P": (L.lsq_g_without_QP, "Q_P is missing"),
        "inside sign": (L.lsq_inside_sign, "the sign inside"),
        "inside zero": (L.lsq_inside_zero, "not 0"),
        "outside zero": (L.lsq_outside_zero, "-Q_N (below) or Q_P (above)")}),
    "fold_batch_norm": (L.check_fold_batch_norm, qat.fold_batch_norm, {
        "no eps": (L.fold_no_eps, "eps is missing"),
        "by variance": (L.fold_by_variance, "standard deviation"),
        "mean kept": (L.fold_mean_not_subtracted, "subtract the running mean"),
        "wrong axis": (L.fold_wrong_axis, "OUTPUT channel"),
        "bias unscaled": (L.fold_bias_unscaled, "(b - mean) * k")}),
}

test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)
