"""ORT / eager PyTorch latency ratios of the image and Transformer zoo models at `tiny` on the CPU.

Each model is exported once (benchbench.deploy.readiness), then ORT (graph optimizations on) and eager PyTorch
run on the same inputs and thread count in alternating rounds, so that drift in the machine's speed hits
both alike; the ratio is the median ORT p50 over the median eager p50 (< 1: ORT is faster).
Run: `python -m pytest benchmarks/test_onnx_latency.py -s` (prints one line per model, then a table).
"""

from __future__ import annotations

import fnmatch
import statistics

import pytest
import torch

from benchbench.deploy.ort_check import latency_pair, make_session
from benchbench.deploy.readiness import ReadinessConfig, check_readiness
from benchbench.measure.timing import TimingConfig
from benchbench.models.registry import get_model_spec, list_models
from benchbench.sources.target import load_target

ROUNDS = 3
BATCH = 1
TIMING = TimingConfig(warmup=3, min_repeats=10, min_time_s=0.2)
TRANSFORMERS = ("bert*", "vit*", "gpt*", "whisper*", "wav2vec2*", "*transformer*", "fusion_cross")


def models() -> list[str]:
    names = list_models(modality="image")
    names += [n for n in list_models() if any(fnmatch.fnmatch(n, p) for p in TRANSFORMERS) and n not in names]
    return names


RATIOS: dict[str, tuple[float, float, float]] = {}


@pytest.mark.parametrize("model", models())
def test_ort_vs_eager_latency(model, tmp_path):
    target = load_target(model, "tiny", BATCH)
    section = check_readiness(
        target, tmp_path, ReadinessConfig(quantize=False, timing=TimingConfig(1, 1, 1, 0.0))
    )
    assert section["verdict"] != "not-ready", (section["stage_failed"], section["error"])
    session, _ = make_session(section["file"], ["CPUExecutionProvider"])
    spec = get_model_spec(model)
    names = list(spec.input_names)  # the export keeps the registry's input names
    ort_ms, eager_ms = [], []
    for _ in range(ROUNDS):  # alternating rounds: ORT then eager, same inputs, same threads
        t = latency_pair(session, target.model, names, target.inputs, batch_size=BATCH, config=TIMING)
        ort_ms.append(t["ort_latency"]["p50_ms"])
        eager_ms.append(t["eager_latency"]["p50_ms"])
    ort_p50, eager_p50 = statistics.median(ort_ms), statistics.median(eager_ms)
    RATIOS[model] = (ort_p50, eager_p50, ort_p50 / eager_p50)
    print(f"\n{model}: ORT {ort_p50:.3f} ms, eager {eager_p50:.3f} ms, ratio {ort_p50 / eager_p50:.2f} "
          f"(batch {BATCH}, {torch.get_num_threads()} threads)")  # fmt: skip
    assert ort_p50 > 0 and eager_p50 > 0


def test_print_table():
    if not RATIOS:
        pytest.skip("no model was timed in this session")
    print(f"\n{'model':20s} {'ORT p50 ms':>11s} {'eager p50 ms':>13s} {'ORT/eager':>10s}")
    for model, (o, e, r) in RATIOS.items():
        print(f"{model:20s} {o:11.3f} {e:13.3f} {r:10.2f}")
    assert all(r > 0 for _, _, r in RATIOS.values())
