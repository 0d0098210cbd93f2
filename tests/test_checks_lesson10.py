"""Lesson 10 checkers pass the reference and reject realistic wrong answers, naming the mistake."""
from course_lib.distillation import kd as D
from course_lib.checks import lesson10 as L
from checker_harness import checker_tests

CHECKERS = {
    "softened_probabilities": (L.check_softened_probabilities, D.softmax, {
        "no T": (L.softmax_no_T, "divide the logits by T"),
        "times T": (L.softmax_times_T, "DIVIDES the logits"),
        "no max shift": (L.softmax_unstable, "subtract the row's max"),
        "wrong axis": (L.softmax_columns, "axis=-1")}),
    "kd_loss": (L.check_kd_loss, D.kd_loss, {
        "no T^2": (L.kd_no_T2, "lacks the factor T**2"),
        "alpha swapped": (L.kd_alpha_swapped, "alpha weights the SOFT"),
        "reverse KL": (L.kd_reverse_kl, "that is KL(q || p)"),
        "sum over batch": (L.kd_summed, "MEAN over the B examples"),
        "hard term at T": (L.kd_hard_at_T, "plain logits (T = 1)")}),
    "kd_grad": (L.check_kd_grad, lambda s, t, y, T, a: D.kd_loss(s, t, y, T, a, return_grad=True)[1], {
        "(q - p) / T": (L.grad_over_T, "T * (q - p) / B"),
        "no 1/B": (L.grad_no_B, "divide the gradient by B"),
        "sign": (L.grad_sign, "student minus teacher"),
        "hard term at T": (L.grad_hard_at_T, "at T = 1")}),
}

test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS)
