"""Checkers for lesson 05 (magnitude pruning). References come from course_lib.pruning.prune."""
import numpy as np

from ..pruning import prune
from ..core.nn import MLP, train
from ._core import Case, Mistake, allclose, exact, items, run_checks
from ..core.ops import conv_output_size, im2col_indices


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


# ----------------------------------------------------------------------------- the conv part
def _out_shape(h, w, k, stride, padding):
    return conv_output_size(h, k, stride, padding), conv_output_size(w, k, stride, padding)


def check_conv_output_shape(fn):
    """Exercise 5.5: (h_out, w_out) of a k x k convolution with stride and zero padding."""
    hint = "h_out = (h + 2 padding - k) // stride + 1, and the same for w; return a tuple of two ints"
    cases = [Case("3x3, stride 1, padding 1 keeps the size", (8, 8, 3, 1, 1), hint=hint),
             Case("no padding shrinks by k - 1", (8, 6, 3, 1, 0), hint=hint),
             Case("stride 2 with padding 1", (7, 9, 3, 2, 1), hint="the division rounds DOWN (//)"),
             Case("a kernel as large as the padded input", (4, 4, 6, 1, 1), hint=hint),
             Case("stride 3, padding 2, 2x2 kernel", (9, 7, 2, 3, 2), hint=hint)]
    wrong = [Mistake(lambda h, w, k, s, p: ((h + p - k) // s + 1, (w + p - k) // s + 1),
                     "the padding is added on BOTH sides: h + 2 padding."),
             Mistake(lambda h, w, k, s, p: (-(-(h + 2 * p - k) // s) + 1, -(-(w + 2 * p - k) // s) + 1),
                     "the division rounds down: a window that does not fit is not computed.")]
    return run_checks(fn, _out_shape, cases, "5.5", compare=exact, mistakes=wrong)


def _index_map(h, w, k, stride, padding):
    _, row, col = im2col_indices(1, h, w, k, k, stride, padding)
    return row, col


def check_im2col_index_map(fn):
    """Exercise 5.6: the (row, col) index arrays of im2col for one channel, in padded coordinates."""
    hint = ("entry [i * k + j, r * w_out + t] is (stride * r + i, stride * t + j): kernel position down the "
            "rows, output position along the columns, both row-major")
    cases = [Case("3x3 input, 2x2 kernel", (3, 3, 2, 1, 0), hint=hint),
             Case("with padding 1", (4, 4, 3, 1, 1), hint="indices are into the PADDED input: no subtraction"),
             Case("stride 2", (5, 7, 3, 2, 0), hint="the output position moves by `stride` pixels"),
             Case("a 1x1 kernel", (2, 3, 1, 1, 0), hint=hint)]
    wrong = [Mistake(lambda h, w, k, s, p: tuple(a.T for a in _index_map(h, w, k, s, p)),
                     "your arrays are transposed: one ROW per kernel position (k * k rows), one column per output pixel."),
             Mistake(lambda h, w, k, s, p: tuple(a - p for a in _index_map(h, w, k, s, p)),
                     "index the PADDED input: do not subtract the padding.")]
    return run_checks(fn, _index_map, cases, "5.6", compare=exact, mistakes=wrong)


def _remove_filter(W1, b1, W2, o):
    return np.delete(W1, o, axis=0), np.delete(b1, o), np.delete(W2, o, axis=1)


def check_remove_filter(fn):
    """Exercise 5.7: remove filter o of a conv layer and the matching input channel of the next conv."""
    rng = np.random.default_rng(57)
    hint = ("filter o is W1[o] and b1[o]; its output is channel o of the next layer's input, i.e. W2[:, o]; "
            "remove all three (np.delete) and return new arrays")
    cases = [Case("4 filters, remove filter 1", (rng.normal(size=(4, 2, 3, 3)), rng.normal(size=4),
                                                  rng.normal(size=(5, 4, 3, 3)), 1), hint=hint),
             Case("remove the last filter", (rng.normal(size=(3, 1, 3, 3)), rng.normal(size=3),
                                             rng.normal(size=(2, 3, 1, 1)), 2), hint=hint),
             Case("next layer with as many filters as inputs (W2 is 4 x 4 x 3 x 3)",
                  (rng.normal(size=(4, 2, 3, 3)), rng.normal(size=4), rng.normal(size=(4, 4, 3, 3)), 0),
                  hint="W2 has shape (out, in, k, k): remove along axis 1, its INPUT channels")]
    wrong = [Mistake(lambda W1, b1, W2, o: (np.delete(W1, o, 0), np.delete(b1, o), np.delete(W2, o, 0)),
                     "you removed the next layer's FILTER o (axis 0); remove its INPUT channel o (axis 1)."),
             Mistake(lambda W1, b1, W2, o: (np.delete(W1, o, 0), np.delete(b1, o), W2),
                     "the next layer still expects the removed channel: remove W2[:, o] too."),
             Mistake(lambda W1, b1, W2, o: (np.delete(W1, o, 0), b1, np.delete(W2, o, 1)),
                     "the filter's bias b1[o] must go too.")]
    return run_checks(fn, _remove_filter, cases, "5.7", compare=items(("W1", "b1", "W2")), mistakes=wrong)
