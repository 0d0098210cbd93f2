"""Bridge to torch.nn.utils.prune: torch's masks back as numpy, and torch pruning driven by a course schedule.

    seq = to_torch(model)
    prune.l1_unstructured(seq[0], "weight", amount=0.5)
    masks = torch_masks(seq)       # list of bool arrays shaped like course_lib's W (out, in)

`gradual_train` drives torch's pruning from a course_lib schedule as an `on_step` hook of
`torch_bridge.torch_train` (the one torch training loop), and records,
at every mask update, whether torch's new mask equals course_lib's on the same weights.
"""
import numpy as np

from ._imports import LazyModule, import_torch
from .torch_bridge import linears, torch_train, torch_weights
from ..pruning.masks import magnitude_mask

prune = LazyModule("torch.nn.utils.prune")  # torch's pruning, imported on first use (after import_torch)


def torch_masks(seq):
    """Return each Linear's `weight_mask` as a bool numpy array (all True if the layer is unpruned)."""
    out = []
    for lin in linears(seq):
        m = getattr(lin, "weight_mask", None)
        out.append(np.ones(tuple(lin.weight.shape), bool) if m is None else m.detach().numpy().astype(bool))
    return out


def _prune_to(lin, sparsity):
    """Prune a Linear to round(sparsity * n) zeros in total with l1_unstructured; return the new count.

    torch's repeated prune calls act on the still-unpruned entries only (PruningContainer), and an
    int amount is an absolute count, so asking for `target - already` lands exactly on the target.
    importance_scores is passed explicitly: without it torch ranks a pruned module by its attribute
    `weight`, which the forward pre-hook last set, i.e. the weights BEFORE the latest optimiser step.
    """
    import_torch()
    n = lin.weight.numel()
    already = 0 if not hasattr(lin, "weight_mask") else int((lin.weight_mask == 0).sum())
    extra = int(round(sparsity * n)) - already
    if extra > 0:
        current = (lin.weight_orig * lin.weight_mask if hasattr(lin, "weight_orig") else lin.weight).detach()
        prune.l1_unstructured(lin, "weight", amount=extra, importance_scores=current)
    return extra


def gradual_train(seq, X, y, schedule, epochs, lr=0.1, batch_size=32, momentum=0.9, seed=0):
    """Train a torch Sequential (cross-entropy, SGD) with `torch_train` while `schedule` raises its sparsity.

    Step counting as tfmot and course_lib.prune.gradual_prune: step += 1 before each batch; at a
    schedule step, each Linear is pruned to round(s * n) zeros by torch.nn.utils.prune (an on_step hook
    of torch_train, so the batches follow numpy's permutation with `seed`, as nn.train). Returns
    history: (step, s, measured sparsity, torch mask == course_lib magnitude_mask(rule="torch")
    on the same weights) per update.
    """
    history = []

    def update(step, net):
        if not schedule.should_prune(step):
            return
        s = schedule.sparsity(step)
        before = torch_weights(net)
        for lin in linears(net):
            _prune_to(lin, s)
        masks = torch_masks(net)
        agree = all(np.array_equal(m, magnitude_mask(w, s, "torch")) for m, w in zip(masks, before))
        zeros = sum(int((~m).sum()) for m in masks)
        history.append((step, s, zeros / sum(m.size for m in masks), agree))

    torch_train(seq, X, y, epochs, lr=lr, batch_size=batch_size, momentum=momentum, seed=seed, on_step=update)
    return history
