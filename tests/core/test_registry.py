import pytest
import torch

from benchbench.core.errors import BadInputError
from benchbench.kernels.registry import active_kernel, get_kernel, list_kernels, use_kernels
from benchbench.models.registry import MODALITIES, get_model_spec, list_models


def test_foundation_models_are_registered():
    assert {"mlp", "resnet18", "bert"} <= set(list_models())


def test_every_spec_is_complete():
    for name in list_models():
        spec = get_model_spec(name)
        assert spec.modality in MODALITIES
        assert {"tiny", "base"} <= set(spec.sizes)
        assert spec.paper


def test_list_filters_by_pattern_and_modality():
    assert list_models("resnet*") == [n for n in list_models() if n.startswith("resnet")]
    assert all(get_model_spec(n).modality == "image" for n in list_models(modality="image"))
    with pytest.raises(BadInputError, match=r"allowed: .*image"):
        list_models(modality="pictures")


def test_unknown_model_suggests_close_names():
    with pytest.raises(BadInputError, match="Did you mean 'resnet18'"):
        get_model_spec("resnet19")


def test_unknown_size_lists_sizes():
    with pytest.raises(BadInputError, match="allowed: base, tiny"):
        get_model_spec("mlp").config("huge")


def test_example_inputs_are_seeded():
    spec = get_model_spec("bert")
    a, b = spec.example_inputs("tiny", 3, seed=5), spec.example_inputs("tiny", 3, seed=5)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert a[0].shape == (3, 32)
    assert spec.example_inputs("tiny", 2, seq_len=7)[0].shape == (2, 7)
    with pytest.raises(BadInputError, match="batch size"):
        spec.example_inputs("tiny", 0)
    with pytest.raises(BadInputError, match="no sequence length"):
        get_model_spec("mlp").example_inputs("tiny", 1, seq_len=4)


def test_duplicate_registration_is_an_error():
    from benchbench.models.registry import register_model

    with pytest.raises(ValueError, match="registered twice"):
        register_model("mlp", modality="tabular", sizes={"tiny": 0, "base": 0}, inputs=None, paper="x")(
            lambda cfg: None
        )


def test_kernel_selection_is_scoped():
    assert active_kernel("attention").name == "sdpa"
    with use_kernels(attention="eager"):
        assert active_kernel("attention").name == "eager"
    assert active_kernel("attention").name == "sdpa"
    with pytest.raises(BadInputError, match="implementation of attention"), use_kernels(attention="nope"):
        pass


def test_kernel_declares_support():
    k = get_kernel("attention", "eager")
    assert k.supports("cpu", torch.float32) is None
    assert "int8" in (k.supports("cpu", torch.int8) or "")
    assert {i.op for i in list_kernels()} >= {"attention", "selective_scan"}


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("kv_heads", [4, 2])
def test_attention_reference_matches_sdpa(causal, kv_heads):
    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, 4, 9, 16, generator=g)
    k, v = torch.randn(2, kv_heads, 9, 16, generator=g), torch.randn(2, kv_heads, 9, 16, generator=g)
    mask = torch.ones(2, 1, 1, 9, dtype=torch.bool)
    mask[1, ..., 6:] = False
    ref = get_kernel("attention", "eager").fn(q, k, v, attn_mask=mask, is_causal=causal)
    fused = get_kernel("attention", "sdpa").fn(q, k, v, attn_mask=mask, is_causal=causal)
    torch.testing.assert_close(ref, fused, atol=1e-5, rtol=1e-5)
