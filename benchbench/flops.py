"""FLOP and MAC counting with fvcore (which counts MACs) and torch's FlopCounterMode (which counts FLOPs).

One multiply-accumulate is one MAC and two FLOPs. fvcore's numbers are MACs although it calls them
flops; FlopCounterMode's are FLOPs. Ops neither counter handles are listed with their call counts.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn


@dataclass
class FlopCount:
    macs: int  # multiply-accumulates (fvcore convention)
    flops: int  # floating-point operations (torch FlopCounterMode convention, 2 per MAC)
    uncounted_ops: dict[str, int] = field(default_factory=dict)  # op → calls no counter handled
    by_module: dict[str, int] = field(default_factory=dict)  # qualified module name → MACs
    counters: dict[str, Any] = field(default_factory=dict)  # each counter's raw total
    convention: str = "macs: fvcore (1 per multiply-add); flops: torch FlopCounterMode (2 per multiply-add)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fvcore_macs(model: nn.Module, inputs: tuple) -> tuple[int, dict[str, int], dict[str, int]]:
    """fvcore's total, per-module counts and unsupported ops (with call counts) for one forward pass."""
    from fvcore.nn import FlopCountAnalysis

    logging.getLogger("fvcore").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis = FlopCountAnalysis(model, inputs)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        total = int(analysis.total())
        by_module = {k: int(v) for k, v in analysis.by_module().items() if k}
        unsupported = dict(Counter(analysis.unsupported_ops()))
    return total, by_module, unsupported


def torch_flops(model: nn.Module, inputs: tuple) -> int:
    """torch.utils.flop_counter's total FLOPs for one forward pass (under no_grad, not inference_mode)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        model(*inputs)
    return int(counter.get_total_flops())


def count_flops(model: nn.Module, inputs: tuple) -> FlopCount:
    """Count one forward pass of `model` on `inputs` with both counters."""
    with torch.no_grad():
        macs, by_module, unsupported = fvcore_macs(model, inputs)
        flops = torch_flops(model, inputs)
    return FlopCount(
        macs=macs,
        flops=flops,
        uncounted_ops={k: v for k, v in unsupported.items()},
        by_module=by_module,
        counters={"fvcore_macs": macs, "torch_flop_counter_flops": flops},
    )
