"""Lesson 05 checkers pass the reference and reject realistic wrong answers."""
import numpy as np

from course_lib.pruning import prune as P
from course_lib.checks import lesson05 as L
from course_lib.pruning.masks import magnitude_mask
from course_lib.core.nn import accuracy
from checker_harness import checker_tests


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
