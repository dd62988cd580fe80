import math

import torch
from torch import nn

from benchbench.health.gradients import GradientBounds, flag_layers, grad_to_weight, weight_layers


def test_layers_are_modules_holding_a_matrix_and_the_ratio_is_grad_over_weight_norm():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    model(torch.randn(3, 4)).square().sum().backward()
    assert set(weight_layers(model)) == {"0", "2"}  # the LayerNorm holds vectors only
    lin = model[2]
    want = (
        torch.cat([lin.weight.grad.flatten(), lin.bias.grad]).norm()
        / torch.cat([lin.weight.flatten(), lin.bias]).norm()
    )
    assert math.isclose(grad_to_weight(model)["2"], want.item(), rel_tol=1e-5)


def test_an_embedding_is_judged_on_the_rows_the_batch_used():
    torch.manual_seed(0)
    emb = nn.Embedding(10_000, 8)
    ids = torch.tensor([[1, 2, 3]])
    emb(ids).sum().backward()
    used = emb.weight[1:4]
    want = emb.weight.grad[1:4].norm() / used.norm()
    assert math.isclose(grad_to_weight(nn.Sequential(emb))["0"], want.item(), rel_tol=1e-5)


def test_unused_and_zero_initialised_layers_are_not_judged():
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
    nn.init.zeros_(model[1].weight)
    nn.init.zeros_(model[1].bias)
    model[0](torch.randn(2, 4)).sum().backward()  # model[1] takes no part
    ratios = grad_to_weight(model)
    assert ratios["1"] is None and ratios["0"] > 0
    assert flag_layers(ratios, GradientBounds(), "first") == []


def test_flags_name_the_layer_its_ratio_and_the_bound_crossed():
    flags = flag_layers({"a": 0.0, "b": 1e-3, "c": 1e5, "d": math.inf}, GradientBounds(), "last")
    assert [(f.layer, f.kind, f.ratio, f.step) for f in flags] == [
        ("a", "vanishing", 0.0, "last"),
        ("c", "exploding", 1e5, "last"),
        ("d", "exploding", None, "last"),
    ]
