"""Memory: training-state bytes, activations saved for backward, and CPU peaks."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from benchbench.core.errors import BadInputError
from benchbench.measure.memory import (
    activation_bytes_train,
    peak_bytes_inference,
    peak_bytes_train_step,
    profile_memory,
    training_state,
)
from benchbench.sources.target import load_target


@pytest.mark.parametrize("widths", [(16, 32, 8), (7, 13, 5, 3)])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("lead", [(4,), (2, 3)])
def test_linear_stack_activations_equal_the_hand_count_of_saved_inputs(widths, relu, lead):
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(widths):
        layers += [nn.Linear(a, b), nn.ReLU()] if relu else [nn.Linear(a, b)]
    net = nn.Sequential(*(layers[:-1] if relu else layers))
    x = torch.randn(*lead, widths[0])
    rows = x.numel() // widths[0]
    # each Linear saves its input (for the weight gradient); a ReLU's saved output is the next Linear's input
    hand = sum(rows * w * 4 for w in widths[:-1])
    assert activation_bytes_train(net, (x,)) == hand


def test_shared_storage_is_counted_once_and_parameters_are_excluded():
    class Square(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.randn(10))

        def forward(self, x):
            y = x * self.w  # saves x and w
            return y * y  # saves y twice: one storage

    x = torch.randn(3, 10, requires_grad=True)
    assert activation_bytes_train(Square(), (x,)) == 2 * 30 * 4


def test_batchnorm_statistics_and_mode_survive_the_measurement():
    net = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Dropout(0.5)).eval()
    before = net[1].running_mean.clone()
    assert activation_bytes_train(net, (torch.randn(5, 4) * 10,)) > 0
    assert torch.equal(net[1].running_mean, before) and not net.training and not net[1].training


@pytest.mark.parametrize("name", ["mlp", "resnet18", "bert"])
def test_cpu_inference_peak_covers_weights_and_the_largest_activation(name):
    t = load_target(name, "tiny", 4)
    model = t.model.eval()
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    largest = [0]

    def hook(m, a, out):
        outs = out if isinstance(out, tuple) else (out,)
        largest[0] = max(
            [largest[0]] + [o.numel() * o.element_size() for o in outs if isinstance(o, torch.Tensor)]
        )

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(*t.inputs)
    for h in handles:
        h.remove()
    peak = peak_bytes_inference(model, t.inputs)
    assert peak > 0
    assert peak >= param_bytes + largest[0]


def test_train_step_peak_holds_weights_grads_and_adamw_state_and_leaves_the_model_alone():
    net = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 4))
    before = [p.detach().clone() for p in net.parameters()]
    x = torch.randn(8, 32)
    state = training_state(net, "adamw", "fp32")
    peak = peak_bytes_train_step(net, (x,))
    assert peak >= state.param_bytes + state.grad_bytes + state.optimizer_bytes
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_training_state_plans():
    net = nn.Sequential(nn.Linear(10, 10), nn.Linear(10, 2))  # 132 parameters
    n = 132
    fp32 = training_state(net, "adamw", "fp32")
    assert (fp32.param_bytes, fp32.grad_bytes, fp32.optimizer_bytes) == (4 * n, 4 * n, 8 * n)
    sgd = training_state(net, "sgd", "fp32")
    assert sgd.optimizer_bytes == 4 * n
    mixed = training_state(net, "adamw", "bf16-mixed")  # ZeRO's 2 + 2 + 12 bytes per parameter
    assert (mixed.param_bytes, mixed.grad_bytes, mixed.optimizer_bytes, mixed.master_bytes) == (
        2 * n, 2 * n, 12 * n, 4 * n
    )  # fmt: skip
    net[0].weight.requires_grad_(False)  # frozen weights get no gradient and no state
    assert training_state(net, "adamw", "fp32").grad_bytes == 4 * (n - 100)
    with pytest.raises(BadInputError, match="allowed: adamw, sgd"):
        training_state(net, "lion")


def test_profile_memory_keys():
    t = load_target("mlp", "tiny", 2)
    m = profile_memory(t.model.eval(), t.inputs)
    for key in ("param_bytes", "grad_bytes", "optimizer_bytes", "activation_bytes_train",
                "peak_bytes_inference", "peak_bytes_train_step"):  # fmt: skip
        assert isinstance(getattr(m, key), int) and getattr(m, key) > 0, key
    assert m.peak_bytes_train_step > m.peak_bytes_inference
    assert set(m.plans) >= {"fp32/adamw", "fp32/sgd", "bf16-mixed/adamw", "fp16-mixed/adamw"}


@pytest.mark.gpu
def test_cuda_peaks_come_from_the_allocator():
    net = nn.Sequential(nn.Linear(256, 1024), nn.ReLU(), nn.Linear(1024, 256)).cuda()
    x = torch.randn(64, 256, device="cuda")
    m = profile_memory(net, (x,))
    assert m.peak_bytes_inference >= m.param_bytes + 64 * 1024 * 4
    assert m.peak_bytes_train_step >= m.param_bytes + m.grad_bytes + m.optimizer_bytes
    assert "cuda" in m.method["peak"]


def test_a_model_that_cannot_train_keeps_its_inference_figures():
    class ArgMax(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(x).argmax(-1)  # no differentiable output

    m = profile_memory(ArgMax(), (torch.randn(2, 4),))
    assert m.peak_bytes_inference > 0 and m.activation_bytes_train is not None
    assert m.peak_bytes_train_step is None
    assert "no differentiable" in m.failed["peak_bytes_train_step"]
