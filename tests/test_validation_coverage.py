"""Every public function of the numpy core rejects bad input with a message naming the argument.

The table below holds one bad call per public function; a new public function without an entry here
(or in NO_INPUT, with the reason) fails `test_every_public_function_is_covered`.
"""
import importlib
import inspect

import numpy as np
import pytest

from course_lib import (data, distillation as kd, filters, observers as obs, layers, masks, measure, monks, nn, prune, qat, quantization as quant, schedules,
                        second_order as so, sparse_formats as sf, sparsity, trees)

MODULES = [sparsity, masks, schedules, nn, measure, sf, trees, so, monks, prune, data, layers, filters, quant, kd, obs, qat]
CNN = layers.digits_cnn(0)
W = np.arange(12.0).reshape(3, 4)
MLP = nn.MLP([3, 4, 2], activation="tanh", seed=0)
X, Y = np.ones((5, 3)), np.zeros(5, int)
NAN = np.array([1.0, np.nan])

CASES = {
    "sparsity.l0_norm": (lambda: sparsity.l0_norm("abc"), "x must hold numbers"),
    "sparsity.density": (lambda: sparsity.density(NAN), "x contains NaN"),
    "sparsity.sparsity": (lambda: sparsity.sparsity([]), "x must not be empty"),
    "sparsity.sparsity_report": (lambda: sparsity.sparsity_report([W]), "params must be a non-empty mapping"),
    "masks.magnitude_mask": (lambda: masks.magnitude_mask(W, 1.5), r"sparsity must be in \[0.0, 1.0\]"),
    "masks.random_mask": (lambda: masks.random_mask(W, 0.5, seed=-1), "seed must be >= 0"),
    "masks.threshold_mask": (lambda: masks.threshold_mask(W, -1.0), "threshold must be"),
    "masks.global_magnitude_masks": (lambda: masks.global_magnitude_masks({}, 0.5), "weights must hold"),
    "masks.slice_norms": (lambda: masks.slice_norms(W, axis=5), "axis must be in"),
    "masks.structured_mask": (lambda: masks.structured_mask(W, 0.5, p=0), "p must be a positive number"),
    "masks.block_pool": (lambda: masks.block_pool(W, (0, 2)), "block_shape must be a pair"),
    "masks.block_mask": (lambda: masks.block_mask(W, 0.5, (2, 2), pooling="min"), "pooling must be one of"),
    "masks.apply_mask": (lambda: masks.apply_mask(W, np.ones((4, 3), bool)), "mask must have the shape"),
    "masks.granularity_mask": (lambda: masks.granularity_mask(np.ones((2, 2, 3, 3)), 0.5, "row"), "granularity must be one of"),
    "masks.masked_update": (lambda: masks.masked_update(W, W, np.ones((3, 4), bool), -1.0), "lr must be"),
    "schedules.ConstantSparsity": (lambda: schedules.ConstantSparsity(0.5, 0, frequency=0), "frequency must be >= 1"),
    "schedules.PolynomialDecay": (lambda: schedules.PolynomialDecay(0.0, 1.0, 0, 10), "final_sparsity must be in"),
    "schedules.PruningSchedule": (lambda: schedules.ConstantSparsity(0.5, 0)(-3), "step must be >= 0"),
    "schedules.zhu_gupta_sparsity": (lambda: schedules.zhu_gupta_sparsity(-1, 0.0, 0.9, 0, 10, 5), "t must be"),
    "nn.mse": (lambda: nn.mse(np.ones(3), np.ones(4)), "y must have"),
    "nn.softmax": (lambda: nn.softmax(NAN), "z contains NaN"),
    "nn.cross_entropy": (lambda: nn.cross_entropy(np.ones((2, 3)), [0, 5]), "y must hold class indices in"),
    "nn.flat_layout": (lambda: nn.flat_layout([W], []), "W and b must have one entry per layer"),
    "nn.to_flat": (lambda: nn.to_flat([W], []), "W and b must have one entry per layer"),
    "nn.from_flat": (lambda: nn.from_flat(np.ones(3), [W], [np.ones(3)]), r"theta must have shape \(15,\)"),
    "nn.loss_function": (lambda: nn.loss_function("hinge"), "loss must be one of"),
    "nn.check_masks": (lambda: nn.check_masks([np.ones(3)], [W]), r"masks\[0\] must be a bool array"),
    "nn.MLP": (lambda: nn.MLP([3, 0, 2]), "sizes must be >= 1"),
    "nn.sgd_step": (lambda: nn.sgd_step(MLP.copy(), X, Y, "cross_entropy", lr=0.0), r"lr must be in \(0, inf\)"),
    "nn.sgd_epoch": (lambda: nn.sgd_epoch(MLP.copy(), X, Y, batch_size=0), "batch_size must be >= 1"),
    "nn.train": (lambda: nn.train(MLP.copy(), X, Y, 1, momentum=1.0), r"momentum must be in \[0, 1\)"),
    "nn.Network": (lambda: nn.MLP([3, 2]).set_masks([np.ones(3)]), r"masks\[0\] must be a bool array"),
    "nn.accuracy": (lambda: nn.accuracy(MLP, X, Y[:3]), "y must have 5 entries"),
    "nn.fit_lbfgs": (lambda: nn.fit_lbfgs(MLP.copy(), X, Y, maxiter=0), "maxiter must be >= 1"),
    "measure.format_seconds": (lambda: measure.format_seconds("fast"), "t must be a real number"),
    "measure.format_ratio": (lambda: measure.format_ratio(np.nan), "r must be in"),
    "measure.mlp_params": (lambda: measure.mlp_params([64]), "sizes must list at least"),
    "measure.count_params": (lambda: measure.count_params({"a": "abc"}), "weights must hold numbers"),
    "measure.model_bytes": (lambda: measure.model_bytes(10, "int3"), "fmt must be one of"),
    "measure.dense_macs": (lambda: measure.dense_macs([64]), "sizes must list at least"),
    "measure.conv2d_macs": (lambda: measure.conv2d_macs(3, 8, 3, 3, 4, 4, groups=2), "groups must divide"),
    "measure.latency_summary": (lambda: measure.latency_summary([1.0, 2.0], warmup=2), "warmup must be"),
    "measure.time_it": (lambda: measure.time_it(print, repeat=0), "repeat must be >= 1"),
    "measure.Timing": (lambda: measure.Timing(np.array([])).median, "samples must not be empty"),
    "measure.mean_std": (lambda: measure.mean_std([]), "values must not be empty"),
    "measure.agreement": (lambda: measure.agreement(np.ones(2), np.ones(3), 1e-9), "a and b must have the same shape"),
    "sparse_formats.to_csr": (lambda: sf.to_csr(np.ones(3)), "w must be 2-dimensional"),
    "sparse_formats.csr_to_dense": (lambda: sf.csr_to_dense(*sf.to_csr(W), (2, 2)), "shape must be"),
    "sparse_formats.csr_matmul": (lambda: sf.csr_matmul(*sf.to_csr(W), np.ones((3, 2))), "X must have 4 rows"),
    "sparse_formats.to_bitmask": (lambda: sf.to_bitmask(NAN), "w contains NaN"),
    "sparse_formats.from_bitmask": (lambda: sf.from_bitmask(*sf.to_bitmask(W), (5, 5)), "needs 4 bytes of bits"),
    "sparse_formats.dense_bytes": (lambda: sf.dense_bytes((3, 4), value_bits=0), "value_bits must be >= 1"),
    "sparse_formats.csr_bytes": (lambda: sf.csr_bytes((3, 4), 20), "nnz must be <="),
    "sparse_formats.bitmask_bytes": (lambda: sf.bitmask_bytes((3, 4), -1), "nnz must be >= 0"),
    "second_order.flat_keep": (lambda: so.flat_keep("model"), "model must be a course_lib network"),
    "second_order.weight_positions": (lambda: so.weight_positions("model"), "model must be"),
    "second_order.hessian_vector_products": (lambda: so.hessian_vector_products(MLP, X, Y, np.ones((1, 3))),
                                             "V must have"),
    "second_order.hessian": (lambda: so.hessian(MLP, np.ones((5, 2)), Y), "X must have shape"),
    "second_order.output_jacobian": (lambda: so.output_jacobian(MLP, np.ones((5, 2))), "X must have shape"),
    "second_order.gauss_newton": (lambda: so.gauss_newton(MLP, np.ones((5, 2))), "X must have shape"),
    "second_order.hessian_diag_lecun": (lambda: so.hessian_diag_lecun(MLP, X, Y, loss="hinge"), "loss must be one of"),
    "second_order.woodbury_update": (lambda: so.woodbury_update(np.eye(2), np.ones(2), 0), "n_samples must be in"),
    "second_order.inverse_hessian_woodbury": (lambda: so.inverse_hessian_woodbury(np.ones((2, 2)), 0.0),
                                              r"alpha must be in \(0, inf\)"),
    "second_order.obd_saliency": (lambda: so.obd_saliency(np.ones(3), np.ones(2)), "h_diag must have one entry"),
    "second_order.obs_saliency": (lambda: so.obs_saliency(np.ones(3), np.eye(2)), "h_inv must have shape"),
    "second_order.obs_update": (lambda: so.obs_update(np.ones(3), np.eye(3), 3), r"q must be in \[0, 2\]"),
    "second_order.quadratic_loss_change": (lambda: so.quadratic_loss_change(np.ones(2), np.eye(3), [True, False]),
                                           "H must have shape"),
    "second_order.lowest_saliency_mask": (lambda: so.lowest_saliency_mask(np.ones(3), 4), r"k must be in \[0, 3\]"),
    "second_order.prune_sequence": (lambda: so.prune_sequence(MLP, X, Y, "random"), "method must be one of"),
    "trees.as_tree": (lambda: trees.as_tree("tree"), "estimator must be"),
    "trees.Tree": (lambda: trees.Tree(*[np.array([0])] * 2), "Tree"),
    "trees.collapse": (lambda: trees.collapse("tree", []), "estimator must be"),
    "trees.node_risks": (lambda: trees.node_risks("tree"), "estimator must be"),
    "trees.effective_alphas": (lambda: trees.effective_alphas("tree"), "estimator must be"),
    "trees.weakest_link": (lambda: trees.weakest_link("tree"), "estimator must be"),
    "trees.cost_complexity_pruning_path": (lambda: trees.cost_complexity_pruning_path("tree"), "estimator must be"),
    "trees.prune_to_alpha": (lambda: trees.prune_to_alpha("tree", 0.1), "estimator must be"),
    "trees.majority_leaf_replacement": (lambda: trees.majority_leaf_replacement([1.0, 2.0], [0, 1], [0], [0, 1]),
                                         "y_node and subtree_pred must have the same shape"),
    "trees.reduced_error_prune": (lambda: trees.reduced_error_prune("tree", X, Y), "estimator must be"),
    "trees.tree_layout": (lambda: trees.tree_layout("tree"), "estimator must be"),
    "trees.draw_tree": (lambda: trees.draw_tree("tree", None), "estimator must be"),
    "monks.rule": (lambda: monks.rule(4, monks.all_examples()), r"problem must be one of \[1, 2, 3\]"),
    "monks.one_hot": (lambda: monks.one_hot(np.zeros((2, 5))), "A must have shape"),
    "monks.monk": (lambda: monks.monk(0), r"problem must be one of \[1, 2, 3\]"),
    "prune.magnitude_masks": (lambda: prune.magnitude_masks(MLP, 0.5, scope="net"), "scope must be one of"),
    "prune.with_masks": (lambda: prune.with_masks(MLP, {5: np.ones((4, 3), bool)}), r"layers must be in \[0, 1\]"),
    "prune.prune_one_shot": (lambda: prune.prune_one_shot(MLP, 2.0), r"sparsity must be in \[0.0, 1.0\]"),
    "prune.iterative_prune": (lambda: prune.iterative_prune(MLP, X, Y, [0.5, 0.3], 1), "sparsities must be"),
    "prune.gradual_prune": (lambda: prune.gradual_prune(MLP, X, Y, "cubic", 1), "schedule must be"),
    "prune.pruned_fraction": (lambda: prune.pruned_fraction(MLP, layers=[7]), r"layers must be in \[0, 1\]"),
    "prune.update_steps": (lambda: prune.update_steps(schedules.ConstantSparsity(0.5, 0), -1), "n_steps must be >= 0"),
    "prune.contrib_update_steps": (lambda: prune.contrib_update_steps(10, pruning_frequency=0),
                                   "pruning_frequency must be >= 1"),
    "prune.layer_sensitivity": (lambda: prune.layer_sensitivity(MLP, 9, [0.5], X, Y), "layers must be in"),
    "prune.sensitivity_analysis": (lambda: prune.sensitivity_analysis(MLP, [1.5], X, Y), "sparsities must be in"),
    "prune.largest_safe_sparsity": (lambda: prune.largest_safe_sparsity([0.5, 0.3], [1, 1], 1, 0.1),
                                    "sparsities must be strictly increasing"),
    "prune.targets_from_sensitivity": (lambda: prune.targets_from_sensitivity([[1.0]], [0.5, 0.6], 1.0, 0.1),
                                       "sparsities and scores must be"),
    "prune.neuron_norms": (lambda: prune.neuron_norms(MLP, 4), "layers must be in"),
    "prune.remove_neurons": (lambda: prune.remove_neurons(MLP, 1, [0]), "layer must be a hidden layer"),
    "prune.prune_neurons": (lambda: prune.prune_neurons(MLP, 0.5, strategy="random"), "strategy must be one of"),
    "prune.dense_weight_count": (lambda: prune.dense_weight_count([3]), "sizes must list at least"),
    "prune.matching_width": (lambda: prune.matching_width(0, 10, 1, 100), "n_in must be >= 1"),
    "data.digits_split_indices": (lambda: data.digits_split_indices(fractions=(0.5, 0.5)), "fractions must"),
    "data.load_digits_split": (lambda: data.load_digits_split(dtype="text"), "dtype must be"),
    "measure.layer_macs": (lambda: measure.layer_macs(CNN, (0,)), "input_shape must be >= 1"),
    "measure.sequential_macs": (lambda: measure.sequential_macs(CNN, (64, -1)), "input_shape must be >= 1"),
    "layers.conv_output_size": (lambda: layers.conv_output_size(8, 3, stride=0), "stride must be >= 1"),
    "layers.im2col_indices": (lambda: layers.im2col_indices(1, 3, 3, 5, 5), r"k must be <= n \+ 2 padding"),
    "layers.im2col": (lambda: layers.im2col(np.ones((1, 1, 3, 3)), 4, 4), r"k must be <= n \+ 2 padding"),
    "layers.col2im": (lambda: layers.col2im(np.ones((1, 1, 1)), (1, 1, 3, 3), 4, 4), r"k must be <= n \+ 2 padding"),
    "layers.Conv2d": (lambda: layers.Conv2d(1, 8, 0), "kernel_size must be >= 1"),
    "layers.Dense": (lambda: layers.Dense(0, 3), "n_in must be >= 1"),
    "layers.MaxPool2d": (lambda: layers.MaxPool2d(2, stride=0), "stride must be >= 1"),
    "layers.AvgPool2d": (lambda: layers.AvgPool2d(0), "kernel_size must be >= 1"),
    "layers.Reshape": (lambda: layers.Reshape((1, 0)), "shape must be >= 1"),
    "layers.Activation": (lambda: layers.Activation("gelu"), "name must be one of"),
    "layers.Sequential": (lambda: layers.Sequential([layers.Flatten()]), "layers must hold at least one"),
    "layers.digits_cnn": (lambda: layers.digits_cnn(0, c1=0), "c1 must be >= 1"),
    "filters.conv_layers": (lambda: filters.conv_layers("net"), "model must be"),
    "filters.filter_norms": (lambda: filters.filter_norms(CNN, 2), "layer must be the index of a Conv2d"),
    "filters.filter_keep": (lambda: filters.filter_keep(CNN, 0, 1.5), r"sparsity must be in \[0.0, 1.0\]"),
    "filters.remove_filters": (lambda: filters.remove_filters(CNN, 0, np.zeros(8, bool)), "keep must be a bool vector"),
    "filters.prune_filters": (lambda: filters.prune_filters(CNN, -0.5), r"sparsity must be in \[0.0, 1.0\]"),
    "filters.filter_sensitivity": (lambda: filters.filter_sensitivity(CNN, 0, [2.0], X, Y), r"fractions must be in"),
    "quantization.quantize_multiplier": (lambda: quant.quantize_multiplier(-0.5), r"M must be in \[0, inf\)"),
    "quantization.saturating_rounding_doubling_high_mul": (lambda: quant.saturating_rounding_doubling_high_mul("a", 1),
                                                           "a must hold integers"),
    "quantization.rounding_divide_by_pot": (lambda: quant.rounding_divide_by_pot([1], 40), r"exponent must be in \[0, 31\]"),
    "quantization.multiply_by_quantized_multiplier": (lambda: quant.multiply_by_quantized_multiplier([1.5], 2 ** 30, 0),
                                                      "acc must hold integers"),
    "quantization.requantize": (lambda: quant.requantize(np.array([1.5]), 0.5, 0), "acc must hold integers"),
    "quantization.int8_dense": (lambda: quant.int8_dense(np.ones((2, 3), int), 0.1, 0, np.ones((4, 2), int), 0.1, 0.1, 0),
                                r"q_x must be \(n, in\) and q_w \(out, in\)"),
    "quantization.q_range": (lambda: quant.q_range(bits=1), r"bits must be in \[2, 16\], got 1"),
    "quantization.qparams": (lambda: quant.qparams(1.0, 0.0), "x_min must be <= x_max"),
    "quantization.quantize": (lambda: quant.quantize([1.0], 0.1, 0, -128, 127, rule="tf"), "rule must be one of"),
    "quantization.dequantize": (lambda: quant.dequantize([1.5], 0.1, 0), "q must hold integers"),
    "quantization.fake_quantize": (lambda: quant.fake_quantize([1.0], -0.1, 0, -128, 127), "scale must be > 0"),
    "quantization.fake_quant_with_min_max": (lambda: quant.fake_quant_with_min_max([1.0], 0.0, 1.0, bits=17),
                                             r"bits must be in \[2, 16\]"),
    "distillation.softmax": (lambda: kd.softmax(np.ones((2, 3)), T=0), "T must be a finite number > 0"),
    "distillation.log_softmax": (lambda: kd.log_softmax(NAN, T=1.0), "z contains NaN"),
    "distillation.soft_cross_entropy": (lambda: kd.soft_cross_entropy(np.ones((2, 2)), np.ones(3)), "z must be 2-d"),
    "distillation.kl_divergence": (lambda: kd.kl_divergence(np.ones((2, 2)), np.ones((2, 2)), T=-1), "T must be"),
    "distillation.kd_loss": (lambda: kd.kd_loss(np.ones((2, 3)), np.ones((2, 3)), None, alpha=0.5), "labels must be given"),
    "distillation.kd_loss_fn": (lambda: kd.kd_loss_fn(T=0.0), "T must be"),
    "distillation.bias_correction": (lambda: kd.bias_correction(np.ones((2, 3)), 5, 1.0), r"cls must be in \[0, 2\]"),
    "distillation.hint_regressor": (lambda: kd.hint_regressor(0, 4), "c_student must be >= 1"),
    "distillation.hint_loss": (lambda: kd.hint_loss(np.ones((2, 3)), np.ones((2, 4)), np.ones((3, 3)), np.ones(4)),
                               "shapes must be"),
    "distillation.attention_map": (lambda: kd.attention_map(np.ones((2, 3))), "features must be 4-d"),
    "distillation.attention_loss": (lambda: kd.attention_loss(np.ones((1, 2, 3, 3)), np.ones((2, 2, 3, 3))),
                                    "student and teacher maps must have the same"),
    "observers.MinMaxObserver": (lambda: obs.MinMaxObserver(bits=20), r"bits must be in \[2, 16\]"),
    "observers.MovingAverageObserver": (lambda: obs.MovingAverageObserver(averaging_constant=0.0),
                                        r"averaging_constant must be in \(0, 1\]"),
    "observers.PercentileObserver": (lambda: obs.PercentileObserver(percentile=101), r"percentile must be in \[50, 100\]"),
    "observers.MSEObserver": (lambda: obs.MSEObserver(grid=0), "grid must be >= 1"),
    "observers.KLObserver": (lambda: obs.KLObserver(bins=10), "bins must be >= 128"),
    "data.make_regression_task": (lambda: data.make_regression_task(n_informative=200), "n_informative must be <="),
    "qat.ste_mask": (lambda: qat.ste_mask([1.0], 0.1, 0, 7, -8), "q_min must be < q_max"),
    "qat.fake_quantize_ste": (lambda: qat.fake_quantize_ste([1.0], 0.0, 0, -8, 7), "scale must be > 0"),
    "qat.nudged_range": (lambda: qat.nudged_range(1.0, -1.0), "x_min must be < x_max"),
    "qat.fake_quant_with_min_max_grad": (lambda: qat.fake_quant_with_min_max_grad(np.ones(2), np.ones(3), -1.0, 1.0),
                                         "dy must have the shape of x"),
    "qat.lsq_grad_scale": (lambda: qat.lsq_grad_scale(0, 7), "n must be >= 1"),
    "qat.lsq_init_step": (lambda: qat.lsq_init_step(NAN, 7), "w contains NaN"),
    "qat.lsq_quantize": (lambda: qat.lsq_quantize([1.0], 0.0, 4, 3), r"s must be in \(0, inf\)"),
    "qat.lsq_grads": (lambda: qat.lsq_grads([1.0], [1.0], 0.5, -1, 3), "Q_N must be >= 0"),
    "qat.batch_norm": (lambda: qat.batch_norm(np.ones((2, 3)), np.ones(2), 0 * np.ones(3), np.ones(3), np.ones(3)),
                       r"gamma must have shape \(3,\)"),
    "qat.fold_batch_norm": (lambda: qat.fold_batch_norm(W, None, *[np.ones(3)] * 3, -np.ones(3)), "var must be >= 0"),
    "qat.FakeQuant": (lambda: qat.FakeQuant(bits=1), r"bits must be in \[2, 16\]"),
    "qat.attach_fake_quant": (lambda: qat.attach_fake_quant(MLP.copy(), w_bits=[8]), "w_bits must have one entry per layer"),
    "qat.calibrate": (lambda: qat.calibrate(MLP.copy(), NAN), "X contains NaN"),
    "nn.Network.set_fake_quant": (lambda: MLP.copy().set_fake_quant([None]), "weights must hold one quantizer"),
}

# public names that take no input a caller could get wrong (data containers, constants, plain results)
NO_INPUT = {
    "sparsity.SparsityRow": "a result record built by sparsity_report",
    "sparsity.SparsityReport": "a result table built by sparsity_report",
    "nn.Activation": "a record of the activation table",
    "trees.RepStep": "a result record of reduced_error_prune",
    "second_order.PruneTrace": "a result record of prune_sequence",
    "monks.Monk": "a result record of monk()",
    "monks.all_examples": "takes no arguments",
    "data.Split": "a result record of load_digits_split",
    "layers.Flatten": "takes no arguments",
}


def _public():
    for mod in MODULES:
        short = mod.__name__.split(".")[-1]
        for name, obj in vars(mod).items():
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj)) \
                    and getattr(obj, "__module__", "") == mod.__name__:
                yield f"{short}.{name}"


def test_every_public_function_is_covered():
    missing = sorted(set(_public()) - set(CASES) - set(NO_INPUT))
    assert not missing, f"public functions without a validation case: {missing}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_named(name):
    call, match = CASES[name]
    with pytest.raises((ValueError, TypeError), match=match):
        call()
