"""The dispatch-level FLOP counter against hand-written counts, op by op."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from benchbench.kernels.registry import dispatch, use_kernels
from benchbench.measure.flops import count_flops
from benchbench.models.layers import attention
from benchbench.sources.target import load_target


class Fn(nn.Module):
    """Wraps a function of the inputs as a module."""

    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def macs_of(fn, *inputs, check: bool = False):
    return count_flops(Fn(fn), inputs, check=check)


@pytest.mark.parametrize("batch,din,hidden,dout", [(1, 7, 13, 3), (4, 16, 32, 8)])
def test_linear_stack_and_elementwise_are_separate(batch, din, hidden, dout):
    net = nn.Sequential(nn.Linear(din, hidden), nn.GELU(), nn.LayerNorm(hidden), nn.Linear(hidden, dout))
    f = count_flops(net, (torch.randn(batch, 5, din),))
    assert f.macs == batch * 5 * (din * hidden + hidden * dout)
    assert f.flops == 2 * f.macs
    assert f.elementwise_by_kind["activation"] == batch * 5 * hidden
    assert f.elementwise_by_kind["norm"] == 5 * batch * 5 * hidden
    assert f.uncounted_ops == {}


@pytest.mark.parametrize("groups,stride,transposed", [(1, 1, False), (2, 2, False), (1, 2, True)])
def test_convolution(groups, stride, transposed):
    cin, cout, k = 4, 6, 3
    conv = (nn.ConvTranspose2d if transposed else nn.Conv2d)(cin, cout, k, stride=stride, groups=groups)
    x = torch.randn(2, cin, 9, 9)
    y = conv(x)
    f = count_flops(conv, (x,), check=False)
    if transposed:  # every input element scatters into Cout/g × k × k outputs
        assert f.macs == x.numel() * (cout // groups) * k * k
    else:  # every output element gathers Cin/g × k × k inputs
        assert f.macs == y.numel() * (cin // groups) * k * k


@pytest.mark.parametrize(
    "B,H,Tq,Tk,D,causal", [(1, 2, 5, 5, 8, False), (1, 2, 5, 5, 8, True), (2, 3, 7, 11, 4, False)]
)
def test_sdpa_counted_in_full(B, H, Tq, Tk, D, causal):
    q, k, v = torch.randn(B, H, Tq, D), torch.randn(B, H, Tk, D), torch.randn(B, H, Tk, D)
    f = macs_of(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=causal), q, k, v)
    assert f.macs == 2 * B * H * Tq * Tk * D  # QKᵀ + AV, not halved for causal
    assert f.causal_attention_macs == (f.macs if causal else 0)
    assert not any("scaled_dot_product" in op for op in f.uncounted_ops)
    assert "not halved" in f.conventions["attention"].lower()


@pytest.mark.parametrize("impl", ["eager", "sdpa"])
def test_zoo_attention_is_one_unit_whatever_the_implementation(impl):
    B, H, T, D = 2, 4, 6, 8
    q, k, v = torch.randn(B, H, T, D), torch.randn(B, 2, T, D), torch.randn(B, 2, T, D)  # GQA
    with use_kernels(attention=impl):
        f = macs_of(lambda q, k, v: attention(q, k, v, is_causal=True), q, k, v)
    assert f.macs == 2 * B * H * T * T * D
    assert f.macs_by_op == {"attention": f.macs}  # the eager matmuls are not counted twice
    assert f.causal_attention_macs == f.macs


@pytest.mark.parametrize("cls,gates", [(nn.LSTM, 4), (nn.GRU, 3), (nn.RNN, 1)])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True)])
def test_recurrent_layers(cls, gates, layers, bidirectional):
    T, B, n_in, Hd = 5, 3, 6, 10
    rnn = cls(n_in, Hd, num_layers=layers, bidirectional=bidirectional, batch_first=True)
    f = count_flops(rnn, (torch.randn(B, T, n_in),), check=False)
    dirs = 2 if bidirectional else 1
    expected = 0
    for layer in range(layers):
        inp = n_in if layer == 0 else Hd * dirs
        expected += dirs * T * B * gates * Hd * (inp + Hd)
    assert f.macs == expected
    assert f.uncounted_ops == {}


@pytest.mark.parametrize("cls,gates", [(nn.LSTMCell, 4), (nn.GRUCell, 3)])
def test_recurrent_cells(cls, gates):
    B, n_in, Hd = 3, 6, 10
    f = count_flops(cls(n_in, Hd), (torch.randn(B, n_in),), check=False)
    assert f.macs == B * gates * Hd * (n_in + Hd)


def test_message_passing_index_add_and_scatter():
    N, E, Fd = 6, 10, 4
    src, dst = torch.randint(0, N, (E,)), torch.randint(0, N, (E,))
    x, w = torch.randn(N, Fd), torch.randn(E)

    def propagate(x, src, dst, w):
        msg = x[src] * w[:, None]  # (E, F)
        a = torch.zeros(N, Fd).index_add_(0, dst, msg)
        b = torch.zeros(N, Fd).scatter_add_(0, dst[:, None].expand(E, Fd), msg)
        c = torch.zeros(N, Fd).scatter_reduce(0, dst[:, None].expand(E, Fd), msg, reduce="amax")
        return a + b + c

    f = macs_of(propagate, x, src, dst, w)
    assert f.macs == 3 * E * Fd
    assert f.uncounted_ops == {}


def test_einsum_contractions_are_counted_outer_products_are_not_macs():
    a, b = torch.randn(2, 3, 5), torch.randn(2, 5)
    f = macs_of(lambda a, b: torch.einsum("bdn,bn->bd", a, b), a, b)
    assert f.macs == 2 * 3 * 5
    f = macs_of(lambda a, b: torch.einsum("bd,bn->bdn", a[:, :, 0], b), a, b)
    assert f.macs == 0 and f.elementwise_flops == 2 * 3 * 5


@pytest.mark.parametrize("P,R,M", [(20, 30, 3), (300, 200, 3)])
def test_knn_distance_matrix_and_topk(P, R, M):
    x1, x2 = torch.randn(2, P, M), torch.randn(2, R, M)
    f = macs_of(lambda a, b: torch.cdist(a, b).topk(4, dim=-1).indices, x1, x2)
    assert f.macs == 2 * P * R * M
    assert f.elementwise_by_kind["reduction"] == 2 * P * R  # top-k reads every distance
    assert f.uncounted_ops == {}


def test_selective_scan_counted_as_a_unit():
    B, D, L, N = 2, 6, 5, 4
    u, delta, z = torch.randn(B, D, L), torch.rand(B, D, L), torch.randn(B, D, L)
    A, Bm, Cm, Dv = -torch.rand(D, N), torch.randn(B, N, L), torch.randn(B, N, L), torch.randn(D)

    def scan(u, delta, A, Bm, Cm, Dv, z):
        return dispatch("selective_scan")(u, delta, A, Bm, Cm, Dv, z, delta_softplus=True)

    def scan_kw(u, delta, A, Bm, Cm, Dv, z):
        return dispatch("selective_scan")(u=u, delta=delta, A=A, B=Bm, C=Cm, D=Dv, z=z, delta_softplus=True)

    assert macs_of(scan_kw, u, delta, A, Bm, Cm, Dv, z) == macs_of(scan, u, delta, A, Bm, Cm, Dv, z)
    f = macs_of(scan, u, delta, A, Bm, Cm, Dv, z)
    assert f.macs == 2 * B * D * L * N
    assert f.macs_by_op == {"selective_scan": f.macs}  # the reference's per-step einsums not added on top
    assert f.elementwise_by_kind["selective_scan"] == 4 * B * D * L * N + 4 * B * D * L


@torch.library.custom_op("benchbench_test::mystery", mutates_args=())
def mystery(x: torch.Tensor) -> torch.Tensor:
    return x.clone()


@mystery.register_fake
def _(x):
    return torch.empty_like(x)


def test_unknown_op_is_listed_never_dropped():
    net = nn.Sequential(
        nn.Linear(4, 4), Fn(lambda x: mystery(mystery(x))), Fn(lambda x: torch.fft.rfft(x).real)
    )
    f = count_flops(net, (torch.randn(2, 4),), check=False)
    assert f.uncounted_ops["benchbench_test::mystery"] == 2
    assert f.uncounted_ops["aten::_fft_r2c"] == 1
    assert f.macs == 2 * 4 * 4


class OwnWork(nn.Module):
    """A root that runs a matmul itself besides its children."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(8, 8))
        self.block = nn.Sequential(nn.Linear(8, 16), nn.Linear(16, 8))
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.block(x @ self.w))


@pytest.mark.parametrize(
    "make", [lambda: (OwnWork(), (torch.randn(3, 8),)), lambda: _zoo("resnet18"), lambda: _zoo("bert")]
)
def test_by_module_is_a_tree_summing_to_the_total(make):
    model, inputs = make()
    f = count_flops(model.eval(), inputs, check=False)
    tree = f.by_module
    assert tree[""] == f.macs > 0
    assert sum(f.by_module_self.values()) == f.macs
    for name, own in f.by_module_self.items():  # every module's own work is inside each ancestor's total
        parts = name.split(".") if name else []
        assert all(tree[".".join(parts[:i])] >= own for i in range(len(parts) + 1))
    names = set(tree)
    for name in names:
        children = (
            [n for n in names if n.startswith(name + ".") and "." not in n[len(name) + 1 :]]
            if name
            else [n for n in names if n and "." not in n]
        )
        assert tree[name] == f.by_module_self.get(name, 0) + sum(tree[c] for c in children), name
    if isinstance(model, OwnWork):
        assert tree["block"] == tree["block.0"] + tree["block.1"] == 3 * (8 * 16 + 16 * 8)
        assert tree[""] == 3 * 8 * 8 + tree["block"] + tree["head"]  # the root's own matmul included


def _zoo(name):
    t = load_target(name, "tiny", 2)
    return t.model, t.inputs


def test_bert_tiny_matches_the_analytic_count_and_cross_checks_are_recorded():
    t = load_target("bert", "tiny", 2)
    cfg = t.spec.config("tiny")
    B, T, C, inter = 2, t.seq_len, cfg.hidden, cfg.intermediate
    analytic = B * (cfg.layers * (4 * T * C * C + 2 * T * C * inter + 2 * T * T * C) + C * C)
    f = count_flops(t.model.eval(), t.inputs)
    assert f.macs == analytic
    assert f.counters.fvcore_unsupported_ops["aten::scaled_dot_product_attention"] == cfg.layers
    assert f.counters.fvcore_macs < f.macs  # fvcore misses the attention matmuls


def test_bert_base_seq128_within_1pct_of_analytic():
    """Devlin et al. 2019 BERT-base; embeddings excluded, attention (QKᵀ, AV) included."""
    t = load_target("bert", "base", 1, 128)
    T, C, inter, L = 128, 768, 3072, 12
    analytic = L * (4 * T * C * C + 2 * T * C * inter + 2 * T * T * C) + C * C
    f = count_flops(t.model.eval(), t.inputs, check=False)
    assert abs(f.macs - analytic) <= 0.01 * analytic
    assert f.uncounted_ops == {}


@pytest.mark.parametrize("need_weights", [False, True])  # False takes torch's fused fast path in eval
def test_torch_multihead_attention_fast_and_slow_paths_agree(need_weights):
    B, T, E, H = 2, 5, 16, 2
    mha = nn.MultiheadAttention(E, H, batch_first=True).eval()
    f = macs_of(lambda x: mha(x, x, x, need_weights=need_weights)[0], torch.randn(B, T, E))
    assert f.macs == 4 * B * T * E * E + 2 * B * T * T * E
    assert f.uncounted_ops == {}


@pytest.mark.filterwarnings("ignore:Sparse")
@pytest.mark.parametrize("layout", ["coo", "csr", "sparse.mm"])
def test_sparse_adjacency_matmul_counts_nonzeros(layout):
    idx = torch.tensor([[0, 1, 2, 2, 3], [1, 0, 2, 1, 3]])
    adj = torch.sparse_coo_tensor(idx, torch.ones(5), (4, 4)).coalesce()
    if layout == "csr":
        adj = adj.to_sparse_csr()
    x = torch.randn(4, 6)
    fn = (lambda x: torch.sparse.mm(adj, x)) if layout == "sparse.mm" else (lambda x: adj @ x)
    f = macs_of(fn, x)
    assert f.macs == 5 * 6  # nnz × features, as a sparse-dense matmul
    assert f.uncounted_ops == {}
