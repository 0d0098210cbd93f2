"""Checkers for lesson 05 (magnitude pruning). References come from course_lib.prune."""
import numpy as np

from .. import prune
from ..nn import MLP, train
from ._core import Case, Mistake, allclose, exact, run_checks


class ModelChanged(Exception):
    """Raised by the guard when a student's function changed the model it was given."""


def _same_model(a, b):
    return a.sizes == b.sizes and all(np.array_equal(x, y) for x, y in zip(a.W + a.b, b.W + b.b)) and \
        all((m is None and n is None) or (m is not None and n is not None and np.array_equal(m, n))
            for m, n in zip(a.masks, b.masks))


def _guard(fn):
    """Wrap fn(model, ...) so that changing `model` in place becomes a failure with a clear reason."""
    def guarded(model, *args, **kwargs):
        before = model.copy()
        out = fn(model, *args, **kwargs)
        if not _same_model(before, model):
            raise ModelChanged("it changed the model passed in; prune a copy (model.copy()) instead")
        return out
    return guarded


def _trained_mlp(sizes, seed, act="relu"):
    """A small trained MLP on a fixed random task (the checker's hidden data)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, sizes[0]))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int) * (sizes[-1] > 2)
    model = MLP(list(sizes), activation=act, seed=seed)
    train(model, X, y, epochs=8, lr=0.1, seed=seed)
    return model, X, y


def check_layer_sensitivity(fn):
    """Exercise 5.1: accuracy after pruning ONE layer to each sparsity (no retraining)."""
    hint = ("for each s: prune a copy of the model (prune_one_shot(model, s, layers=[layer]) or "
            "magnitude_mask on model.W[layer] only), then accuracy(pruned, X, y); leave the other layers alone")
    m1, X1, y1 = _trained_mlp([5, 12, 8, 3], 0)
    m2, X2, y2 = _trained_mlp([4, 6, 2], 1, act="tanh")
    cases = [Case("first layer of a 2-hidden-layer MLP", (m1, 0, [0.0, 0.5, 0.8, 0.95], X1, y1), hint=hint),
             Case("middle layer", (m1, 1, [0.3, 0.6, 0.9, 1.0], X1, y1),
                  hint="prune model.W[layer], exactly that index (layers count from 0)"),
             Case("output layer, tanh network", (m2, 1, [0.25, 0.5, 0.75], X2, y2), hint=hint),
             Case("sparsity 0 changes nothing", (m2, 0, [0.0], X2, y2),
                  hint="at s = 0 the accuracy is the unpruned model's")]
    tfmot = Mistake(lambda model, layer, sparsities, X, y: prune.layer_sensitivity(model, layer, sparsities, X, y,
                                                                                 rule="tfmot"),
                    "these are the accuracies of tfmot's counting rule (keep round(n(1 - s)) plus ties); the "
                    "exercise uses torch's: prune exactly round(s * n) weights, i.e. magnitude_mask(w, s) "
                    "with its default rule='torch'.")
    return run_checks(_guard(fn), prune.layer_sensitivity, cases, "5.1", compare=allclose(1e-12), mistakes=(tfmot,))


class _Summary:
    """A model seen by the checker: sizes, W and b; prints its shapes only (short verdicts)."""

    def __init__(self, model):
        self.is_mlp = isinstance(model, MLP)
        self.kind = type(model).__name__
        if self.is_mlp:
            self.sizes, self.W, self.b = list(model.sizes), list(model.W), list(model.b)

    def __repr__(self):
        if not self.is_mlp:
            return f"a {self.kind}, not an MLP"
        return (f"MLP(sizes={self.sizes}, W shapes={[w.shape for w in self.W]}, "
                f"b shapes={[b.shape for b in self.b]})")


def _compare_models(expected, got):
    """Return why two model summaries differ (naming the array), or None."""
    if not got.is_mlp:
        return f"expected a new MLP, got {got!r}"
    if got.sizes != expected.sizes:
        return f"sizes should be {expected.sizes}, got {got.sizes}"
    for name, es, gs in (("W", expected.W, got.W), ("b", expected.b, got.b)):
        for i, (e, g) in enumerate(zip(es, gs)):
            why = exact(e, np.asarray(g))
            if why:
                return f"{name}[{i}]: {why}"
    return None


def check_remove_neurons(fn):
    """Exercise 5.2: physically remove hidden neurons; the next layer's inputs must follow."""
    hint = ("neuron i of layer l is row i of W[l], entry i of b[l] and COLUMN i of W[l+1]; "
            "remove all three and update sizes[l+1]")

    def ref(model, layer, keep):
        return _Summary(prune.remove_neurons(model, layer, keep))

    def student(model, layer, keep):
        return _Summary(fn(model, layer, keep))

    m1, _, _ = _trained_mlp([5, 6, 4, 3], 2)
    m2, _, _ = _trained_mlp([3, 4, 2], 3, act="tanh")
    cases = [Case("drop neurons 1 and 4 of the first hidden layer", (m1, 0, np.array([1, 0, 1, 1, 0, 1], bool)), hint=hint),
             Case("the second hidden layer (its next layer is the output)", (m1, 1, np.array([0, 1, 1, 0], bool)), hint=hint),
             Case("keep a single neuron", (m2, 0, np.array([0, 0, 1, 0], bool)),
                  hint="keep W[l][keep], b[l][keep] and W[l+1][:, keep]"),
             Case("keep everything", (m2, 0, np.ones(4, bool)), hint="nothing removed: same arrays, same sizes")]
    return run_checks(_guard(student), ref, cases, "5.2", compare=_compare_models)


def check_largest_safe_sparsity(fn):
    """Exercise 5.3: the largest sparsity whose score stays within max_drop of the baseline."""
    hint = ("walk the sparsities in increasing order; keep the last one whose score is >= baseline - max_drop; "
            "stop at the first that falls below (a later recovery does not count); 0.0 if the first fails")
    sp = [0.25, 0.5, 0.75, 0.875]
    cases = [Case("a steady decline", (sp, [1.0, 0.875, 0.75, 0.5], 1.0, 0.125), hint=hint),
             Case("exactly at the allowed drop", (sp, [1.0, 0.75, 0.75, 0.5], 1.0, 0.25),
                  hint="a score equal to baseline - max_drop is still within the budget (>=)"),
             Case("a noisy recovery after a failure", (sp, [1.0, 0.5, 1.0, 1.0], 1.0, 0.25),
                  hint="stop at the first failure: 0.75 and 0.875 come after a failure"),
             Case("the first point already fails", (sp, [0.5, 1.0, 1.0, 1.0], 1.0, 0.25),
                  hint="return 0.0 when no sparsity is safe"),
             Case("all safe", (sp, [1.0, 1.0, 1.0, 1.0], 1.0, 0.0), hint="return the sparsity, not its index")]
    return run_checks(fn, prune.largest_safe_sparsity, cases, "5.3", compare=allclose(1e-12))


def most_sensitive_layer(curves):
    """Return the index (from 0) of the layer whose sensitivity curve has the lowest mean accuracy."""
    return int(np.argmin(np.asarray(curves, dtype=float).mean(axis=1)))


def check_most_sensitive_layer(fn, curves):
    """Exercise 5.4: read the notebook's own sensitivity curves (one row per layer)."""
    curves = np.asarray(curves, dtype=float)
    cases = [Case("the sensitivity curves measured above (one row per layer)", (curves,),
                  hint="average each layer's row of validation accuracies, then take the layer with the LOWEST "
                       "mean; layers count from 0 like model.W")]
    wrong = [Mistake(lambda c: int(np.argmax(np.asarray(c).mean(axis=1))),
                     "that is the most ROBUST layer (highest mean accuracy); the most sensitive loses the most."),
             Mistake(lambda c: most_sensitive_layer(c) + 1,
                     "count layers from 0, like model.W: W1 is layer 0.")]
    return run_checks(fn, most_sensitive_layer, cases, "5.4", compare=exact, mistakes=wrong)
