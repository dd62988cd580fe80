"""pytest-benchmark: every attention implementation, forward and backward, at one shape per device.

CPU: (1, 2, 128, 64) fp32, Triton skipped (it only runs in the interpreter there). CUDA: (4, 16, 2048, 64)
bf16, causal; each call synchronises so the time is the kernel's, not the launch's.
"""

from __future__ import annotations

import pytest
import torch

from benchbench.kernels.registry import get_op, list_kernels

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
SHAPE = (
    {"B": 4, "H": 16, "T": 2048, "D": 64, "causal": True}
    if DEVICE == "cuda"
    else {"B": 1, "H": 2, "T": 128, "D": 64, "causal": True}
)
DTYPE = torch.bfloat16 if DEVICE == "cuda" else torch.float32


def _cases() -> list:
    cases = []
    for impl in list_kernels("attention"):
        for mode in ("fwd", "bwd"):
            marks = []
            if DEVICE not in impl.devices or DTYPE not in impl.dtypes:
                marks.append(
                    pytest.mark.skip(reason=f"attention/{impl.name} does not run on {DEVICE} in {DTYPE}")
                )
            elif DEVICE == "cpu" and impl.interpreted_on_cpu:
                marks.append(
                    pytest.mark.skip(reason=f"attention/{impl.name} only runs in the Triton interpreter here")
                )
            elif DEVICE == "cpu" and impl.name == "compile":
                marks.append(
                    pytest.mark.skip(reason="torch.compile on a small CPU takes longer than the benchmark")
                )
            cases.append(pytest.param(impl.name, mode, id=f"{impl.name}-{mode}", marks=marks))
    return cases


def _sync() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


@pytest.mark.parametrize("impl, mode", _cases())
def test_attention(benchmark, impl: str, mode: str) -> None:
    (q, k, v), kwargs = get_op("attention").make_inputs(SHAPE, DTYPE, DEVICE)
    fn = next(k for k in list_kernels("attention") if k.name == impl).fn
    label = ",".join(f"{k}={v}" for k, v in SHAPE.items())
    benchmark.extra_info.update(model=f"attention:{impl}:{mode}", size=label, device=DEVICE, dtype=str(DTYPE))
    if mode == "fwd":

        def call() -> None:
            with torch.no_grad():
                fn(q, k, v, **kwargs)
            _sync()

    else:
        leaves = [t.detach().requires_grad_() for t in (q, k, v)]
        out = fn(*leaves, **kwargs)
        dout = torch.randn_like(out)

        def call() -> None:
            torch.autograd.grad(out, leaves, dout, retain_graph=True)
            _sync()

    call()  # warm-up (compile, autotune) outside the timed rounds
    benchmark(call)
