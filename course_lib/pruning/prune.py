"""Pruning loops from scratch: one-shot, iterative, gradual (schedule-driven), sensitivity, structured.

All functions act on `course_lib.core.nn.MLP` and never change the model they are given (they return a
new one). Training is `course_lib.core.nn.train`, the course's one loop. Masks are bool, True = keep;
a pruned model holds its masks in `model.masks` and its pruned weights are exactly 0.

Sources: Han et al. 2015 ("Learning both Weights and Connections", prune/retrain cycles);
Li et al. 2017 ("Pruning Filters for Efficient ConvNets", sensitivity and L1 ranking);
Zhu & Gupta 2017 ("To prune, or not to prune", gradual schedule); tfmot's pruning_wrapper
(step counting) and tf.contrib.model_pruning (its older update rule).
"""
import numpy as np

from ..core import validation as v
from ..core.validation import Array, Choice, Duck, Fraction, InstanceOf, Integer, Mapping, Optional, Real, Seed, \
    Sequence, validate
from .masks import P_NORM, RULE, global_magnitude_masks, magnitude_mask, slice_norms, structured_mask
from .schedules import ConstantSparsity
from ..core.nn import MLP, NETWORK, accuracy
from ..core.nn import train as nn_train

TRAIN = nn_train.constraints  # what iterative_prune and gradual_prune pass on to nn.train, checked as it checks it
SCOPE = Choice("layer", "global")
LAYERS = Optional(Sequence(Integer(minimum=0), least="one layer index"))
LAYER = Integer(minimum=0)
MLP_MODEL = InstanceOf(MLP, lambda: MLP([2, 2, 2]), "course_lib MLP (nn.MLP)")
SCHEDULE = Duck(("should_prune", "sparsity"), lambda: ConstantSparsity(0.5, 0),
                "a course_lib.pruning.schedules schedule (PolynomialDecay, ConstantSparsity)")


class _PerLayer(v.Constraint):
    """One fraction in [0, 1], or a list of them (one per pruned layer; the count is checked in the body)."""

    def check(self, x, name):
        return v.fraction(x, name) if np.ndim(x) == 0 else Sequence(Fraction()).check(x, name)

    def good(self):
        return 0.5

    def bad(self):
        return ["abc", 1.5, -0.1, [0.5, 2.0], []]


def _layers(model, layers):
    """Return the validated list of layer indices to prune (default: every weight matrix)."""
    if layers is None:
        return list(range(len(model.W)))
    out = [v.integer(l, "layers", minimum=0) for l in layers]
    bad = [l for l in out if l >= len(model.W)]
    if bad:
        raise ValueError(f"layers must be in [0, {len(model.W) - 1}], got {bad}")
    return out


def _layer(model, layer):
    """Return the one layer index `layer`, checked against the model's number of weight matrices."""
    if not 0 <= layer < len(model.W):
        raise ValueError(f"layer must be in [0, {len(model.W) - 1}], got {layer}")
    return layer


def _per_layer(sparsity, layers, name="sparsity"):
    """Broadcast one sparsity (or a list, one per pruned layer) to a list of fractions."""
    if np.ndim(sparsity) == 0:
        return [v.fraction(sparsity, name)] * len(layers)
    if len(sparsity) != len(layers):
        raise ValueError(f"{name} must be one number or one per pruned layer ({len(layers)}), "
                         f"got {len(sparsity)} values")
    return [v.fraction(s, name) for s in sparsity]


def _train_kw(train_kw):
    """Check the keyword arguments passed on to nn.train with its own constraints (nested calls trust us)."""
    return {k: TRAIN[k].check(a, k) if k in TRAIN else a for k, a in train_kw.items()}


# --------------------------------------------------------------------------- one-shot, iterative
@validate(model=NETWORK, sparsity=_PerLayer(), scope=SCOPE, rule=RULE, layers=LAYERS)
def magnitude_masks(model, sparsity, scope="layer", rule="torch", layers=None):
    """Return {layer: mask} that prunes the smallest |W * m| per layer or over all layers at once.

    scope="layer": every layer l loses the fraction sparsity[l] of its own weights (its own threshold).
    scope="global": one threshold over all the listed layers (torch's global_unstructured; rule torch).
    Already-pruned weights are 0, hence smallest: masks only grow sparser as the target rises.
    """
    layers = _layers(model, layers)
    weights = model.effective_weights()
    if scope == "global":
        if rule != "torch":
            raise ValueError("rule must be 'torch' with scope='global' (tfmot has no global threshold)")
        return dict(zip(layers, global_magnitude_masks([weights[l] for l in layers],
                                                        v.fraction(sparsity, "sparsity"))))
    return {l: magnitude_mask(weights[l], s, rule) for l, s in zip(layers, _per_layer(sparsity, layers))}


@validate(model=NETWORK, masks=Mapping(Array()))
def with_masks(model, masks):
    """Return a copy of `model` with the given {layer: mask} set and its weights multiplied by them."""
    bad = [l for l in masks if isinstance(l, (bool, np.bool_)) or not isinstance(l, (int, np.integer))
           or not 0 <= l < len(model.W)]
    if bad:
        raise ValueError(f"masks must map layer indices in [0, {len(model.W) - 1}] to bool arrays, got keys {bad}")
    new, layers = model.copy(), list(masks)
    new.set_masks([np.asarray(masks[l], dtype=bool) if l in layers else m for l, m in enumerate(new.masks)])
    return new


@validate(model=NETWORK, sparsity=_PerLayer(), scope=SCOPE, rule=RULE, layers=LAYERS)
def prune_one_shot(model, sparsity, scope="layer", rule="torch", layers=None):
    """Return a pruned copy of `model`: magnitude masks at `sparsity`, no retraining (Han et al. 2015)."""
    return with_masks(model, magnitude_masks(model, sparsity, scope, rule, layers))


@validate(model=NETWORK, X=TRAIN["X"], y=TRAIN["y"], sparsities=Sequence(Fraction()), epochs=TRAIN["epochs"],
          scope=SCOPE, layers=LAYERS, seed=Seed())
def iterative_prune(model, X, y, sparsities, epochs, scope="layer", layers=None, seed=0, **train_kw):
    """Return (model, per-step copies): prune to each sparsity in turn, fine-tune `epochs` after each.

    Han et al. 2015, Sec. 3.3: iterative pruning and retraining, each step starting from the last.
    """
    if len(sparsities) == 0 or any(b < a for a, b in zip(sparsities[:-1], sparsities[1:])):
        raise ValueError(f"sparsities must be a non-empty increasing sequence, got {list(sparsities)}")
    train_kw, steps = _train_kw(train_kw), []
    for i, s in enumerate(sparsities):
        model = prune_one_shot(model, s, scope, "torch", layers)
        nn_train(model, X, y, epochs, seed=seed + i, **train_kw)
        steps.append(model.copy())
    return model, steps


# --------------------------------------------------------------------------- gradual (schedule-driven)
@validate(model=NETWORK, X=TRAIN["X"], y=TRAIN["y"], schedule=SCHEDULE, epochs=TRAIN["epochs"], lr=TRAIN["lr"],
          batch_size=TRAIN["batch_size"], momentum=TRAIN["momentum"], seed=TRAIN["seed"], loss=TRAIN["loss"], rule=RULE,
          layers=LAYERS)
def gradual_prune(model, X, y, schedule, epochs, lr=0.1, batch_size=32, momentum=0.9, seed=0,
                  loss="cross_entropy", rule="tfmot", layers=None):
    """Train a copy of `model` while a schedule raises its sparsity; return (model, history).

    Step counting as tfmot's pruning_wrapper: before each batch `step += 1` (the first batch is step 1);
    if schedule.should_prune(step), every pruned layer gets a new magnitude mask at
    schedule.sparsity(step); gradients are masked, so pruned weights stay 0 until the next update.
    history: one (step, target sparsity, measured sparsity of the pruned layers) per mask update.
    """
    model, layers = model.copy(), _layers(model, layers)
    history = []

    def update_masks(step, model):
        if schedule.should_prune(step):
            s = schedule.sparsity(step)
            new = magnitude_masks(model, s, "layer", rule, layers)
            model.set_masks([new.get(l, m) for l, m in enumerate(model.masks)])
            history.append((step, s, pruned_fraction(model, layers)))

    nn_train(model, X, y, epochs, lr, batch_size, momentum, seed, loss, on_step=update_masks)
    return model, history


@validate(model=NETWORK, layers=LAYERS)
def pruned_fraction(model, layers=None):
    """Return the fraction of exact zeros over the weight matrices of `layers` (biases excluded)."""
    ws = [model.W[l] for l in _layers(model, layers)]
    return float(sum(np.sum(w == 0) for w in ws) / sum(w.size for w in ws))


@validate(schedule=SCHEDULE, n_steps=Integer(minimum=0))
def update_steps(schedule, n_steps):
    """Return the steps 1..n_steps at which a tfmot-style schedule updates the masks."""
    return [t for t in range(1, n_steps + 1) if schedule.should_prune(t)]


@validate(n_steps=Integer(minimum=0), begin_pruning_step=Integer(minimum=0), end_pruning_step=Integer(minimum=-1),
          pruning_frequency=Integer(minimum=1))
def contrib_update_steps(n_steps, begin_pruning_step=0, end_pruning_step=-1, pruning_frequency=10):
    """Return the steps 1..n_steps at which tf.contrib.model_pruning updated its masks.

    Rule (tensorflow/contrib/model_pruning/python/pruning.py, `_maybe_update_masks`):
    update when begin <= gs <= end (or end < 0) AND last_update + frequency <= gs; then last_update = gs.
    last_update starts at 0, so it is not tfmot's `(gs - begin) % frequency == 0`.
    """
    begin, end, freq = begin_pruning_step, end_pruning_step, pruning_frequency
    last, out = 0, []
    for gs in range(1, n_steps + 1):
        if begin <= gs and (gs <= end or end < 0) and last + freq <= gs:
            out.append(gs)
            last = gs
    return out


# --------------------------------------------------------------------------- sensitivity analysis
@validate(model=NETWORK, layer=LAYER, sparsities=Sequence(Fraction()), X=Array(), y=Array(), rule=RULE)
def layer_sensitivity(model, layer, sparsities, X, y, rule="torch"):
    """Return the accuracy on (X, y) after pruning only `layer` to each sparsity (no retraining).

    Li et al. 2017, Sec. 3.2 / Distiller's perform_sensitivity_analysis: one layer at a time,
    the others untouched; the model itself is not changed.
    """
    layer = _layer(model, layer)
    return np.array([accuracy(prune_one_shot(model, s, "layer", rule, [layer]), X, y)
                     for s in [v.fraction(s, "sparsities") for s in sparsities]])


@validate(model=NETWORK, sparsities=Sequence(Fraction()), X=Array(), y=Array(), layers=LAYERS, rule=RULE)
def sensitivity_analysis(model, sparsities, X, y, layers=None, rule="torch"):
    """Return an array (n_layers, n_sparsities): accuracy with one layer pruned at a time."""
    return np.stack([layer_sensitivity(model, l, sparsities, X, y, rule) for l in _layers(model, layers)])


@validate(sparsities=Array(ndim=1), scores=Array(ndim=1), baseline=Real(), max_drop=Fraction())
def largest_safe_sparsity(sparsities, scores, baseline, max_drop):
    """Return the largest sparsity s such that every tested sparsity <= s scores >= baseline - max_drop.

    The walk stops at the first failure (later recoveries are noise, not safety); 0.0 if the first fails.
    """
    s, a = np.asarray(sparsities, dtype=float), np.asarray(scores, dtype=float)
    if s.shape != a.shape or s.ndim != 1:
        raise ValueError(f"sparsities and scores must be 1-d of the same length, got {s.shape} and {a.shape}")
    if np.any(np.diff(s) <= 0):
        raise ValueError("sparsities must be strictly increasing")
    best, floor = 0.0, baseline - max_drop - 1e-9  # 1e-9: 0.975 - 0.01 = 0.96500...01 must not fail 0.965
    for si, ai in zip(s, a):
        if ai < floor:
            break
        best = float(si)
    return best


@validate(curves=Array(), sparsities=Array(ndim=1), baseline=Real(), max_drop=Fraction())
def targets_from_sensitivity(curves, sparsities, baseline, max_drop):
    """Return one sparsity target per layer: largest_safe_sparsity of each layer's curve."""
    return [largest_safe_sparsity(sparsities, c, baseline, max_drop) for c in np.atleast_2d(curves)]


# --------------------------------------------------------------------------- structured removal
@validate(model=NETWORK, layer=LAYER, p=P_NORM)
def neuron_norms(model, layer, p=1):
    """Return the Lp norm of each output neuron's incoming weights: ||W[layer][i, :]||_p (Li et al.)."""
    layer = _layer(model, layer)
    return slice_norms(model.effective_weights()[layer], axis=0, p=p)


@validate(model=MLP_MODEL, layer=LAYER, keep=Array())
def remove_neurons(model, layer, keep):
    """Return a NARROWER copy of `model` that keeps only the hidden neurons `keep` of `layer`.

    Neuron i of layer l is row i of W[l] and entry i of b[l], and it feeds column i of W[l + 1]:
    all three go, so the next layer's inputs stay consistent. `keep`: indices or a bool vector.
    """
    layer = _layer(model, layer)
    if layer == len(model.W) - 1:
        raise ValueError(f"layer must be a hidden layer in [0, {len(model.W) - 2}]: the output layer's "
                         "neurons are the model's outputs")
    n = model.W[layer].shape[0]
    keep = np.asarray(keep)
    if keep.dtype == bool:
        if keep.shape != (n,):
            raise ValueError(f"keep must be a bool vector of length {n}, got shape {keep.shape}")
        keep = np.flatnonzero(keep)
    keep = np.asarray(keep, dtype=int).reshape(-1)
    if keep.size == 0 or np.any(keep < 0) or np.any(keep >= n) or len(set(keep.tolist())) != keep.size:
        raise ValueError(f"keep must hold distinct neuron indices in [0, {n - 1}], at least one")
    keep = np.sort(keep)
    new = model.copy()
    new.W[layer], new.b[layer] = new.W[layer][keep], new.b[layer][keep]
    new.W[layer + 1] = new.W[layer + 1][:, keep]
    if new.masks[layer] is not None:
        new.masks[layer] = new.masks[layer][keep]
    if new.masks[layer + 1] is not None:
        new.masks[layer + 1] = new.masks[layer + 1][:, keep]
    new.sizes[layer + 1] = int(keep.size)
    return new


@validate(model=MLP_MODEL, fraction=_PerLayer(), p=P_NORM, strategy=Choice("independent", "greedy"))
def prune_neurons(model, fraction, p=1, strategy="independent"):
    """Return a narrower copy: every hidden layer loses round(fraction * width) neurons of least Lp norm.

    strategy="independent" ranks every layer on the ORIGINAL weights (torch's ln_structured(amount=
    fraction, n=p, dim=0) applied to each layer); "greedy" ranks layer l after the neurons of layer
    l - 1 are gone, so removed inputs no longer count (Li et al. 2017, Sec. 3.3, both strategies).
    `fraction` is one number or one per hidden layer.
    """
    hidden = list(range(len(model.W) - 1))
    fractions = _per_layer(fraction, hidden, "fraction")
    keeps = {}
    new = model.copy()
    for l, f in zip(hidden, fractions):
        source = new if strategy == "greedy" else model
        keeps[l] = structured_mask(source.effective_weights()[l], f, axis=0, p=p)[:, 0]
        if not keeps[l].any():
            raise ValueError(f"fraction={f} would remove every neuron of layer {l}")
        if strategy == "greedy":
            new = remove_neurons(new, l, keeps[l])
    if strategy == "independent":
        for l in hidden:
            new = remove_neurons(new, l, keeps[l])
    return new


# --------------------------------------------------------------------------- equal-budget comparison
@validate(sizes=Sequence(Integer(minimum=1), min_len=2, least="an input and an output width"))
def dense_weight_count(sizes):
    """Return the number of weights (no biases) of a dense MLP: sum_l n_{l-1} n_l."""
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


@validate(n_in=Integer(minimum=1), n_out=Integer(minimum=1), n_hidden=Integer(minimum=1), budget=Integer(minimum=0))
def matching_width(n_in, n_out, n_hidden, budget):
    """Return the largest hidden width h whose dense MLP [n_in, h x n_hidden, n_out] has <= budget weights.

    Used to compare a large sparse model with a small dense one at equal non-zero count
    (Zhu & Gupta 2017, Sec. 5). Returns 0 if even h = 1 exceeds the budget.
    """
    h = 0
    while dense_weight_count([n_in] + [h + 1] * n_hidden + [n_out]) <= budget:
        h += 1
    return h


__all__ = ["magnitude_masks", "with_masks", "prune_one_shot", "iterative_prune", "gradual_prune",
           "pruned_fraction", "update_steps", "contrib_update_steps", "layer_sensitivity",
           "sensitivity_analysis", "largest_safe_sparsity", "targets_from_sensitivity", "neuron_norms",
           "remove_neurons", "prune_neurons", "dense_weight_count", "matching_width"]
