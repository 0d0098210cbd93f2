"""Lesson 05 checkers pass the reference and reject realistic wrong answers."""
import numpy as np

from course_lib.pruning import prune as P
from course_lib.checks import lesson05 as L
from course_lib.pruning.masks import magnitude_mask
from course_lib.core.nn import accuracy
from checker_harness import assert_passes, checker_tests


def _sens_all_layers(model, layer, sparsities, X, y):           # prunes every layer, not one
    return np.array([accuracy(P.prune_one_shot(model, s), X, y) for s in sparsities])


def _sens_in_place(model, layer, sparsities, X, y):             # prunes the model itself
    out = []
    for s in sparsities:
        model.W[layer] = model.W[layer] * magnitude_mask(model.W[layer], s)
        out.append(accuracy(model, X, y))
    return np.array(out)


def _sens_largest(model, layer, sparsities, X, y):              # prunes the LARGEST weights
    out = []
    for s in sparsities:
        m = model.copy()
        m.W[layer] = m.W[layer] * ~magnitude_mask(-np.abs(m.W[layer]), 1 - s)
        out.append(accuracy(m, X, y))
    return np.array(out)


def _sens_off_by_one(model, layer, sparsities, X, y):           # layers counted from 1
    return P.layer_sensitivity(model, min(layer + 1, len(model.W) - 1), sparsities, X, y)


def _rm_no_next(model, layer, keep):                            # forgot the next layer's columns
    m = model.copy()
    m.W[layer], m.b[layer] = m.W[layer][keep], m.b[layer][keep]
    m.sizes[layer + 1] = int(np.sum(keep))
    return m


def _rm_no_bias(model, layer, keep):                            # forgot the bias
    m = model.copy()
    m.W[layer], m.W[layer + 1] = m.W[layer][keep], m.W[layer + 1][:, keep]
    m.sizes[layer + 1] = int(np.sum(keep))
    return m


def _rm_wrong_axis(model, layer, keep):                         # removed rows of the next layer
    m = model.copy()
    m.W[layer], m.b[layer] = m.W[layer][keep], m.b[layer][keep]
    m.W[layer + 1] = m.W[layer + 1][keep[: m.W[layer + 1].shape[0]]] if len(keep) <= m.W[layer + 1].shape[0] \
        else m.W[layer + 1]
    m.sizes[layer + 1] = int(np.sum(keep))
    return m


def _rm_in_place(model, layer, keep):                           # edits the given model
    model.W[layer], model.b[layer] = model.W[layer][keep], model.b[layer][keep]
    model.W[layer + 1] = model.W[layer + 1][:, keep]
    model.sizes[layer + 1] = int(np.sum(keep))
    return model


def _rm_sizes_stale(model, layer, keep):                        # forgot to update sizes
    m = P.remove_neurons(model, layer, keep)
    m.sizes = list(model.sizes)
    return m


def _safe_strict(s, a, base, drop):                             # > instead of >=
    best = 0.0
    for si, ai in zip(s, a):
        if not ai > base - drop:
            break
        best = si
    return best


def _safe_no_stop(s, a, base, drop):                            # keeps walking after a failure
    ok = [si for si, ai in zip(s, a) if ai >= base - drop]
    return max(ok) if ok else 0.0


def _safe_first_fail(s, a, base, drop):                         # returns the first failing sparsity
    for si, ai in zip(s, a):
        if ai < base - drop:
            return si
    return s[-1]


def _safe_index(s, a, base, drop):                              # returns an index
    best = 0
    for i, ai in enumerate(a):
        if ai < base - drop:
            break
        best = i
    return float(best)


def _sens_tfmot(model, layer, sparsities, X, y):                # tfmot's counting rule
    return P.layer_sensitivity(model, layer, sparsities, X, y, rule="tfmot")


CURVES = np.array([[0.9, 0.8, 0.5], [0.96, 0.9, 0.7], [0.95, 0.94, 0.9]])  # layer 0 the most sensitive, 2 the most robust
CURVES_2 = CURVES[[1, 2, 0]]                                                  # now layer 2 is


def _sensitive_check(curves):
    def check_most_sensitive_layer(fn):
        return L.check_most_sensitive_layer(fn, curves)
    return check_most_sensitive_layer


CHECKERS = {
    "layer_sensitivity": (L.check_layer_sensitivity, P.layer_sensitivity,
                          {"all layers": _sens_all_layers, "in place": _sens_in_place, "largest": _sens_largest,
                           "off by one": _sens_off_by_one, "tfmot rule": (_sens_tfmot, "tfmot's counting rule")}),
    "remove_neurons": (L.check_remove_neurons, P.remove_neurons,
                       [_rm_no_next, _rm_no_bias, _rm_wrong_axis, _rm_in_place, _rm_sizes_stale]),
    "largest_safe_sparsity": (L.check_largest_safe_sparsity, P.largest_safe_sparsity,
                              [_safe_strict, _safe_no_stop, _safe_first_fail, _safe_index]),
    "most_sensitive_layer": (_sensitive_check(CURVES), L.most_sensitive_layer,
                             {"argmax": (lambda c: int(np.argmax(c.mean(axis=1))), "ROBUST"),
                              "counts from 1": (lambda c: L.most_sensitive_layer(c) + 1, "from 0"),
                              "a string": lambda c: "W1"}),
}


def test_the_interpretation_follows_the_measurements():
    assert L.most_sensitive_layer(CURVES) == 0 and L.most_sensitive_layer(CURVES_2) == 2
    assert L.check_most_sensitive_layer(lambda c: 2, CURVES_2).passed


test_reference_passes, test_mutant_rejected, test_stub_is_not_done_yet = checker_tests(CHECKERS, in_place_ok=True)


def test_in_place_edit_is_named():
    v = L.check_remove_neurons(_rm_in_place)
    assert "changed the model" in repr(v)


def _shape_ref(h, w, k, s, p):
    return (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1


def _rows(h, w, k, s, p):
    from course_lib.core.ops import im2col_indices
    return im2col_indices(1, h, w, k, k, s, p)[1:]


def _in_place_remove(W1, b1, W2, o):
    W1[o] = 0
    return np.delete(W1, o, 0), np.delete(b1, o), np.delete(W2, o, 1)


CONV_CHECKERS = {
    "conv_output_shape": (L.check_conv_output_shape, _shape_ref,
                          {"one-sided padding": (lambda h, w, k, s, p: ((h + p - k) // s + 1, (w + p - k) // s + 1),
                                                 "BOTH sides"),
                           "no + 1": lambda h, w, k, s, p: ((h + 2 * p - k) // s, (w + 2 * p - k) // s),
                           "rounds up": (lambda h, w, k, s, p: (-(-(h + 2 * p - k) // s) + 1, -(-(w + 2 * p - k) // s) + 1),
                                         "rounds down"),
                           "h and w swapped": lambda h, w, k, s, p: _shape_ref(w, h, k, s, p),
                           "a list of floats": lambda h, w, k, s, p: [float(x) for x in _shape_ref(h, w, k, s, p)]}),
    "im2col_index_map": (L.check_im2col_index_map, _rows,
                         {"transposed": (lambda h, w, k, s, p: tuple(a.T for a in _rows(h, w, k, s, p)), "transposed"),
                          "unpadded coordinates": (lambda h, w, k, s, p: tuple(a - p for a in _rows(h, w, k, s, p)),
                                                   "PADDED"),
                          "forgets the stride": lambda h, w, k, s, p: _rows(h, w, k, 1, p),
                          "row and col swapped": lambda h, w, k, s, p: _rows(h, w, k, s, p)[::-1]}),
    "remove_filter": (L.check_remove_filter, lambda W1, b1, W2, o: (np.delete(W1, o, 0), np.delete(b1, o),
                                                                    np.delete(W2, o, 1)),
                      {"next layer's filter": (lambda W1, b1, W2, o: (np.delete(W1, o, 0), np.delete(b1, o),
                                                                      np.delete(W2, o, 0)), "INPUT channel"),
                       "next layer untouched": (lambda W1, b1, W2, o: (np.delete(W1, o, 0), np.delete(b1, o), W2),
                                                "W2[:, o]"),
                       "bias kept": (lambda W1, b1, W2, o: (np.delete(W1, o, 0), b1, np.delete(W2, o, 1)), "bias"),
                       "in place": _in_place_remove}),
}

(test_conv_reference_passes, test_conv_mutant_rejected,
 test_conv_stub_is_not_done_yet) = checker_tests(CONV_CHECKERS, in_place_ok=True)


# --- independently written correct answers (from the task text; no library code)
_ACT = {"identity": lambda z: z, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0),
        "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z))}


def _own_accuracy(Ws, bs, acts, X, y):
    a = np.asarray(X, dtype=float)
    for W, b, act in zip(Ws, bs, acts):
        a = _ACT[act](a @ W.T + b)
    return float(np.mean([int(np.argmax(row)) == int(label) for row, label in zip(a, y)]))


def loop_layer_sensitivity(model, layer, sparsities, X, y):
    """5.1: prune exactly round(s n) weights of smallest |w| of model.W[layer] only (a stable sort ranks
    them); the forward pass and the accuracy written here; the model itself is never touched."""
    out = []
    for s in sparsities:
        W = np.array(model.W[layer], dtype=float)
        flat = W.ravel()                               # a view of the copy
        k = int(round(s * flat.size))                  # torch's count: Python's round
        for i in np.argsort(np.abs(flat), kind="stable")[:k]:
            flat[i] = 0.0
        Ws = [W if l == layer else np.array(w) for l, w in enumerate(model.W)]
        out.append(_own_accuracy(Ws, [np.array(b) for b in model.b], model.acts, X, y))
    return np.array(out)


def loop_remove_neurons(model, layer, keep):
    """5.2: a new MLP; kept rows of W[layer], entries of b[layer], COLUMNS of W[layer + 1]; sizes updated."""
    kept = [i for i, k in enumerate(keep) if k]
    new = model.copy()                                 # the model's own copy method, not the checked function
    new.W[layer] = np.array([model.W[layer][i] for i in kept]).reshape(len(kept), model.W[layer].shape[1])
    new.b[layer] = np.array([model.b[layer][i] for i in kept], dtype=float)
    new.W[layer + 1] = np.array([[row[i] for i in kept] for row in model.W[layer + 1]]).reshape(
        model.W[layer + 1].shape[0], len(kept))
    new.sizes[layer + 1] = len(kept)
    return new


def loop_largest_safe_sparsity(sparsities, scores, baseline, max_drop):
    """5.3: walk in order, safe means score >= baseline - max_drop, stop at the first unsafe; 0.0 if none."""
    best, i = 0.0, 0
    while i < len(sparsities) and scores[i] >= baseline - max_drop:
        best = float(sparsities[i])
        i += 1
    return best


def loop_most_sensitive_layer(curves):
    """5.4: the row (from 0) with the lowest mean, as a Python int; curves left untouched."""
    means = [sum(float(v) for v in row) / len(row) for row in curves]
    return min(range(len(means)), key=lambda i: (means[i], i))


def counting_conv_output_shape(h, w, k, stride, padding):
    """5.5: count the window positions that fit in the padded input, along each axis; two ints."""
    def fits(n):
        count, start = 0, 0
        while start + k <= n + 2 * padding:
            count, start = count + 1, start + stride
        return count
    return fits(h), fits(w)


def loop_im2col_index_map(h, w, k, stride, padding):
    """5.6: entry [i*k + j, r*w_out + t] = (stride r + i, stride t + j), int arrays in padded coordinates."""
    h_out, w_out = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    rows = np.zeros((k * k, h_out * w_out), dtype=np.int64)
    cols = np.zeros((k * k, h_out * w_out), dtype=np.int64)
    for i in range(k):
        for j in range(k):
            for r in range(h_out):
                for t in range(w_out):
                    rows[i * k + j, r * w_out + t] = stride * r + i
                    cols[i * k + j, r * w_out + t] = stride * t + j
    return rows, cols


def mask_remove_filter(W1, b1, W2, o):
    """5.7: boolean selection (new arrays): filter o of W1 and b1, input channel o (axis 1) of W2."""
    keep = np.arange(W1.shape[0]) != o
    return W1[keep], b1[keep], W2[:, keep]


def test_independent_answers_pass():
    assert_passes(L.check_layer_sensitivity, loop_layer_sensitivity)
    assert_passes(L.check_remove_neurons, loop_remove_neurons)
    assert_passes(L.check_largest_safe_sparsity, loop_largest_safe_sparsity)
    assert_passes(_sensitive_check(CURVES), loop_most_sensitive_layer)
    assert_passes(_sensitive_check(CURVES_2), loop_most_sensitive_layer)
    assert_passes(L.check_conv_output_shape, counting_conv_output_shape)
    assert_passes(L.check_im2col_index_map, loop_im2col_index_map)
    assert_passes(L.check_remove_filter, mask_remove_filter)
