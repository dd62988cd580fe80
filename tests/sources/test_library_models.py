"""torchvision:, timm: and hf: names build offline with random weights, their inputs from the model's own metadata,
and their parameter counts (and ResNet-50's MACs) equal the published figures."""

import json

import pytest

from benchbench.cli import main
from benchbench.core.errors import BadInputError
from benchbench.measure.flops import count_flops
from benchbench.measure.params import count_params
from benchbench.sources.target import is_library_model, is_user_model, load_target

# Published figures, each with its source.
RESNET50_PARAMS = (
    25_557_032  # torchvision ResNet50_Weights (both) meta["num_params"]; He et al. 2016 say 25.6 M
)
RESNET50_GMACS = (
    4.089  # torchvision ResNet50_Weights meta["_ops"] at 224×224 (torchvision's "GFLOPS" count multiply-adds)
)
DEIT_TINY_PARAMS = 5_717_416  # timm results-imagenet.csv param_count 5.72 (M) for deit_tiny_patch16_224; Touvron et al. 2021 Table 1: 5 M
BERT_BASE_PARAMS = (
    109_482_240  # bert-base-uncased BertModel on the Hugging Face Hub (Devlin et al. 2019: 110 M)
)
GPT2_PARAMS = 124_439_808  # the released gpt2 checkpoint, GPT2Model (the "124M" GPT-2 of nanoGPT; Radford et al. 2019 list 117 M)


def test_resnet50_parameters_and_macs_equal_torchvision_published_figures():
    t = load_target("torchvision:resnet50", None, 1)
    assert t.library == "torchvision" and t.modality == "image"
    assert [tuple(x.shape) for x in t.inputs] == [
        (1, 3, 224, 224)
    ]  # crop size of the default weights' transforms
    assert count_params(t.model).total == RESNET50_PARAMS == t.reference.params
    macs = count_flops(t.model.eval(), t.inputs, check=False).macs
    assert round(macs / 1e9, 3) == RESNET50_GMACS == round(t.reference.macs / 1e9, 3)
    assert "num_params" in t.reference.params_source and "_ops" in t.reference.macs_source


def test_torchvision_input_size_comes_from_the_weights():
    t = load_target("torchvision:efficientnet_b1", None, 2)
    assert tuple(t.inputs[0].shape) == (
        2,
        3,
        240,
        240,
    )  # EfficientNet_B1_Weights.IMAGENET1K_V2: crop_size 240


def test_deit_tiny_parameters_equal_timm_published_figure():
    t = load_target("timm:deit_tiny_patch16_224", None, 1)
    assert count_params(t.model).total == DEIT_TINY_PARAMS
    assert tuple(t.inputs[0].shape) == (1, 3, 224, 224)  # pretrained_cfg["input_size"]


def test_timm_input_size_comes_from_the_pretrained_config():
    t = load_target("timm:vit_tiny_patch16_384", None, 1)
    assert tuple(t.inputs[0].shape) == (1, 3, 384, 384)


@pytest.mark.parametrize("name, published", [("hf:bert", BERT_BASE_PARAMS), ("hf:gpt2", GPT2_PARAMS)])
def test_hf_default_configs_have_the_published_parameter_counts(name, published):
    t = load_target(name, None, 1, seq_len=8)
    assert count_params(t.model).total == published
    assert t.input_names == ("input_ids", "attention_mask") and tuple(t.inputs[0].shape) == (1, 8)


def test_profile_cli_takes_a_library_name(tmp_path, capsys):
    out = tmp_path / "p.json"
    assert main(["profile", "torchvision:squeezenet1_1", "--no-memory", "--json", str(out)]) == 0
    p = json.loads(out.read_text())
    assert p["model"] == "torchvision:squeezenet1_1" and p["size"] == "default"
    assert p["params"]["total"] == 1_235_496  # torchvision SqueezeNet1_1_Weights meta["num_params"]
    assert round(p["flops"]["macs"] / 1e9, 2) == 0.35  # meta["_ops"] 0.349


@pytest.mark.parametrize(
    "name, words",
    [
        ("torchvision:resnet5", ["unknown torchvision model", "resnet50"]),
        ("timm:deit_tiny_patch16", ["unknown timm model", "deit_tiny_patch16_224"]),
        ("torchvision:fasterrcnn_resnet50_fpn", ["detection model", "allowed"]),
        ("hf:bert-base-uncased-nope", ["transformers model type"]),
    ],
)
def test_bad_library_names_get_one_line(name, words):
    with pytest.raises(BadInputError) as e:
        load_target(name, None, 1)
    assert "\n" not in str(e.value)
    for w in words:
        assert w in str(e.value)


def test_zoo_sizes_and_tasks_do_not_apply_to_library_models():
    with pytest.raises(BadInputError, match="--size base applies to zoo models"):
        load_target("timm:resnet18", "base", 1)
    with pytest.raises(BadInputError, match="--task applies to hf: models"):
        load_target("timm:resnet18", None, 1, task="causal-lm")
    with pytest.raises(BadInputError, match="no sequence length"):
        load_target("torchvision:resnet18", None, 1, seq_len=4)


def test_library_and_user_names_are_told_apart():
    assert is_library_model("hf:gpt2") and is_library_model("timm:resnet18")
    assert is_user_model("my_pkg.models:make") and not is_user_model("hf:gpt2")
    assert not is_library_model("resnet50")


def test_cli_exit_code_two_for_a_hub_id(capsys):
    assert main(["profile", "hf:meta-llama/Llama-2-7b-hf"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "download" in err and "save_pretrained" in err
