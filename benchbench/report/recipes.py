"""Training recipes by architecture family, each from its paper, and how a profiled model's family is told.

The family is read from what the profile measured, not from the name: attention ops or attention modules, a
causal mask, convolutions, recurrent layers, a selective scan. An image model with attention (ViT, DeiT, Swin)
gets the DeiT recipe (AdamW, warm-up, cosine), a convolutional one the ResNet recipe (SGD); a decoder language
model the GPT-3 recipe, an encoder BERT's, a state-space model the GPT-3 recipe its paper follows, an LSTM the
Zaremba et al. recipe. Other modalities keep their modality's recipe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from benchbench.measure.records import ProfileResult


@dataclass(frozen=True)
class Recipe:
    """A standard training recipe, with its source and the dataset size it was made for."""

    family: str  # what the recipe is for, as the card says it
    optimizer: str
    lr: str
    schedule: str
    batch_size: int
    epochs: int
    regularization: str
    reference_samples: int
    reference_data: str
    source: str
    warmup_fraction: float = 0.0


RECIPES = {
    "cnn": Recipe("convolutional image classifier", "SGD, momentum 0.9, nesterov", "0.1 × batch/256",
                  "cosine decay to 0 (5 warm-up epochs)", 256, 90,
                  "weight decay 1e-4, label smoothing 0.1, random-resized-crop + flip", 1_281_167, "ImageNet-1k",
                  "He et al. 2016; Goyal et al. 2017 (linear LR scaling, warm-up)", 5 / 90),
    "vit": Recipe("vision transformer", "AdamW (β 0.9, 0.999)", "5e-4 × batch/512",
                  "linear warm-up (5 epochs), cosine decay", 1024, 300,
                  "weight decay 0.05, label smoothing 0.1, RandAugment (9, 0.5), Mixup 0.8, CutMix 1.0, "
                  "random erasing 0.25, stochastic depth 0.1", 1_281_167, "ImageNet-1k",
                  "Touvron et al. 2021 (DeiT), Table 9", 5 / 300),
    "encoder": Recipe("Transformer encoder", "AdamW (β 0.9, 0.999)", "1e-4 peak",
                      "linear warm-up (1%), linear decay", 256, 40, "weight decay 0.01, dropout 0.1",
                      3_300_000_000 // 128, "BooksCorpus + Wikipedia (128-token sequences)",
                      "Devlin et al. 2019 (BERT pre-training)", 0.01),
    "decoder": Recipe("Transformer decoder language model", "AdamW (β 0.9, 0.95, ε 1e-8)", "6e-4 peak",
                      "linear warm-up (first 375 M tokens), cosine decay to 10% over 260 B tokens", 256, 1,
                      "weight decay 0.1, gradient clipping 1.0; 2,048-token sequences (0.5 M tokens per batch)",
                      300_000_000_000 // 2048, "300 B tokens in 2,048-token sequences",
                      "Brown et al. 2020 (GPT-3 Small, 125 M), Table 2.1 and Appendix B", 375e6 / 300e9),
    "ssm": Recipe("state-space language model", "AdamW (β 0.9, 0.95, ε 1e-8)", "6e-4 peak",
                  "linear warm-up (first 375 M tokens), cosine decay to 10% over 260 B tokens", 256, 1,
                  "weight decay 0.1, gradient clipping 1.0; 2,048-token sequences",
                  300_000_000_000 // 2048, "300 B tokens in 2,048-token sequences",
                  "Brown et al. 2020 (GPT-3 Small), the recipe Gu & Dao 2023 follow for Mamba's language models",
                  375e6 / 300e9),
    "rnn": Recipe("recurrent language model", "SGD (no momentum)", "1.0, divided by 1.2 each epoch after epoch 6",
                  "step decay", 20, 39, "dropout 0.5, gradient norm clipping 5; 35-step unrolling",
                  929_000 // 35, "Penn Treebank (929 k training words in 35-step sequences)",
                  "Zaremba et al. 2014 (medium LSTM)"),
    "audio": Recipe("speech encoder", "AdamW (β 0.9, 0.98)", "5e-4 peak", "linear warm-up (8%), then linear decay",
                    64, 100, "weight decay 0.01, dropout 0.1, SpecAugment", 281_241, "LibriSpeech 960 h utterances",
                    "Baevski et al. 2020; Park et al. 2019 (SpecAugment)", 0.08),
    "tabular": Recipe("tabular network", "AdamW", "1e-3", "constant, early stopping on validation (patience 16)",
                      256, 100, "weight decay 1e-5, dropout 0.1", 500_000, "a mid-sized tabular benchmark",
                      "Gorishniy et al. 2021 (Revisiting Deep Learning Models for Tabular Data)"),
    "graph": Recipe("graph network", "Adam", "0.01", "constant, 200 epochs, early stopping (patience 10)", 1, 200,
                    "weight decay 5e-4, dropout 0.5", 1, "one citation graph (full-batch)", "Kipf & Welling 2017"),
    "point_cloud": Recipe("point-cloud network", "Adam", "1e-3", "step decay ×0.7 every 20 epochs", 32, 250,
                          "weight decay 1e-4, dropout 0.3, random rotation/jitter", 9_843, "ModelNet40 train split",
                          "Qi et al. 2017 (PointNet)"),
    "multimodal": Recipe("multimodal Transformer", "AdamW", "1e-4 peak", "linear warm-up (5%), cosine decay", 256,
                         20, "weight decay 0.05, dropout 0.1", 443_757, "VQA v2 train questions",
                         "Kim et al. 2021 (ViLT)", 0.05),
}  # fmt: skip

_ATTENTION_MODULE = re.compile(r"attention|attn", re.IGNORECASE)
_RECURRENT_MODULE = re.compile(r"^(LSTM|GRU|RNN)$")
_SSM_MODULE = re.compile(r"Mamba|SelectiveScan|S4|SSM", re.IGNORECASE)
_RNN_OPS = ("mkldnn_rnn_layer", "_cudnn_rnn", "_thnn_fused_lstm_cell", "_thnn_fused_gru_cell")


@dataclass(frozen=True)
class Evidence:
    """What the profile shows about the architecture."""

    attention: bool
    causal: bool
    convolution: bool
    recurrent: bool
    ssm: bool

    def says(self) -> str:
        """What the profile showed, in words ("attention, a causal mask"), to say why a recipe was chosen."""
        found = [name for name, on in (("attention", self.attention), ("a causal mask", self.causal),
                                        ("convolutions", self.convolution), ("recurrent layers", self.recurrent),
                                        ("a selective scan", self.ssm)) if on]  # fmt: skip
        return ", ".join(found) or "none of attention, convolutions, recurrence or a scan"


def evidence(p: ProfileResult) -> Evidence:
    """Which architecture features the profile shows: attention, a causal mask, convolutions, recurrence, a scan."""
    ops = set(p.flops.macs_by_op) if p.flops else set()
    types = {r.type for r in p.layers or []}
    attention = "attention" in ops or any(
        "attention" in o or "multi_head" in o or "encoder_layer" in o for o in ops
    )
    attention = attention or any(_ATTENTION_MODULE.search(t) for t in types)
    ssm = "selective_scan" in ops or any(_SSM_MODULE.search(t) for t in types)
    recurrent = any(o in ops for o in _RNN_OPS) or any(_RECURRENT_MODULE.match(t) for t in types)
    causal = bool(p.flops and p.flops.causal_attention_macs)
    return Evidence(attention, causal, "convolution" in ops, recurrent, ssm)


def family_of(modality: str, p: ProfileResult) -> tuple[str, Evidence]:
    """The recipe key for a profiled model of `modality`, and the evidence it was chosen on."""
    e = evidence(p)
    if modality == "image":
        return ("vit" if e.attention else "cnn"), e
    if modality in RECIPES:  # audio, tabular, graph, point_cloud, multimodal: the modality's own recipe
        return modality, e
    if e.ssm:
        return "ssm", e
    if e.recurrent:
        return "rnn", e
    if e.attention:
        if e.causal:
            return "decoder", e
        return ("vit" if e.convolution and modality != "text" else "encoder"), e
    if modality == "text":
        return "encoder", e
    return ("cnn" if e.convolution else "tabular"), e
