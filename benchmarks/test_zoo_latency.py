"""pytest-benchmark suite: forward latency of every zoo model at `tiny`, batch 1 (CUDA when available).

pytest benchmarks/test_zoo_latency.py --benchmark-json=bench.json
benchbench gate bench.json --budgets budgets.toml

pytest-benchmark records latency only: a budget on memory, params or MACs fails as "not measured" on
this JSON; gate those on a `benchbench run` folder.
"""

from __future__ import annotations

import pytest
import torch

from benchbench.models.registry import get_model_spec, list_models

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


@pytest.mark.parametrize("name", list_models())
def test_zoo_forward_latency(benchmark, name: str) -> None:
    spec = get_model_spec(name)
    model = spec.build("tiny").eval().to(DEVICE)
    inputs = tuple(x.to(DEVICE) for x in spec.example_inputs("tiny", batch_size=1, seed=0))
    benchmark.extra_info.update(model=name, size="tiny", batch_size=1, device=DEVICE, dtype="float32",
                                modality=spec.modality)  # fmt: skip

    def forward() -> None:
        with torch.inference_mode():
            model(*inputs)
        if DEVICE == "cuda":  # CUDA launches are asynchronous: time the work, not the launch
            torch.cuda.synchronize()

    forward()  # warm-up outside the timed rounds
    benchmark(forward)
