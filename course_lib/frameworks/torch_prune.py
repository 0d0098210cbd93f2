"""Bridge to torch.nn.utils.prune: torch's masks back as numpy, and torch pruning driven by a course schedule.

    seq = to_torch(model)
    prune.l1_unstructured(seq[0], "weight", amount=0.5)
    masks = torch_masks(seq)       # list of bool arrays shaped like course_lib's W (out, in)

`gradual_train` drives torch's pruning from a course_lib schedule during a training loop, and records,
at every mask update, whether torch's new mask equals course_lib's on the same weights.
"""
import numpy as np

from ._imports import import_torch
from .torch_bridge import linears, torch_weights
from ..core import validation as v
from ..pruning.masks import magnitude_mask


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
    from torch.nn.utils import prune
    n = lin.weight.numel()
    already = 0 if not hasattr(lin, "weight_mask") else int((lin.weight_mask == 0).sum())
    extra = int(round(sparsity * n)) - already
    if extra > 0:
        current = (lin.weight_orig * lin.weight_mask if hasattr(lin, "weight_orig") else lin.weight).detach()
        prune.l1_unstructured(lin, "weight", amount=extra, importance_scores=current)
    return extra


def gradual_train(seq, X, y, schedule, epochs, lr=0.1, batch_size=32, momentum=0.9, seed=0):
    """Train a torch Sequential (cross-entropy, SGD) while `schedule` raises its sparsity.

    Step counting as tfmot and course_lib.prune.gradual_prune: step += 1 before each batch; at a
    schedule step, each Linear is pruned to round(s * n) zeros by torch.nn.utils.prune. Returns
    history: (step, s, measured sparsity, torch mask == course_lib magnitude_mask(rule="torch")
    on the same weights) per update.
    """
    torch = import_torch()
    gen = torch.Generator().manual_seed(int(seed))
    Xt, yt = torch.as_tensor(X, dtype=linears(seq)[0].weight.dtype), torch.as_tensor(y, dtype=torch.long)
    opt = torch.optim.SGD(seq.parameters(), lr=lr, momentum=momentum)
    step, history = 0, []
    for _ in range(v.integer(epochs, "epochs", minimum=0)):
        order = torch.randperm(len(Xt), generator=gen)
        for start in range(0, len(Xt), batch_size):
            step += 1
            if schedule.should_prune(step):
                s = schedule.sparsity(step)
                before = torch_weights(seq)
                for lin in linears(seq):
                    _prune_to(lin, s)
                agree = all(np.array_equal(m, magnitude_mask(w, s, "torch"))
                            for m, w in zip(torch_masks(seq), before))
                masks = torch_masks(seq)
                zeros = sum(int((~m).sum()) for m in masks)
                history.append((step, s, zeros / sum(m.size for m in masks), agree))
            idx = order[start:start + batch_size]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(seq(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    return history

