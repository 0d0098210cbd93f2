"""Every public function of course_lib's numpy parts rejects a bad value of EACH argument with an error naming it.

The functions are found by walking the packages (core, pruning, quantization, distillation, coding, lowrank;
not frameworks or checks). Every public function and class declares its constraints (`@validate`,
course_lib/core/validation.py) and is tried with every bad value of every argument, derived from the
declarations, the other arguments filled with values the constraints accept; one that does not (and is not
in NO_INPUT, with the reason) fails `test_every_public_function_is_covered`. Methods, which the walk does
not reach, keep one hand-written bad call each in CASES.
Checks a declaration cannot state (two arguments that must agree) stay in the function's body; BODY_CHECKS
keeps one bad call for each, and its error must start with the argument's name.
"""
import importlib
import inspect
import pkgutil


import numpy as np
import pytest

import course_lib
from course_lib.core import data, layers, measure, monks, nn, ops
from course_lib.core.validation import Anything
from course_lib.distillation import features, kd
from course_lib.pruning import filters, masks, prune, schedules, second_order as so, sparsity, trees
from course_lib.quantization import observers as obs, qat, primitives as quant, ptq
from course_lib.coding import sparse_formats as sf
from course_lib.coding import entropy_coding as ec, weight_sharing as ws
from course_lib.quantization import formats as nf, error as qe
from course_lib.core import text, transformer as tr
from course_lib.pruning import gptq, layerwise, nm_sparsity, obq, sparsegpt, wanda
from course_lib.quantization import groupwise as gw, kv_cache as kv, minifloat as mf, mx, nf4, outliers as ol
from course_lib.lowrank import lora, svd, tucker

PACKAGES = ["core", "pruning", "quantization", "distillation", "coding", "lowrank"]  # the numpy course, in its order
NOT_CHECKED = {"validation": "the checks themselves"}


def _modules():
    for pkg in PACKAGES:
        package = importlib.import_module(f"course_lib.{pkg}")
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_") and info.name not in NOT_CHECKED:
                yield importlib.import_module(f"course_lib.{pkg}.{info.name}")


MODULES = list(_modules())
CNN = layers.digits_cnn(0)
W = np.arange(12.0).reshape(3, 4)
MLP = nn.MLP([3, 4, 2], activation="tanh", seed=0)
X, Y = np.ones((5, 3)), np.zeros(5, int)

CASES = {  # methods (the walk reaches module-level functions and classes): one hand-written bad call each
    "ptq.Int8Model.forward_int": (lambda: ptq.Int8Model(0.1, 0).forward_int(np.array([[300]])), "q_x must hold int8"),
    "schedules.PruningSchedule.should_prune": (lambda: schedules.ConstantSparsity(0.5, 0)(-3), "step must be >= 0"),
    "nn.Network.set_masks": (lambda: nn.MLP([3, 2]).set_masks([np.ones(3)]), r"masks\[0\] must be a bool array"),
    "nn.Network.set_fake_quant": (lambda: MLP.copy().set_fake_quant([None]), "weights must hold one quantizer"),
}
CASES |= {  # the tiny GPT's methods (lessons 12-14)
    "transformer.TinyGPT.forward": (lambda: tr.TinyGPT.init(tr.GPTConfig(n_layer=1, context=4)).forward(np.zeros((1, 5), int)),
                                    r"tokens must have time <= 4"),
    "transformer.KVCache.update": (lambda: tr.KVCache(2).update(2, None, None), r"layer must be in \[0, 1\]"),
}

# Converted modules: checks that relate two arguments (or look inside one) stay in the body, where a declared
# constraint cannot state them; one bad call each, so they stay tested after their CASES entry is gone.
BODY_CHECKS = {
    "data.digits_split_indices": (lambda: data.digits_split_indices(fractions=(0.5, 0.3, 0.3)), "fractions must be three"),
    "data.make_regression_task": (lambda: data.make_regression_task(n_informative=200), "n_informative must be <="),
    "ops.im2col_indices": (lambda: ops.im2col_indices(1, 3, 3, 5, 5), r"k must be <= n \+ 2 padding"),
    "ops.im2col": (lambda: ops.im2col(np.ones((1, 1, 3, 3)), 4, 4), r"k must be <= n \+ 2 padding"),
    "ops.col2im": (lambda: ops.col2im(np.ones((1, 1, 1)), (1, 1, 3, 3, 1), 2, 2), "x_shape must be 4 sizes"),
    "monks.one_hot": (lambda: monks.one_hot(np.zeros((2, 5))), "A must have shape"),
    "monks.rule": (lambda: monks.rule(1, np.ones((2, 5))), "A must have shape"),
    "layers.Sequential": (lambda: layers.Sequential([layers.Flatten()]), "layers must hold at least one"),
    "prune.magnitude_masks": (lambda: prune.magnitude_masks(MLP, 0.5, scope="global", rule="tfmot"), "rule must be 'torch'"),
    "prune.prune_one_shot": (lambda: prune.prune_one_shot(MLP, [0.5, 0.5, 0.5]), "sparsity must be one number or one per"),
    "prune.with_masks": (lambda: prune.with_masks(MLP, {5: np.ones((4, 3), bool)}), r"masks must map layer indices in \[0, 1\]"),
    "prune.iterative_prune": (lambda: prune.iterative_prune(MLP, X, Y, [0.5, 0.3], 1), "sparsities must be a non-empty increasing"),
    "prune.pruned_fraction": (lambda: prune.pruned_fraction(MLP, layers=[7]), r"layers must be in \[0, 1\]"),
    "prune.layer_sensitivity": (lambda: prune.layer_sensitivity(MLP, 9, [0.5], X, Y), r"layer must be in \[0, 1\]"),
    "prune.largest_safe_sparsity": (lambda: prune.largest_safe_sparsity([0.5, 0.3], [1, 1], 1, 0.1),
                                    "sparsities must be strictly increasing"),
    "prune.targets_from_sensitivity": (lambda: prune.targets_from_sensitivity([[1.0]], [0.5, 0.6], 1.0, 0.1),
                                       "sparsities and scores must be"),
    "prune.neuron_norms": (lambda: prune.neuron_norms(MLP, 4), r"layer must be in \[0, 1\]"),
    "prune.remove_neurons": (lambda: prune.remove_neurons(MLP, 1, [0]), "layer must be a hidden layer"),
    "prune.prune_neurons": (lambda: prune.prune_neurons(MLP, [0.5, 0.5]), "fraction must be one number or one per"),
    "filters.filter_norms": (lambda: filters.filter_norms(CNN, 2), "layer must be the index of a Conv2d"),
    "filters.filter_keep": (lambda: filters.filter_keep(CNN, 2, 0.5), "layer must be the index of a Conv2d"),
    "filters.remove_filters": (lambda: filters.remove_filters(CNN, 0, np.zeros(8, bool)), "keep must be a bool vector"),
    "filters.filter_sensitivity": (lambda: filters.filter_sensitivity(CNN, 3, [0.5], X, Y), "layer must be the index"),
    "second_order.hessian_vector_products": (lambda: so.hessian_vector_products(MLP, X, Y, np.ones((1, 3))), "V must have"),
    "second_order.hessian": (lambda: so.hessian(MLP, np.ones((5, 2)), Y), "X must have shape"),
    "second_order.output_jacobian": (lambda: so.output_jacobian(MLP, np.ones((5, 2))), "X must have shape"),
    "second_order.gauss_newton": (lambda: so.gauss_newton(MLP, np.ones((5, 2))), "X must have shape"),
    "second_order.hessian_diag_lecun": (lambda: so.hessian_diag_lecun(MLP, X, np.zeros(4, int)), "y must have 5 rows"),
    "second_order.woodbury_update": (lambda: so.woodbury_update(np.eye(2), np.ones(3), 1), "h_inv must have shape"),
    "second_order.obd_saliency": (lambda: so.obd_saliency(np.ones(3), np.ones(2)), "h_diag must have one entry"),
    "second_order.obs_saliency": (lambda: so.obs_saliency(np.ones(3), np.eye(2)), "h_inv must have shape"),
    "second_order.obs_update": (lambda: so.obs_update(np.ones(3), np.eye(3), 3), r"q must be in \[0, 2\]"),
    "second_order.quadratic_loss_change": (lambda: so.quadratic_loss_change(np.ones(2), np.eye(3), [True, False]),
                                           "H must have shape"),
    "second_order.lowest_saliency_mask": (lambda: so.lowest_saliency_mask(np.ones(3), 4), r"k must be in \[0, 3\]"),
    "second_order.prune_sequence": (lambda: so.prune_sequence(MLP, X, Y, "obd", n_remove=100), "n_remove must be in"),
    "trees.collapse": (lambda: trees.collapse(trees.Tree(*[np.array([-1])] * 2, np.array([-2]), np.array([-2.0]),
                                                         np.ones((1, 1, 2)), np.zeros(1), np.ones(1, int), np.ones(1), 1),
                                             [True, False]), "make_leaf must have one entry per node"),
    "trees.majority_leaf_replacement": (lambda: trees.majority_leaf_replacement([1.0, 2.0], [0, 1], [0], [0, 1]),
                                         "y_node and subtree_pred must have the same shape"),
    "trees.reduced_error_prune": (lambda: trees.reduced_error_prune(
        trees.Tree(*[np.array([-1])] * 2, np.array([-2]), np.array([-2.0]), np.ones((1, 1, 2)), np.zeros(1),
                   np.ones(1, int), np.ones(1), 2, np.array([0, 1])), np.ones((2, 3)), [0, 1]), r"X_val must have shape"),
    "primitives.qparams": (lambda: quant.qparams(1.0, 0.0), "x_min must be <= x_max"),
    "primitives.quantize": (lambda: quant.quantize([1.0], 0.1, 300, -128, 127), r"zero_point must be integer\(s\) in \[q_min"),
    "primitives.dequantize": (lambda: quant.dequantize(np.ones((2, 3), int), [0.1, 0.2], 0, axis=1), "scale must have one entry"),
    "primitives.fake_quantize": (lambda: quant.fake_quantize([1.0], 0.1, 0, 7, -8), "q_min must be < q_max"),
    "primitives.nudge": (lambda: quant.nudge(1.0, 1.0), "x_min must be < x_max"),
    "primitives.fake_quant_with_min_max": (lambda: quant.fake_quant_with_min_max([1.0], 2.0, 1.0), "x_min must be <= x_max"),
    "primitives.fake_quant_with_min_max_per_channel": (
        lambda: quant.fake_quant_with_min_max_per_channel(np.ones((2, 3)), [0.0], [1.0]), "x_min and x_max must have one entry"),
    "primitives.requantize": (lambda: quant.requantize(np.array([1]), 0.5, 0, q_min=10, q_max=-10), "q_min must be <= q_max"),
    "primitives.int_matmul": (lambda: quant.int_matmul(np.ones((2, 3), int), np.ones((2, 2), int)), r"a must be \(n, k\)"),
    "primitives.int8_dense": (lambda: quant.int8_dense(np.ones((2, 3), int), 0.1, 0, np.ones((4, 2), int), 0.1, 0.1, 0),
                              r"q_x must be \(n, in\) and q_w \(out, in\)"),
    "primitives.int8_conv2d": (lambda: quant.int8_conv2d(np.ones((1, 2, 4, 4), int), 0.1, 0, np.ones((3, 1, 3, 3), int),
                                                         0.1, 0.1, 0), r"q_x must be \(n, c, h, w\) and q_w"),
    "primitives.int8_max_pool2d": (lambda: quant.int8_max_pool2d(np.ones((4, 4), int)), r"q_x must be \(n, c, h, w\)"),
    "observers.KLObserver": (lambda: obs.KLObserver(bins=10), "bins must be >= 128"),
    "observers.MSEObserver": (lambda: obs.MSEObserver(bits=1), r"bits must be in \[2, 16\]"),  # checked for the subclass
    "error.sqnr_db": (lambda: qe.sqnr_db([1.0, 2.0], [1.0]), "x and x_hat must have the same shape"),
    "error.error_split": (lambda: qe.error_split([1.0], 0.1, 0, 7, -8), "q_min must be < q_max"),
    "ptq.float_ops": (lambda: ptq.float_ops(MLP), "model activations must be 'relu' or 'identity'"),
    "ptq.calibrate": (lambda: ptq.calibrate(CNN, np.ones((2, 5))), r"X_calib must have shape n inputs of 64"),
    "ptq.convert": (lambda: ptq.convert(CNN, np.ones((2, 64)), averaging_constant=0.0, observer=obs.MovingAverageObserver),
                    r"averaging_constant must be in \(0, 1\]"),  # the observer's keywords are checked too
    "ptq.simulate": (lambda: ptq.simulate(CNN, np.ones((2, 64)), a_bits=None, layer_bits=[8]), "layer_bits must have one entry"),
    "ptq.float_layer_outputs": (lambda: ptq.float_layer_outputs(CNN, np.ones((2, 5))), "X must have shape"),
    "ptq.dynamic_int8_linear": (lambda: ptq.dynamic_int8_linear(np.ones((2, 3)), np.ones((4, 2))), r"x must be \(n, in\) and W"),
    "ptq.dynamic_forward": (lambda: ptq.dynamic_forward(CNN, np.ones((2, 64))), "dynamic_forward supports MLPs"),
    "qat.ste_mask": (lambda: qat.ste_mask([1.0], 0.1, 0, 7, -8), "q_min must be < q_max"),
    "qat.fake_quantize_ste": (lambda: qat.fake_quantize_ste(np.ones((2, 3)), [0.1, 0.2], [0, 0], -8, 7, axis=1),
                              "scale must have one entry per channel"),
    "qat.nudged_range": (lambda: qat.nudged_range(1.0, -1.0), "x_min must be < x_max"),
    "qat.fake_quant_with_min_max_grad": (lambda: qat.fake_quant_with_min_max_grad(np.ones(2), np.ones(3), -1.0, 1.0),
                                         "dy must have the shape of x"),
    "qat.lsq_grads": (lambda: qat.lsq_grads([1.0, 2.0], [1.0], 0.5, 1, 3), "dy must have the shape of v"),
    "qat.batch_norm": (lambda: qat.batch_norm(np.ones((2, 3)), np.ones(2), 0 * np.ones(3), np.ones(3), np.ones(3)),
                       r"gamma must have shape \(3,\)"),
    "qat.fold_batch_norm": (lambda: qat.fold_batch_norm(W, None, *[np.ones(3)] * 3, -np.ones(3)), "var must be >= 0"),
    "qat.attach_fake_quant": (lambda: qat.attach_fake_quant(MLP.copy(), w_bits=[8]), "w_bits must have one entry per layer"),
    "qat.allocate_bits": (lambda: qat.allocate_bits([10, 20], np.zeros((2, 3)), [2, 4, 8], 10), "budget must be >= 60"),
}
NOT_PD = np.array([[1.0, 2.0], [2.0, 1.0]])  # symmetric, diagonal >= 0, not positive definite
BODY_CHECKS |= {  # lesson 12: layer-wise reconstruction (W (out, in) and H (in, in) must agree, the grid with W, ...)
    "nm_sparsity.check_nm": (lambda: nm_sparsity.check_nm(3, 2, 8), r"n must be in \[0, 2\]"),
    "nm_sparsity.nm_mask": (lambda: nm_sparsity.nm_mask([1.0, 2.0, 3.0], 1, 2), "m must divide the number of inputs 3"),
    "wanda.check_nm_sparsity": (lambda: wanda.check_nm_sparsity(0.5, 2, None, 8), "n and m must be given together"),
    "wanda.wanda_score": (lambda: wanda.wanda_score(np.ones((2, 2)), np.ones(3)), "x_norm must hold 2 norms"),
    "wanda.wanda_mask": (lambda: wanda.wanda_mask(np.ones((3, 8)), np.ones(8), 0.3, 2, 4), "sparsity must equal 1 - n/m"),
    "layerwise.check_layer": (lambda: layerwise.check_layer(np.ones((2, 3)), np.eye(2)), r"H must have shape \(3, 3\)"),
    "layerwise.prepare_hessian": (lambda: layerwise.prepare_hessian(np.ones((2, 3)), np.eye(2)), r"H must have shape \(3, 3\)"),
    "layerwise.inverse_hessian": (lambda: layerwise.inverse_hessian(NOT_PD), r"H \+ damp \* mean\(diag H\) \* I must be positive"),
    "layerwise.inverse_cholesky_upper": (lambda: layerwise.inverse_cholesky_upper(NOT_PD), "H .* must be positive definite"),
    "layerwise.layer_error": (lambda: layerwise.layer_error(np.ones((2, 3)), np.ones((3, 2)), np.eye(3)),
                              "W_hat must have the shape of W"),
    "layerwise.layer_inputs": (lambda: layerwise.layer_inputs(MLP, X, 5), r"l must be in \[0, 1\]"),
    "layerwise.compress_layers": (lambda: layerwise.compress_layers(MLP, X, lambda W, X_l: W.T), "fn must return an array"),
    "gptq.gptq": (lambda: gptq.gptq(np.ones((2, 3)), np.eye(3), np.ones(2), np.zeros(2, int), 7, -8), "q_min must be < q_max"),
    "gptq.rtn": (lambda: gptq.rtn(np.ones((2, 3)), np.ones(3), np.zeros(2, int), -8, 7), r"scale must have shape \(2,\)"),
    "gptq.dequantize_codes": (lambda: gptq.dequantize_codes(np.ones((2, 3), int), np.ones(2), np.full(2, 0.5)),
                              "zero_point must be integers"),
    "sparsegpt.sparsegpt": (lambda: sparsegpt.sparsegpt(np.ones((2, 8)), np.eye(8), 0.5, 2, 4, block_size=6),
                            "block_size must be a multiple of m=4"),
    "obq.obs_row": (lambda: obq.obs_row(np.ones(3), np.eye(2), 1, np.zeros_like), r"h_inv must have shape \(3, 3\)"),
    "obq.obq": (lambda: obq.obq(np.ones((2, 3)), np.eye(3), np.ones(2), np.full(2, 99), -8, 7), "zero_point must be in"),
    "obq.obc_prune": (lambda: obq.obc_prune(np.ones((2, 3)), np.eye(2), 0.5), r"H must have shape \(3, 3\)"),
}
BODY_CHECKS |= {  # lesson 13: low-bit formats (a shape must fit a block or group size, the codes the format, ...)
    "minifloat.float_encode": (lambda: mf.float_encode([1.0], "e2m1", rule="torch"), "rule='torch' covers"),
    "minifloat.float_decode": (lambda: mf.float_decode([64], "e2m3"), r"codes must be in \[0, 63\]"),
    "groupwise.to_groups": (lambda: gw.to_groups(np.ones((2, 8)), 3), "group_size must divide the input size 8"),
    "groupwise.groupwise_qparams": (lambda: gw.groupwise_qparams(np.ones((2, 8)), 3), "group_size must divide"),
    "groupwise.groupwise_quantize": (lambda: gw.groupwise_quantize(np.ones((2, 8)), np.ones((2, 3)), np.zeros((2, 2), int), 4),
                                     "scale must have shape"),
    "groupwise.groupwise_dequantize": (lambda: gw.groupwise_dequantize(np.ones((2, 8), int), np.ones((2, 2)),
                                                                       np.zeros((2, 3), int), 4), "zero_point must have shape"),
    "groupwise.groupwise_fake_quantize": (lambda: gw.groupwise_fake_quantize(np.ones((2, 8)), 3), "group_size must divide"),
    "mx.shared_exponent": (lambda: mx.shared_exponent(np.ones(30), "mxfp4"), "block_size must divide the last axis"),
    "mx.mx_quantize": (lambda: mx.mx_quantize(np.ones(30), "mxfp4"), "block_size must divide the last axis"),
    "mx.mx_dequantize": (lambda: mx.mx_dequantize(np.ones(32, np.uint8), np.ones(2, np.uint8), "mxfp4"), "scales must have shape"),
    "mx.mx_fake_quantize": (lambda: mx.mx_fake_quantize(np.ones((2, 32)), "mxfp4", block_size=64), "block_size must divide"),
    "nf4.double_quantize": (lambda: nf4.double_quantize(np.ones(10), 4), "scaler_block_size must divide"),
    "nf4.dequantize_scales": (lambda: nf4.dequantize_scales(np.ones(5, int), np.ones(2), 0.0), "c_q must hold a whole number"),
    "nf4.nf4_quantize": (lambda: nf4.nf4_quantize(np.ones(100)), "w must have a multiple of"),
    "nf4.nf4_dequantize": (lambda: nf4.nf4_dequantize(nf4.nf4_quantize(np.ones(64 * 256)), (3, 3)), "shape must hold"),
    "nf4.nf4_fake_quantize": (lambda: nf4.nf4_fake_quantize(np.ones(100)), "w must have a multiple of"),
    "outliers.smoothquant_scales": (lambda: ol.smoothquant_scales(np.ones((2, 3)), np.ones((4, 5))), r"X must be \(tokens, in\)"),
    "outliers.smooth": (lambda: ol.smooth(np.ones((2, 3)), np.ones((4, 3)), np.ones(2)), "s must hold 3 numbers"),
    "outliers.w8a8_linear": (lambda: ol.w8a8_linear(np.ones((2, 3)), np.ones((4, 5))), r"X must be \(tokens, in\)"),
    "outliers.smoothquant_linear": (lambda: ol.smoothquant_linear(np.ones((2, 3)), np.ones((4, 5))), r"X must be \(tokens, in\)"),
    "outliers.awq_loss": (lambda: ol.awq_loss(np.ones((2, 4)), np.ones((4, 4)), np.ones(3)), "s must hold 4 numbers"),
    "outliers.awq_scales": (lambda: ol.awq_scales(np.ones((2, 4)), np.ones((4, 4)), group_size=3), "group_size must divide"),
    "outliers.awq_fake_quantize": (lambda: ol.awq_fake_quantize(np.ones((4, 4)), np.ones(3)), "s must hold 4 numbers"),
    "kv_cache.kv_dequantize": (lambda: kv.kv_dequantize(np.ones((1, 4, 4), np.int8), np.ones(3)), "scale must hold one scale"),
    "kv_cache.kv_bytes_per_token": (lambda: kv.kv_bytes_per_token(2, 4, 32, "int8", "per_head"), "seq_len must be given"),
}
BODY_CHECKS |= {  # lesson 14: low rank (a rank bounded by a shape, factors that must fit together)
    "svd.svd_flip": (lambda: svd.svd_flip(np.eye(2), np.ones((3, 2))), "Vt must have one row per column of U"),
    "svd.low_rank_factors": (lambda: svd.low_rank_factors(np.ones((3, 4)), 4), r"rank must be in \[1, 3\]"),
    "svd.factored_params": (lambda: svd.factored_params(3, 4, 5), r"rank must be in \[1, 3\]"),
    "svd.data_aware_factors": (lambda: svd.data_aware_factors(np.ones((3, 4)), np.ones((5, 9)), 1), r"X must be \(in, n\)"),
    "tucker.unfold": (lambda: tucker.unfold(np.ones((2, 3)), 2), r"mode must be in \[-2, 1\]"),
    "tucker.mode_dot": (lambda: tucker.mode_dot(np.ones((2, 3)), np.ones((4, 2)), 1), "M must be a matrix with 3 columns"),
    "tucker.tucker2": (lambda: tucker.tucker2(np.ones((3, 2, 3, 3)), (1, 3)), r"ranks\[1\] must be in \[1, 2\]"),
    "tucker.tucker2_reconstruct": (lambda: tucker.tucker2_reconstruct(np.ones((2, 2, 1, 1)), np.ones((3, 3)), np.ones((3, 2))),
                                   "U_out must have 2 columns"),
    "tucker.tucker2_params": (lambda: tucker.tucker2_params(3, 2, 3, (1, 3)), r"ranks\[1\] must be in \[1, 2\]"),
    "lora.lora_forward": (lambda: lora.lora_forward(np.ones((2, 3)), np.ones((4, 3)), None, np.ones((2, 3)), np.ones((4, 1)), 1),
                          r"A must be \(r, in\)"),
    "lora.lora_grads": (lambda: lora.lora_grads(np.ones((2, 3)), np.ones((2, 5)), np.ones((4, 3)), np.ones((2, 3)),
                                                np.ones((4, 2)), 1), r"dh must have shape \(2, 4\)"),
    "lora.lora_merge": (lambda: lora.lora_merge(np.ones((4, 3)), np.ones((2, 3)), np.ones((4, 1)), 1), r"A must be \(r, in\)"),
}
GPT = tr.GPTConfig(n_layer=1, context=4, d_model=8, n_head=2)
BODY_CHECKS |= {  # the tiny GPT (lessons 12-14's model): shapes that must agree, tokens the model's context
    "text.encode": (lambda: text.encode("caf\u00e9"), "text holds '\u00e9' at position 3"),
    "text.windows": (lambda: text.windows(np.arange(3), 5), "tokens must hold at least context"),
    "transformer.GPTConfig": (lambda: tr.GPTConfig(d_model=10, n_head=4), "n_head must divide d_model=10"),
    "transformer.TinyGPT": (lambda: tr.TinyGPT(GPT, {"wte": np.ones((96, 8))}), "params must hold exactly the parameters"),
    "transformer.layer_norm": (lambda: tr.layer_norm(np.ones((2, 3)), np.ones(2), np.ones(3)), r"gamma must have shape \(3,\)"),
    "transformer.linear": (lambda: tr.linear(np.ones((2, 3)), np.ones((4, 2)), np.ones(4)), r"W must have shape \(out, 3\)"),
    "transformer.softmax": (lambda: tr.softmax(np.ones(3), axis=2), r"axis must be in \[-1, 0\]"),
    "transformer.causal_mask": (lambda: tr.causal_mask(4, 3), "t_query must be <= t_key"),
    "transformer.attention": (lambda: tr.attention(np.ones((1, 2, 4)), np.ones((1, 3, 4)), np.ones((1, 3, 5))),
                              "q, k and v_ must be"),
    "transformer.split_heads": (lambda: tr.split_heads(np.ones((1, 2, 6)), 4), "n_head must divide d=6"),
    "transformer.mean_nll": (lambda: tr.mean_nll(tr.TinyGPT.init(GPT), np.arange(4)), "tokens must hold at least context"),
}

# public names that take no input a caller could get wrong (data containers, constants, plain results)
NO_INPUT = {
    "lazy.quiet_native_logs": "a context manager without arguments",
    "data.load_digits_arrays": "reads the bundled digits; no arguments",
    "sparsity.SparsityRow": "a result record built by sparsity_report",
    "sparsity.SparsityReport": "a result table built by sparsity_report",
    "nn.Activation": "a record of the activation table",
    "nn.Network": "the base class of MLP and Sequential: no constructor arguments (its methods have cases)",
    "trees.RepStep": "a result record of reduced_error_prune",
    "trees.Tree": "a record of a fitted tree's arrays, built by as_tree and collapse (its methods check their X)",
    "second_order.PruneTrace": "a result record of prune_sequence",
    "monks.Monk": "a result record of monk()",
    "monks.all_examples": "takes no arguments",
    "data.Split": "a result record of load_digits_split",
    "layers.Flatten": "takes no arguments",
    "ptq.QLayer": "a record of one op of an Int8Model",
    "ptq.Int8Model": "the integer model built by convert (a record; its forward_int checks its input, a case below)",
    "formats.FloatFormat": "a result record of float_format",
    "minifloat.MiniFloat": "a result record of minifloat.float_format",
    "nf4.nf4_levels": "takes no arguments",
    "measure.Timing": "a result record of time_it (an empty sample list is refused in __post_init__)",
}


def _public():
    """Yield (short name, object) of every public function and class defined in the walked modules."""
    for mod in MODULES:
        short = mod.__name__.split(".")[-1]
        for name, obj in vars(mod).items():
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj)) \
                    and getattr(obj, "__module__", "") == mod.__name__:
                yield f"{short}.{name}", obj


def _constraints(obj):
    return getattr(obj.__init__ if inspect.isclass(obj) else obj, "constraints", None)


PUBLIC = dict(_public())
DECLARED = {name: obj for name, obj in PUBLIC.items() if _constraints(obj)}


def test_the_walk_finds_every_numpy_module():
    assert {"measure", "nn", "masks", "primitives", "kd", "weight_sharing"} <= {m.__name__.split(".")[-1] for m in MODULES}
    assert not any(".frameworks." in m.__name__ or ".checks." in m.__name__ for m in MODULES)


def test_every_public_function_is_covered():
    missing = sorted(n for n in PUBLIC if n not in DECLARED and n not in NO_INPUT)
    assert not missing, f"public functions without declared constraints: {missing}"
    stale = sorted(n for n in CASES if n.count(".") == 1 or ".".join(n.split(".")[:2]) not in PUBLIC)  # methods only
    assert not stale, f"hand-written cases of functions (they declare) or of names that are gone: {stale}"


ARGUMENTS = [(name, arg) for name, obj in sorted(DECLARED.items()) for arg in _constraints(obj)]


@pytest.mark.parametrize("name, arg", ARGUMENTS, ids=[f"{n}:{a}" for n, a in ARGUMENTS])
def test_each_argument_rejects_its_bad_values_by_name(name, arg):
    constraints = _constraints(DECLARED[name])
    if isinstance(constraints[arg], Anything):
        assert constraints[arg].reason, f"{name}: {arg} is unchecked without a reason"
        pytest.skip(f"{arg}: no constraint ({constraints[arg].reason})")
    good = {a: c.good() for a, c in constraints.items()}
    bad_values = constraints[arg].bad()
    assert bad_values, f"{name}: the constraint of {arg} names no bad value"
    for bad in bad_values:
        with pytest.raises((ValueError, TypeError)) as e:
            DECLARED[name](**{**good, arg: bad})
        assert str(e.value).startswith(arg), f"{name}({arg}={bad!r}): the error does not name {arg}: {e.value}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_named(name):
    call, match = CASES[name]
    with pytest.raises((ValueError, TypeError), match=match):
        call()


@pytest.mark.parametrize("name", sorted(BODY_CHECKS))
def test_body_checks_name_the_argument(name):
    assert ".".join(name.split(".")[:2]) in DECLARED, f"{name}: a body check of a function that does not declare"
    call, match = BODY_CHECKS[name]
    with pytest.raises((ValueError, TypeError), match="^" + match):
        call()
