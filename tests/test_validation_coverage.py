"""Every public function of course_lib's numpy parts rejects a bad value of EACH argument with an error naming it.

The functions are found by walking the packages (core, pruning, quantization, distillation, coding; not
frameworks or checks). A function that declares its constraints (`@validate`, course_lib/core/validation.py)
is tried with every bad value of every argument, derived from the declarations, the other arguments
filled with values the constraints accept. In a module where one function declares, all must. Modules
not yet converted keep one hand-written bad call per function in CASES below; a public function in
neither place (nor in NO_INPUT, with the reason) fails `test_every_public_function_is_covered`.
Checks a declaration cannot state (two arguments that must agree) stay in the function's body; BODY_CHECKS
keeps one bad call for each, and its error must start with the argument's name.
"""
import importlib
import inspect
import pkgutil

from pathlib import Path

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
from course_lib.pruning import layerwise, nm_sparsity, wanda

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
NAN = np.array([1.0, np.nan])

CASES = {
    "ptq.Int8Model.forward_int": (lambda: ptq.Int8Model(0.1, 0).forward_int(np.array([[300]])), "q_x must hold int8"),
    "schedules.PruningSchedule.should_prune": (lambda: schedules.ConstantSparsity(0.5, 0)(-3), "step must be >= 0"),
    "nn.Network.set_masks": (lambda: nn.MLP([3, 2]).set_masks([np.ones(3)]), r"masks\[0\] must be a bool array"),
    "nn.Network.set_fake_quant": (lambda: MLP.copy().set_fake_quant([None]), "weights must hold one quantizer"),
}
CASES |= {  # the transformer track's small argument checkers (lesson 12)
    "layerwise.check_layer": (lambda: layerwise.check_layer(np.ones(3), np.eye(3)), "W must be a 2-d array"),
    "layerwise.check_damp": (lambda: layerwise.check_damp(-1.0), "damp must be in"),
    "layerwise.inverse_hessian": (lambda: layerwise.inverse_hessian(NAN), "H contains NaN"),
    "nm_sparsity.check_nm": (lambda: nm_sparsity.check_nm(3, 2, 8), r"n must be in \[0, 2\]"),
    "wanda.check_nm_sparsity": (lambda: wanda.check_nm_sparsity(0.5, 2, None, 8), "n and m must be given together"),
}
CASES |= {  # the tiny GPT (issue 22): core.text, core.transformer and its counts in measure
    "text.encode": (lambda: text.encode("caf\u00e9"), "text holds"),
    "text.decode": (lambda: text.decode([96]), r"tokens must be in \[0, 95\]"),
    "text.load_corpus": (lambda: text.load_corpus(3), "path must be a str or pathlib.Path"),
    "text.split_documents": (lambda: text.split_documents(None), "text must be a str"),
    "text.corpus_split": (lambda: text.corpus_split(3), "text must be a str"),
    "text.windows": (lambda: text.windows(np.arange(3), 5), "tokens must hold at least context"),
    "transformer.GPTConfig": (lambda: tr.GPTConfig(d_model=10, n_head=4), "n_head must divide"),
    "transformer.param_shapes": (lambda: tr.param_shapes({}), "config must be a GPTConfig"),
    "transformer.layer_norm": (lambda: tr.layer_norm(np.ones((2, 3)), np.ones(2), np.ones(3)), r"gamma must have shape \(3,\)"),
    "transformer.gelu": (lambda: tr.gelu([1.0]), "x must be a float numpy array"),
    "transformer.linear": (lambda: tr.linear(np.ones((2, 3)), np.ones((4, 2)), np.ones(4)), r"W must have shape \(out, 3\)"),
    "transformer.softmax": (lambda: tr.softmax(np.ones(3), axis=2), "axis must be in"),
    "transformer.causal_mask": (lambda: tr.causal_mask(4, 3), "t_query must be <= t_key"),
    "transformer.attention": (lambda: tr.attention(np.ones((1, 2, 4)), np.ones((1, 3, 4)), np.ones((1, 3, 5))), "q, k and v_ must be"),
    "transformer.split_heads": (lambda: tr.split_heads(np.ones((1, 2, 6)), 4), "n_head must divide d=6"),
    "transformer.merge_heads": (lambda: tr.merge_heads(np.ones((2, 6))), r"x must have shape \(batch, n_head"),
    "transformer.KVCache": (lambda: tr.KVCache(0), "n_layer must be >= 1"),
    "transformer.TinyGPT": (lambda: tr.TinyGPT.init(tr.GPTConfig(n_layer=1, context=4)).forward(np.zeros((1, 5), int)),
                            r"tokens must have time <= 4"),
    "transformer.load_tiny_gpt": (lambda: tr.load_tiny_gpt(b"w.npz"), "path must be a str or pathlib.Path"),
    "transformer.mean_nll": (lambda: tr.mean_nll(None, np.arange(300)), "model must be a TinyGPT"),
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

# public names that take no input a caller could get wrong (data containers, constants, plain results)
NO_INPUT = {
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
CONVERTED = {name.split(".")[0] for name in DECLARED}  # modules that declare: every function there must


def test_the_walk_finds_every_numpy_module():
    assert {"measure", "nn", "masks", "primitives", "kd", "weight_sharing"} <= {m.__name__.split(".")[-1] for m in MODULES}
    assert not any(".frameworks." in m.__name__ or ".checks." in m.__name__ for m in MODULES)


# Modules of the transformer track (lessons 12-14) that test every public function's bad input in their own test
# file (not yet converted to declarations): a function counts as covered when that file calls it.
OWN_TESTS = {m: "test_layerwise.py" for m in ("layerwise", "gptq", "sparsegpt", "wanda", "nm_sparsity", "obq")} | {
    "minifloat": "test_minifloat_oracle.py", "groupwise": "test_groupwise_oracle.py", "mx": "test_mx_oracle.py",
    "nf4": "test_nf4_oracle.py", "outliers": "test_outliers.py", "kv_cache": "test_kv_cache.py",
    "svd": "test_lowrank.py", "tucker": "test_lowrank.py", "lora": "test_lowrank.py"}


def _own_test_covers(name):
    module, function = name.split(".")[:2]
    if module not in OWN_TESTS:
        return False
    text = (Path(__file__).parent / OWN_TESTS[module]).read_text()
    return f"{function}(" in text and ("errors_name_the_argument" in text or "bad_input_is_named" in text)


def test_every_public_function_is_covered():
    missing = sorted(n for n in PUBLIC if n not in DECLARED and n not in NO_INPUT and not _own_test_covers(n)
                     and (n.split(".")[0] in CONVERTED or n not in CASES))
    assert not missing, f"public functions without declared constraints (or, in a module not yet converted, a case): {missing}"
    stale = sorted(n for n in CASES if (n.split(".")[0] in CONVERTED and n.count(".") == 1)  # methods stay here
                   or ".".join(n.split(".")[:2]) not in PUBLIC)
    assert not stale, f"hand-written cases of converted modules or of names that are gone: {stale}"


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
