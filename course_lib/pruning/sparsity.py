"""Count what is zero: sparsity, density and the L0 "norm" of weight tensors.

Definitions (used everywhere in the course):
    sparsity(x) = #{i : x_i == 0} / n        density(x) = 1 - sparsity(x) = l0_norm(x) / n
    l0_norm(x)  = #{i : x_i != 0}            (counts NON-zeros; Distiller's docs say the opposite)
"""
from dataclasses import dataclass

import numpy as np

from ..core.validation import Array, Mapping, validate


@validate(x=Array())
def l0_norm(x):
    """Count the non-zero entries: ||x||_0 = #{i : x_i != 0}."""
    return int(np.count_nonzero(x))


@validate(x=Array())
def density(x):
    """Return the fraction of non-zero entries: ||x||_0 / n."""
    return np.count_nonzero(x) / x.size


@validate(x=Array())
def sparsity(x):
    """Return the fraction of exact zeros: 1 - ||x||_0 / n (-0.0 counts as zero)."""
    return (x.size - np.count_nonzero(x)) / x.size


@dataclass(frozen=True)
class SparsityRow:
    name: str
    shape: tuple
    size: int
    nonzeros: int

    @property
    def sparsity(self):
        return (self.size - self.nonzeros) / self.size


class SparsityReport:
    """Per-tensor and total sparsity of a model; prints as a table."""

    def __init__(self, rows):
        self.rows = list(rows)
        size = sum(r.size for r in self.rows)
        self.total = SparsityRow("total", (), size, sum(r.nonzeros for r in self.rows))

    def __getitem__(self, name):
        return next(r for r in self.rows + [self.total] if r.name == name)

    def __repr__(self):
        w = max(len(r.name) for r in self.rows + [self.total])
        head = f"{'tensor':<{w}}  {'shape':>14}  {'size':>9}  {'non-zeros':>9}  {'sparsity':>8}"
        lines = [head, "-" * len(head)]
        for r in self.rows + [self.total]:
            shape = "x".join(map(str, r.shape)) if r.shape else ""
            lines.append(f"{r.name:<{w}}  {shape:>14}  {r.size:>9}  {r.nonzeros:>9}  {r.sparsity:>8.2%}")
        lines.insert(-1, "-" * len(head))
        return "\n".join(lines)


@validate(params=Mapping(Array()))
def sparsity_report(params):
    """Tabulate sparsity per tensor and in total for a mapping name -> array.

    The total is weighted by size: sum of zeros / sum of sizes (not the mean of per-tensor values).
    """
    rows = []
    for name, arr in params.items():
        rows.append(SparsityRow(str(name), tuple(arr.shape), int(arr.size), int(np.count_nonzero(arr))))
    return SparsityReport(rows)
