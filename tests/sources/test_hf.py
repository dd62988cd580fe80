"""hf: models: model types and local config directories, task heads, inputs from the config, no Hub, plain outputs."""

import importlib.util

import pytest
import torch

from benchbench.core.errors import BadInputError
from benchbench.sources.hf import import_transformers, split_task
from benchbench.sources.hf_forward import plain_outputs
from benchbench.sources.target import load_target

pytestmark = pytest.mark.skipif(importlib.util.find_spec("transformers") is None, reason="needs transformers")


@pytest.fixture(scope="module")
def tf():
    return import_transformers()


@pytest.fixture(scope="module")
def tiny_gpt2_dir(tmp_path_factory, tf):
    folder = tmp_path_factory.mktemp("gpt2")
    tf.GPT2Config(n_embd=32, n_layer=2, n_head=2, vocab_size=101, n_positions=64).save_pretrained(folder)
    return folder


def test_hub_is_off_once_transformers_is_imported(tf):
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_local_directory_config_and_task_suffix(tiny_gpt2_dir):
    t = load_target(f"hf:{tiny_gpt2_dir}:causal-lm", None, 3, seq_len=10)
    assert type(t.model).__name__ == "GPT2LMHeadModel" and t.task == "causal-lm"
    ids, mask = t.inputs
    assert ids.shape == (3, 10) and int(ids.max()) < 101 and bool((mask == 1).all())
    with torch.no_grad():
        (logits,) = t.model(*t.inputs)  # plain tensors: no ModelOutput, no cache
    assert logits.shape == (3, 10, 101) and t.output_names == ("logits",)
    assert any("use_cache=False" in n for n in t.notes)


def test_task_option_equals_the_suffix(tiny_gpt2_dir):
    a = load_target(f"hf:{tiny_gpt2_dir}", None, 1, task="sequence-classification")
    assert type(a.model).__name__ == "GPT2ForSequenceClassification"
    with pytest.raises(BadInputError, match="give one"):
        split_task("gpt2:causal-lm", "masked-lm")
    with pytest.raises(BadInputError, match="unknown task"):
        split_task("gpt2", "captioning")


def test_local_weights_are_loaded(tmp_path, tf):
    cfg = tf.BertConfig(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, vocab_size=99
    )
    torch.manual_seed(123)
    saved = tf.BertModel(cfg)
    saved.save_pretrained(tmp_path)
    t = load_target(f"hf:{tmp_path}", None, 1, seq_len=6)
    assert "weights from" in t.description
    for (name, a), b in zip(saved.state_dict().items(), t.model.state_dict().values()):
        assert torch.equal(a, b), name


def test_seq_len_beyond_the_positions_and_missing_configs_are_bad_input(tiny_gpt2_dir, tmp_path):
    with pytest.raises(BadInputError, match="maximum positions 64"):
        load_target(f"hf:{tiny_gpt2_dir}", None, 1, seq_len=65)
    with pytest.raises(BadInputError, match=r"without config\.json"):
        load_target(f"hf:{tmp_path}", None, 1)


def test_a_model_too_big_for_memory_is_refused_before_it_is_built(monkeypatch):
    from benchbench.sources import hf

    monkeypatch.setattr(hf, "_free_bytes", lambda: 1 << 30)  # 1 GiB free: Llama's default config is 6.7 B
    with pytest.raises(BadInputError, match="B parameters"):
        load_target("hf:llama", None, 1)


@pytest.mark.parametrize(
    "config, names, shapes",
    [
        ("vit", ("pixel_values",), [(2, 3, 224, 224)]),  # ViTConfig image_size 224, num_channels 3
        ("wav2vec2", ("input_values",), [(2, 16000)]),  # one second at 16 kHz
    ],
)
def test_image_and_audio_inputs_come_from_the_config(tf, tmp_path, config, names, shapes):
    small = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64}
    if config == "wav2vec2":
        small |= {"conv_dim": (8, 8), "conv_kernel": (10, 3), "conv_stride": (5, 2), "num_conv_pos_embeddings": 4,
                  "num_conv_pos_embedding_groups": 2}  # fmt: skip
    tf.AutoConfig.for_model(config, **small).save_pretrained(tmp_path)
    t = load_target(f"hf:{tmp_path}", None, 2)
    assert t.input_names == names and [tuple(x.shape) for x in t.inputs] == shapes
    with torch.no_grad():
        out = t.model(*t.inputs)
    assert all(isinstance(o, torch.Tensor) for o in out)


def test_whisper_gets_the_frames_its_encoder_accepts_and_decoder_ids(tf, tmp_path):
    tf.WhisperConfig(d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
                     encoder_ffn_dim=64, decoder_ffn_dim=64, num_mel_bins=16, max_source_positions=20,
                     max_target_positions=16).save_pretrained(tmp_path)  # fmt: skip
    t = load_target(f"hf:{tmp_path}", None, 1, seq_len=5)
    assert t.input_names == ("input_features", "decoder_input_ids") and t.modality == "audio"
    assert [tuple(x.shape) for x in t.inputs] == [(1, 16, 40), (1, 5)]
    with torch.no_grad():
        assert t.model(*t.inputs)[0].shape == (1, 5, 32)


def test_plain_outputs_drop_caches_by_name(tf):
    model = tf.GPT2Model(tf.GPT2Config(n_embd=16, n_layer=1, n_head=2, vocab_size=20, n_positions=16))
    with torch.no_grad():
        out = model(torch.randint(0, 20, (1, 4)), use_cache=True)
    tensors, names, dropped = plain_outputs(out)
    assert names == ["last_hidden_state"]
    assert dropped in (["cache"], ["past_key_values"])  # the field's name changed in transformers 5
    assert len(tensors) == 1


def test_a_user_factory_returning_an_hf_model_gets_plain_outputs(tmp_path, tf):
    (tmp_path / "user_hf.py").write_text(
        "import torch\nfrom transformers import GPT2Config, GPT2Model\n"
        "def make(batch_size=2):\n"
        "    m = GPT2Model(GPT2Config(n_embd=16, n_layer=1, n_head=2, vocab_size=20, n_positions=16))\n"
        "    return m, (torch.randint(0, 20, (batch_size, 5)),)\n"
    )
    t = load_target(f"{tmp_path / 'user_hf.py'}:make", None, 2)
    with torch.no_grad():
        out = t.model(*t.inputs)
    assert isinstance(out, tuple) and len(out) == 1 and out[0].shape == (2, 5, 16)
