"""Every registered zoo model at `tiny`: forward/backward, shapes, determinism, batch 1 and 3, seq lengths."""

from __future__ import annotations

import pytest
import torch

from benchbench.models.registry import get_model_spec, list_models

NAMES = [s.name if hasattr(s, "name") else s for s in list_models()]


def _outputs(out) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    return [
        t for t in (out if isinstance(out, (tuple, list)) else out.values()) if isinstance(t, torch.Tensor)
    ]


@pytest.mark.parametrize("name", NAMES)
def test_forward_deterministic_and_batch_sizes(name: str) -> None:
    spec = get_model_spec(name)
    torch.manual_seed(0)
    model = spec.build("tiny").eval()
    for bs in (1, 3):
        x = spec.example_inputs("tiny", bs)
        with torch.no_grad():
            a, b = _outputs(model(*x)), _outputs(model(*spec.example_inputs("tiny", bs)))
        assert a and all(torch.isfinite(t).all() for t in a)
        if spec.modality != "graph":  # graph models batch nodes, not graphs, on dim 0
            assert a[0].shape[0] == bs
        assert all(torch.equal(p, q) for p, q in zip(a, b))
    torch.manual_seed(0)
    again = spec.build("tiny").eval()
    assert all(torch.equal(p, q) for p, q in zip(model.state_dict().values(), again.state_dict().values()))


@pytest.mark.parametrize("name", NAMES)
def test_backward_gives_finite_gradients(name: str) -> None:
    spec = get_model_spec(name)
    torch.manual_seed(0)
    model = spec.build("tiny").train()
    loss = sum(
        t.float().pow(2).mean()
        for t in _outputs(model(*spec.example_inputs("tiny", 3)))
        if t.is_floating_point()
    )
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None for g in grads)
    assert all(torch.isfinite(g).all() for g in grads if g is not None)


@pytest.mark.parametrize("name", [n for n in NAMES if get_model_spec(n).is_sequence])
def test_variable_sequence_length(name: str) -> None:
    spec = get_model_spec(name)
    model = spec.build("tiny").eval()
    default = spec.seq_len["tiny"]
    for t in (default // 2, default - 1):
        with torch.no_grad():
            out = _outputs(model(*spec.example_inputs("tiny", 2, seq_len=t)))
        assert out and out[0].shape[0] == 2
