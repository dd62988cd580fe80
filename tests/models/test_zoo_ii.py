"""Zoo II: graph, point-cloud, audio and multimodal models — edge cases, exact references, parameter counts."""

from __future__ import annotations

import pytest
import torch

from benchbench.models.dgcnn import knn
from benchbench.models.gnn import GCNConv, graph_inputs
from benchbench.models.registry import get_model_spec
from benchbench.models.wav2vec2 import WeightNormConv1d, num_frames

GNNS = ("gcn", "gat", "graphsage")
POINT_MODELS = ("pointnet", "dgcnn")
ZOO_II = (
    *GNNS,
    *POINT_MODELS,
    "audio_transformer",
    "wav2vec2",
    "whisper_tiny",
    "whisper_base",
    "fusion_cross",
    "fusion_early",
    "fusion_late",
)

# Reference counts at `base`; sources in each module's docstring and registration.
BASE_PARAMS = {
    "gcn": 23_063,  # 1433·16+16 + 16·7+7
    "gat": 92_373,  # (1433·64 + 64+64+64) + (64·7 + 7+7+7)
    "graphsage": 737_543,  # 2·1433·256+256 + 2·256·7+7
    "pointnet": 3_471_473,  # fxia22/pointnet.pytorch PointNetCls(k=40, feature_transform=True)
    "dgcnn": 1_809_576,  # WangYueFB/dgcnn DGCNN(k=20, emb_dims=1024)
    "wav2vec2": 94_371_712 - 768,  # HF Wav2Vec2Model wav2vec2-base without masked_spec_embed
    "whisper_tiny": 37_184_640,  # openai/whisper tiny (HF adds 1500·384 encoder positions: 37,760,640)
    "whisper_base": 71_825_920,  # openai/whisper base (HF: 72,593,920)
}


def _tiny(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return get_model_spec(name).build("tiny").eval()


@pytest.mark.parametrize("name", sorted(BASE_PARAMS))
def test_base_param_count_matches_reference(name: str) -> None:
    spec = get_model_spec(name)
    with torch.device("meta"):
        model = spec.build("base")
    n = sum(p.numel() for p in model.parameters())
    assert n == BASE_PARAMS[name] == spec.reference.params


@pytest.mark.parametrize("name", ZOO_II)
def test_registered_with_analytic_macs_and_source(name: str) -> None:
    spec = get_model_spec(name)
    assert spec.analytic_macs is not None
    assert spec.reference.params_source
    assert spec.analytic_macs(spec.config("tiny"), 2, spec.seq_len["tiny"] if spec.seq_len else None) > 0


def _cfg(name: str):
    return get_model_spec(name).config("tiny")


@pytest.mark.parametrize("name", GNNS)
def test_gnn_isolated_nodes_are_finite(name: str) -> None:
    cfg = _cfg(name)
    N = cfg.num_nodes
    x = torch.randn(N, cfg.in_features)
    ei = torch.tensor([[0, 1, 2, 1], [1, 0, 1, 2]])  # nodes 3..N-1 have degree 0
    out = _tiny(name)(x, ei)
    assert out.shape == (N, cfg.num_classes)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", GNNS)
def test_gnn_self_loops_and_empty_graph(name: str) -> None:
    cfg = _cfg(name)
    N = cfg.num_nodes
    x = torch.randn(N, cfg.in_features)
    loops = torch.arange(N).repeat(2, 1)
    ei = torch.cat([loops, torch.tensor([[0, 5], [5, 0]]), loops[:, :3]], dim=1)  # loops, some twice
    model = _tiny(name)
    out = model(x, ei)
    assert out.shape == (N, cfg.num_classes) and torch.isfinite(out).all()
    empty = model(x, torch.empty(2, 0, dtype=torch.long))
    assert torch.isfinite(empty).all()


@pytest.mark.parametrize("name", ("gcn", "gat"))
def test_existing_self_loops_are_replaced_not_doubled(name: str) -> None:
    """GCN and GAT add exactly one self-loop per node, so an input loop changes nothing."""
    cfg = _cfg(name)
    x = torch.randn(cfg.num_nodes, cfg.in_features)
    ei = graph_inputs(cfg, 1, None, torch.Generator().manual_seed(1))[1]
    model = _tiny(name)
    with_loops = torch.cat([ei, torch.tensor([[0, 7], [0, 7]])], dim=1)
    torch.testing.assert_close(model(x, ei), model(x, with_loops))


def test_gcn_message_passing_equals_dense_adjacency() -> None:
    torch.manual_seed(0)
    N, F, C = 7, 5, 3
    ei = torch.tensor(
        [[0, 1, 1, 2, 3, 3, 5, 4], [1, 0, 2, 1, 4, 3, 4, 5]]
    )  # node 6 isolated, a self-loop at 3
    x = torch.randn(N, F, dtype=torch.float64)
    conv = GCNConv(F, C).double()
    torch.nn.init.normal_(conv.bias)
    A = torch.zeros(N, N, dtype=torch.float64)
    for s, d in ei.t().tolist():
        if s != d:
            A[d, s] += 1.0
    A += torch.eye(N, dtype=torch.float64)
    dinv = A.sum(1).rsqrt()
    dense = dinv[:, None] * A * dinv[None, :] @ (x @ conv.lin.weight.T) + conv.bias
    torch.testing.assert_close(conv(x, ei), dense)


@pytest.mark.parametrize("name", GNNS)
def test_batched_graphs_are_independent_and_readout(name: str) -> None:
    cfg = _cfg(name)
    x, ei, batch = graph_inputs(cfg, 3, None, torch.Generator().manual_seed(0), with_batch=True)
    N = cfg.num_nodes
    assert (
        x.shape == (3 * N, cfg.in_features) and ei.shape == (2, 3 * cfg.num_edges) and batch.shape == (3 * N,)
    )
    assert ei.dtype == torch.int64
    assert ((ei // N)[0] == (ei // N)[1]).all()  # no edge crosses graphs
    model = _tiny(name)
    nodes = model(x, ei)
    second = (ei // N)[0] == 1
    alone = model(x[N : 2 * N], ei[:, second] - N)
    torch.testing.assert_close(nodes[N : 2 * N], alone, rtol=1e-5, atol=1e-5)
    graphs = model(x, ei, batch)
    assert graphs.shape == (3, cfg.num_classes)
    torch.testing.assert_close(graphs[1], alone.mean(0), rtol=1e-5, atol=1e-5)


def test_random_graph_has_requested_counts_and_no_self_loops() -> None:
    cfg = get_model_spec("gcn").config("base")
    x, ei = graph_inputs(cfg, 1, None, torch.Generator().manual_seed(0))
    assert x.shape == (2708, 1433) and ei.shape == (2, 10556)
    assert (ei[0] != ei[1]).all() and int(ei.max()) < 2708


@pytest.mark.parametrize("name", POINT_MODELS)
def test_point_cloud_with_duplicate_points(name: str) -> None:
    cfg = _cfg(name)
    pts = torch.rand(2, 3, cfg.num_points)
    pts[0] = pts[0, :, :1]  # every point of cloud 0 identical
    pts[1, :, 1::2] = pts[1, :, ::2]  # cloud 1: each point twice
    out = _tiny(name)(pts)
    assert out.shape == (2, cfg.num_classes) and torch.isfinite(out).all()


def test_knn_with_ties_and_self_as_nearest() -> None:
    x = torch.randn(1, 3, 10)
    idx = knn(x, 4)
    assert idx.shape == (1, 10, 4)
    assert (idx[0, :, 0] == torch.arange(10)).all()
    same = knn(torch.zeros(2, 3, 6), 6)  # all distances tie
    assert (same.sort(-1).values == torch.arange(6)).all()
    with pytest.raises(ValueError, match="exceeds"):
        knn(x, 11)


def test_wav2vec2_weight_norm_and_frames() -> None:
    conv = WeightNormConv1d(8, 4, 2)
    assert conv.weight_g.shape == (1, 1, 4)
    x = torch.randn(1, 8, 5)
    with torch.no_grad():
        conv.weight_v.mul_(3.0)  # weight norm: scaling v changes nothing
    y1 = conv(x)
    with torch.no_grad():
        conv.weight_g.mul_(2.0)
    torch.testing.assert_close(conv(x) - conv.bias[:, None], 2 * (y1 - conv.bias[:, None]))
    cfg = get_model_spec("wav2vec2").config("base")
    assert num_frames(cfg, 16000) == 49  # 20 ms frames at 16 kHz
    tiny = _cfg("wav2vec2")
    (wav,) = get_model_spec("wav2vec2").example_inputs("tiny", 2)
    assert _tiny("wav2vec2")(wav).shape == (2, num_frames(tiny, wav.shape[1]), tiny.hidden)


def test_whisper_decoder_is_causal_and_output_tied() -> None:
    model = _tiny("whisper_tiny")
    mel, tokens = get_model_spec("whisper_tiny").example_inputs("tiny", 1)
    out = model(mel, tokens)
    changed = tokens.clone()
    changed[0, -1] = (changed[0, -1] + 1) % _cfg("whisper_tiny").n_vocab
    torch.testing.assert_close(model(mel, changed)[:, :-1], out[:, :-1])
    assert model.decoder.token_embedding.weight.data_ptr() in {p.data_ptr() for p in model.parameters()}
    assert not any(
        p.shape == (_cfg("whisper_tiny").n_vocab, 64) and p is not model.decoder.token_embedding.weight
        for p in model.parameters()
    )


@pytest.mark.parametrize("name", ("fusion_cross", "fusion_early", "fusion_late"))
def test_fusion_models_use_both_modalities(name: str) -> None:
    spec = get_model_spec(name)
    model = _tiny(name)
    image, ids = spec.example_inputs("tiny", 2)
    out = model(image, ids)
    assert out.shape == (2, spec.config("tiny").num_classes)
    assert not torch.allclose(out, model(image + 1.0, ids))
    assert not torch.allclose(out, model(image, (ids + 1) % spec.config("tiny").vocab_size))


def test_fusion_models_are_comparable_at_base() -> None:
    counts = {}
    for name in ("fusion_cross", "fusion_early", "fusion_late"):
        with torch.device("meta"):
            counts[name] = sum(p.numel() for p in get_model_spec(name).build("base").parameters())
    assert max(counts.values()) / min(counts.values()) < 1.15, counts


@pytest.mark.parametrize("name", ZOO_II)
def test_tiny_forward_backward_batch_1_and_3(name: str) -> None:
    """Eval forward and train-mode backward at batch 1 and 3 (PointNet/DGCNN's pooled BatchNorm too)."""
    spec = get_model_spec(name)
    for b in (1, 3):
        model = _tiny(name)
        inputs = spec.example_inputs("tiny", b)
        with torch.no_grad():
            out = model(*inputs)
        assert torch.isfinite(out).all()
        if name in GNNS:
            assert out.shape[0] == b * spec.config("tiny").num_nodes
        else:
            assert out.shape[0] == b
        model.train()(*inputs).float().square().mean().backward()
        missing = [n for n, p in model.named_parameters() if p.grad is None]
        assert not missing
