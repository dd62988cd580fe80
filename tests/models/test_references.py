"""Published/derived parameter counts at `base` (built on the meta device) and analytic MACs at `tiny`."""

from __future__ import annotations

import pytest
import torch

from benchbench.measure.flops import count_flops
from benchbench.models.registry import get_model_spec, list_models

NAMES = [s.name if hasattr(s, "name") else s for s in list_models()]
WITH_PARAMS = [n for n in NAMES if get_model_spec(n).reference.params]
WITH_MACS = [n for n in NAMES if get_model_spec(n).analytic_macs is not None]

EXPECTED = {  # exact references named in each module's registration
    "resnet50": 25_557_032,
    "efficientnet_b0": 5_288_548,
    "vit_b_16": 86_567_656,
    "vit_ti_16": 5_717_416,
    "gpt2": 124_439_808,
    "mamba": 129_135_360,
    "lstm_lm": 13_280_400,
    "bert": 109_482_240,
}


@pytest.mark.parametrize("name", WITH_PARAMS)
def test_base_param_count_matches_reference(name: str) -> None:
    spec = get_model_spec(name)
    with torch.device("meta"):
        model = spec.build("base")
    assert sum(p.numel() for p in model.parameters()) == spec.reference.params
    assert spec.reference.params_source


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_known_reference_values(name: str) -> None:
    assert get_model_spec(name).reference.params == EXPECTED[name]


@pytest.mark.parametrize("name", WITH_MACS)
def test_analytic_macs_match_counted_at_tiny(name: str) -> None:
    spec = get_model_spec(name)
    model = spec.build("tiny").eval()
    x = spec.example_inputs("tiny", 2)
    seq = spec.seq_len["tiny"] if spec.is_sequence else None
    counted = count_flops(model, x).macs
    assert counted == pytest.approx(spec.analytic_macs(spec.config("tiny"), 2, seq), rel=0.01)
