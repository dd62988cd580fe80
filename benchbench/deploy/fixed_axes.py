"""Axes an export fixed that the model itself would vary: a user LM's sequence axis exported without --seq-len.

Export makes dynamic only the axes that changed between the example inputs it was given (the batch, and the
sequence length when one is known). A token axis is the usual casualty: a factory that takes only `batch_size`
gives one length, and the file is fixed at it. To find such an axis, every non-batch axis of an integer input
(token ids, masks) that is not already dynamic is shortened by one, together with every other input's axes of
the same size (a mask follows its ids); when the model runs on the shortened inputs, that size is one the model
varies, and each such axis is named.
"""

from __future__ import annotations

import torch
from torch import nn


def _shortened(inputs: tuple, size: int, fixed: set[tuple[int, int]]) -> tuple[tuple, list[tuple[int, int]]]:
    """`inputs` with every fixed axis (>= 1) of length `size` cut to `size - 1`; and the (input, axis) pairs cut."""
    out, cut = [], []
    for i, x in enumerate(inputs):
        if not isinstance(x, torch.Tensor):
            out.append(x)
            continue
        for axis in range(1, x.dim()):
            if x.shape[axis] == size and (i, axis) in fixed:
                x = x.narrow(axis, 0, size - 1)
                cut.append((i, axis))
        out.append(x)
    return tuple(out), cut


def varied_fixed_axes(
    model: nn.Module, inputs: tuple, names: list[str], dynamic_axes: dict[str, dict[int, str]]
) -> list[str]:
    """ "name[axis]=size" for each axis fixed in the export that the model also runs at another size."""
    fixed = {
        (i, axis)
        for i, (n, x) in enumerate(zip(names, inputs, strict=True))
        if isinstance(x, torch.Tensor)
        for axis in range(1, x.dim())
        if axis not in dynamic_axes.get(n, {})
    }
    sizes = sorted(
        {
            int(x.shape[axis])
            for i, x in enumerate(inputs)
            if isinstance(x, torch.Tensor) and not x.is_floating_point() and x.dtype != torch.bool
            for axis in range(1, x.dim())
            if (i, axis) in fixed and x.shape[axis] > 2
        }
    )
    found: list[str] = []
    for size in sizes:
        shorter, cut = _shortened(inputs, size, fixed)
        try:
            with torch.no_grad():
                model(*shorter)
        except Exception:  # the model needs this size: the axis is rightly fixed
            continue
        found += [f"{names[i]}[{axis}]={size}" for i, axis in cut]
    return found
