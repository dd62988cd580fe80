"""pytest-benchmark suite: every registered kernel implementation of every op, at the op's smallest sweep shape.

On the CPU, Triton kernels (which only run in the interpreter there) are skipped: their timings mean nothing.
An op that has no OpSpec (no input maker) yet is reported as skipped.
"""

from __future__ import annotations

import math

import pytest
import torch

from benchbench.core.errors import BadInputError
from benchbench.kernels.registry import get_op, list_kernels, list_ops

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def _cases() -> list:
    cases = []
    for op in list_ops():
        for impl in list_kernels(op):
            marks = []
            if DEVICE not in impl.devices:
                marks.append(pytest.mark.skip(reason=f"{op}/{impl.name} does not run on {DEVICE}"))
            elif DEVICE == "cpu" and impl.interpreted_on_cpu:
                marks.append(
                    pytest.mark.skip(reason=f"{op}/{impl.name} is a Triton kernel (interpreter on the CPU)")
                )
            cases.append(pytest.param(op, impl.name, id=f"{op}-{impl.name}", marks=marks))
    return cases


@pytest.mark.parametrize("op, impl", _cases())
def test_kernel_latency(benchmark, op: str, impl: str) -> None:
    try:
        spec = get_op(op)
    except BadInputError:
        pytest.skip(f"op {op!r} has no OpSpec (input maker) registered")
    shape = min(spec.shapes, key=lambda s: math.prod(v for v in s.values() if isinstance(v, int)))  # smallest
    args, kwargs = spec.make_inputs(shape, torch.float32, DEVICE)
    fn = next(k for k in list_kernels(op) if k.name == impl).fn
    benchmark.extra_info.update(model=f"{op}:{impl}", size=str(shape), device=DEVICE, dtype="float32")

    def call() -> None:
        with torch.inference_mode():
            fn(*args, **kwargs)
        if DEVICE == "cuda":  # time the kernel, not its launch
            torch.cuda.synchronize()

    call()  # warm-up (and compile, for Triton) outside the timed rounds
    benchmark(call)
