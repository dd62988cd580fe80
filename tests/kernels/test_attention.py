"""Triton fused attention vs the fp32 reference: output and every gradient on awkward shapes.

On the CPU the kernel runs in the Triton interpreter. Tolerances are relative to the largest reference
value (or absolute below 1): fp32 1e-5 (ieee dots, only summation order differs), fp16 5e-3 (inputs and P rounded to fp16
before the dots, about 2× what PyTorch's own fp16 attention shows against fp32), bf16 3e-2.
"""

from __future__ import annotations

import pytest
import torch
import triton
import triton.language as tl

from benchbench.kernels.attention import _query_tile, attention_check, attention_ref, attention_triton
from benchbench.kernels.registry import get_kernel

TOL = {torch.float32: 1e-5, torch.float16: 5e-3, torch.bfloat16: 3e-2}

# (B, H, Hkv, Tq, Tk, D, causal, mask kind, dtype)
CASES = [
    (1, 2, 2, 1, 1, 16, False, None, torch.float32),
    (1, 2, 2, 17, 17, 80, True, None, torch.float32),
    (1, 2, 2, 17, 17, 80, False, "bool", torch.float16),
    (1, 2, 1, 129, 129, 64, True, None, torch.float16),
    (1, 2, 2, 129, 129, 80, False, "additive", torch.float32),
    (2, 4, 2, 17, 17, 96, True, "bool", torch.float32),
    (1, 2, 2, 33, 47, 128, True, None, torch.float16),
    (1, 2, 2, 47, 33, 32, True, "additive", torch.float16),
    (1, 3, 1, 17, 129, 24, False, None, torch.float32),
]


def _inputs(case: tuple, seed: int) -> tuple:
    B, H, Hkv, Tq, Tk, D, causal, mask_kind, dtype = case
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, H, Tq, D, generator=g).to(dtype).requires_grad_()
    k = torch.randn(B, Hkv, Tk, D, generator=g).to(dtype).requires_grad_()
    v = torch.randn(B, Hkv, Tk, D, generator=g).to(dtype).requires_grad_()
    mask = None
    if mask_kind == "bool":  # key padding: True = attend; keep key 0 so no row is fully masked
        mask = torch.rand(B, 1, 1, Tk, generator=g) > 0.3
        mask[..., 0] = True
    elif mask_kind == "additive":
        mask = torch.randn(B, 1, 1, Tk, generator=g).to(dtype)
    return q, k, v, mask, causal


def _rel_err(got: torch.Tensor, ref: torch.Tensor) -> float:
    return (got.float() - ref).abs().max().item() / max(ref.abs().max().item(), 1.0)


@pytest.mark.interpreter
@pytest.mark.parametrize("case", CASES, ids=lambda c: "B{}H{}kv{}q{}k{}D{}{}-{}-{}".format(
    *c[:6], "-causal" if c[6] else "", c[7], str(c[8]).removeprefix("torch.")))  # fmt: skip
def test_forward_and_gradients_match_reference(case):
    q, k, v, mask, causal = _inputs(case, seed=sum(case[:6]))
    out = attention_triton(q, k, v, attn_mask=mask, is_causal=causal)
    assert out.shape == q.shape and out.dtype == q.dtype
    dout = torch.randn(out.shape, generator=torch.Generator().manual_seed(1)).to(out.dtype)
    grads = torch.autograd.grad(out, (q, k, v), dout)
    ref_in = [t.detach().float().requires_grad_() for t in (q, k, v)]
    ref = attention_ref(*ref_in, attn_mask=mask, is_causal=causal, upcast=True)
    ref_grads = torch.autograd.grad(ref, ref_in, dout.float())
    tol = TOL[q.dtype]
    assert _rel_err(out, ref) <= tol, "output"
    for name, got, want in zip("qkv", grads, ref_grads):
        assert got.shape == want.shape and got.dtype == q.dtype
        assert _rel_err(got, want) <= tol, f"d{name}"


def _check_against_reference(q, k, v, mask, causal) -> None:
    out = attention_triton(q, k, v, attn_mask=mask, is_causal=causal)
    dout = torch.randn(out.shape, generator=torch.Generator().manual_seed(5)).to(out.dtype)
    grads = torch.autograd.grad(out, (q, k, v), dout)
    ref_in = [t.detach().float().requires_grad_() for t in (q, k, v)]
    ref = attention_ref(*ref_in, attn_mask=mask, is_causal=causal, upcast=True)
    ref_grads = torch.autograd.grad(ref, ref_in, dout.float())
    tol = TOL[q.dtype]
    assert torch.isfinite(out).all() and _rel_err(out, ref) <= tol, "output"
    for name, got, want in zip("qkv", grads, ref_grads):
        assert torch.isfinite(got).all() and _rel_err(got, want) <= tol, f"d{name}"


# (forward, backward) block sizes in the interpreter: each puts the causal diagonal, the edge blocks and the
# skipped blocks in other places (the backward with key blocks narrower and wider than its query blocks; the
# forward with several key blocks per query block).
BLOCKS = [
    ({"BLOCK_M": 16, "BLOCK_N": 16}, {"BLOCK_M": 32, "BLOCK_N": 16}),
    ({"BLOCK_M": 64, "BLOCK_N": 16}, {"BLOCK_M": 16, "BLOCK_N": 64}),
]


@pytest.mark.interpreter
@pytest.mark.parametrize("blocks", BLOCKS, ids=["small", "mixed"])
@pytest.mark.parametrize(
    "case",
    [
        (1, 4, 2, 97, 97, 48, True, None, torch.float32),  # GQA, causal, no block boundary at the end
        (1, 2, 2, 80, 50, 64, True, "bool", torch.float16),  # keys end before the last diagonal
        (1, 2, 1, 33, 100, 16, True, "additive", torch.float32),  # more keys than queries
        (2, 2, 2, 64, 64, 32, False, None, torch.float16),  # every block full: no bounds test compiled in
    ],
    ids=["gqa-causal", "short-keys", "long-keys", "even"],
)
def test_every_block_split_matches_reference(monkeypatch, blocks, case):
    import benchbench.kernels.attention as attn
    import benchbench.kernels.attention_backward as attn_bwd

    monkeypatch.setitem(attn.INTERPRETER_BLOCKS, "_attn_fwd", blocks[0])
    monkeypatch.setattr(attn_bwd, "INTERPRETER_BLOCKS", blocks[1])
    _check_against_reference(*_inputs(case, seed=11))


# ---- the backward (kernels/attention_backward.py) -------------------------------------------------------------


def test_backward_runs_five_matrix_products_per_block_pair():
    """QKᵀ (recomputed as K·Qᵀ), dO·Vᵀ, Pᵀ·dO, dSᵀ·Q and dS·K: five tl.dot in the loop over query blocks, none
    anywhere else in the backward (the old split into a dK/dV and a dQ kernel ran seven)."""
    import ast
    import inspect
    import textwrap

    from benchbench.kernels import attention_backward as bwd

    def dots(fn) -> list[ast.Call]:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn.fn)))
        return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "tl.dot"]

    loop = next(n for n in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(bwd._attn_bwd_blocks.fn))))
                if isinstance(n, ast.For))  # fmt: skip
    in_loop = [n for n in ast.walk(loop) if isinstance(n, ast.Call) and ast.unparse(n.func) == "tl.dot"]
    assert len(in_loop) == len(dots(bwd._attn_bwd_blocks)) == 5
    assert not dots(bwd._attn_bwd) and not dots(bwd._attn_bwd_delta)
    # dV += Pᵀ·dO and dK += dSᵀ·Q take Pᵀ and dSᵀ as they come: no transpose of their left operand
    left = {ast.unparse(n.args[1]): ast.unparse(n.args[0]) for n in in_loop}
    assert left["do"].startswith("pt") and left["q"] == "dst"


def test_backward_flops_count_the_five_products():
    from benchbench.kernels.registry import get_op

    spec = get_op("attention")
    shape = {"B": 2, "H": 3, "T": 10, "D": 8}
    assert spec.backward_flops(shape) == 5 * 2 * 2 * 3 * 10 * 10 * 8  # five products of 2·D FLOPs per pair
    assert spec.backward_flops(shape) == 2.5 * spec.flops(shape)
    assert spec.backward_flops({**shape, "causal": True}) == spec.backward_flops(shape) / 2


@pytest.mark.interpreter
@pytest.mark.parametrize(
    "case, blocks",
    [  # (64, 128): tuned up to head dim 64; (32, 128): the fixed 16-bit config, tuned at every head dim
        ((1, 3, 1, 150, 150, 40, True, None, torch.float16), (64, 128)),  # GQA 3:1, causal, partial key block
        ((1, 2, 2, 70, 131, 72, False, "bool", torch.float32), (32, 128)),  # more keys than queries, padded D
    ],
    ids=["fp16-gqa-causal-64x128", "fp32-padding-32x128"],
)
def test_backward_with_the_gpu_block_shapes_matches_reference(monkeypatch, case, blocks):
    """The GPU configs' 128-key blocks, interpreted: every gradient against autograd through the fp32 reference."""
    from benchbench.kernels import attention_backward as bwd

    tuned = {(c.kwargs["BLOCK_M"], c.kwargs["BLOCK_N"]) for c in bwd.BWD_CONFIGS[64]}
    assert blocks in tuned and (bwd.FIXED_CONFIG["BLOCK_M"], bwd.FIXED_CONFIG["BLOCK_N"]) == (32, 128)
    monkeypatch.setattr(bwd, "INTERPRETER_BLOCKS", {"BLOCK_M": blocks[0], "BLOCK_N": blocks[1]})
    _check_against_reference(*_inputs(case, seed=21))


@pytest.mark.interpreter
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_very_negative_mask_gives_finite_gradients(dtype):
    """Rows whose every key carries -90 have a base-2 log-sum-exp near -130: the zero rows past the last key would
    give exp2(0 - LSE) > 2¹²⁸ = inf in fp32, and inf · 0 = NaN in dS·K, if their probabilities were not set to 0.
    Scores near -130 carry fp32's absolute error of 2⁻¹⁶ (kernel and reference alike): fp32 is held to 1e-4."""
    g = torch.Generator().manual_seed(23)
    q, k, v = (torch.randn(1, 2, 19, 16, generator=g).to(dtype).requires_grad_() for _ in "qkv")
    mask = torch.zeros(1, 1, 19, 19, dtype=dtype)
    mask[..., 3:9, :] = -90.0  # every key of these rows: the softmax is unchanged, the LSE very negative
    out = attention_triton(q, k, v, attn_mask=mask)
    dout = torch.randn(out.shape, generator=g).to(dtype)
    grads = torch.autograd.grad(out, (q, k, v), dout)
    ref_in = [t.detach().float().requires_grad_() for t in (q, k, v)]
    ref = attention_ref(*ref_in, attn_mask=mask.float(), upcast=True)
    ref_grads = torch.autograd.grad(ref, ref_in, dout.float())
    tol = max(TOL[dtype], 1e-4)
    for name, got, want in zip(("out", "dq", "dk", "dv"), (out, *grads), (ref, *ref_grads)):
        assert torch.isfinite(got).all() and _rel_err(got, want) <= tol, name


@pytest.mark.interpreter
def test_backward_twice_gives_the_same_gradients():
    """The dQ accumulator is zeroed by the backward itself: a second call does not add to the first's (fp16: the
    first call's fp32 accumulator is freed after the cast, and the allocator hands such blocks back)."""
    q, k, v, mask, causal = _inputs((1, 2, 1, 37, 37, 24, True, None, torch.float16), seed=22)
    out = attention_triton(q, k, v, attn_mask=mask, is_causal=causal)
    first = torch.autograd.grad(out, (q, k, v), torch.ones_like(out), retain_graph=True)
    second = torch.autograd.grad(out, (q, k, v), torch.ones_like(out))
    for a, b in zip(first, second):
        assert torch.isfinite(a).all() and torch.equal(a, b)


@pytest.mark.interpreter
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_per_query_mask_tile_and_its_gradients(dtype):
    """A mask that varies over queries is loaded as a tile (not as one broadcast row)."""
    g = torch.Generator().manual_seed(12)
    q, k, v = (torch.randn(2, 2, 37, 24, generator=g).to(dtype).requires_grad_() for _ in "qkv")
    mask = torch.randn(2, 2, 37, 37, generator=g).to(dtype)
    mask[..., :5, :] = float("-inf")  # rows 0..4 see nothing but key 0
    mask[..., :5, 0] = 0.0
    _check_against_reference(q, k, v, mask, True)


def test_sdpa_takes_grouped_heads_without_copying_them(monkeypatch):
    """GQA goes through SDPA's enable_gqa: a repeat_interleave of K/V would raise here."""
    from benchbench.kernels.attention import attention_sdpa

    g = torch.Generator().manual_seed(13)
    q = torch.randn(1, 6, 9, 16, generator=g)
    k, v = torch.randn(2, 1, 2, 9, 16, generator=g)
    ref = attention_ref(q, k, v, is_causal=True)

    def refuse(*args, **kwargs):
        raise AssertionError("repeat_interleave called")

    monkeypatch.setattr(torch.Tensor, "repeat_interleave", refuse)
    torch.testing.assert_close(attention_sdpa(q, k, v, is_causal=True), ref, atol=1e-5, rtol=1e-5)


@pytest.mark.interpreter
def test_bfloat16_is_upcast_in_the_interpreter():
    q, k, v, mask, causal = _inputs((1, 2, 2, 17, 17, 32, True, "bool", torch.bfloat16), seed=3)
    out = attention_triton(q, k, v, attn_mask=mask, is_causal=causal)
    ref = attention_ref(q.float(), k.float(), v.float(), attn_mask=mask, is_causal=causal)
    assert out.dtype == torch.bfloat16
    assert _rel_err(out, ref) <= TOL[torch.bfloat16]


@pytest.mark.interpreter
def test_fully_masked_rows_give_zero_output_and_finite_gradients():
    q, k, v, _, _ = _inputs((1, 2, 2, 5, 7, 16, False, None, torch.float32), seed=4)
    mask = torch.ones(1, 1, 5, 7, dtype=torch.bool)
    mask[..., 2, :] = False  # query 2 sees nothing
    out = attention_triton(q, k, v, attn_mask=mask)
    grads = torch.autograd.grad(out.sum(), (q, k, v))
    assert torch.all(out[:, :, 2] == 0)
    assert all(torch.isfinite(g).all() for g in grads)
    ref = attention_ref(q, k, v, attn_mask=mask)
    keep = [0, 1, 3, 4]
    torch.testing.assert_close(out[:, :, keep], ref[:, :, keep], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, why",
    [
        ({"q": (1, 2, 4, 160)}, "head dim 160 > 128"),
        ({"k": (1, 3, 4, 16)}, "not a multiple of key/value heads"),
        ({"mask": (1, 1, 3, 9)}, "does not broadcast"),
        ({"dropout_p": 0.1}, "no dropout"),
        ({"q": (2, 4, 16)}, "needs 4-d"),
    ],
)
def test_check_says_why_a_call_is_unsupported(kwargs, why):
    q = torch.randn(*kwargs.get("q", (1, 2, 4, 16)))
    k = torch.randn(*kwargs.get("k", (1, 2, 4, q.shape[-1])))
    mask = torch.ones(*kwargs["mask"], dtype=torch.bool) if "mask" in kwargs else None
    reason = attention_check(q, k, k, attn_mask=mask, dropout_p=kwargs.get("dropout_p", 0.0))
    assert reason is not None and why in reason
    assert get_kernel("attention", "triton").check is attention_check


def test_unsupported_call_raises_with_the_facts():
    q = torch.randn(1, 2, 4, 160)
    with pytest.raises(ValueError, match="head dim 160"):
        attention_triton(q, q, q)


def test_registered_implementations():
    names = {get_kernel("attention", n).name for n in ("eager", "sdpa", "compile", "triton", "sdpa_flash",
                                                       "sdpa_cudnn")}  # fmt: skip
    assert names == {"eager", "sdpa", "compile", "triton", "sdpa_flash", "sdpa_cudnn"}
    assert get_kernel("attention", "sdpa_cudnn").devices == ("cuda",)
    assert get_kernel("attention", "eager").baseline
    assert get_kernel("attention", "triton").interpreted_on_cpu


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("D", [64, 80, 128])
def test_compiled_kernel_on_cuda(dtype, causal, D):
    g = torch.Generator(device="cuda").manual_seed(0)
    q, k, v = (
        torch.randn(2, 4, 300, D, device="cuda", generator=g, dtype=dtype).requires_grad_() for _ in "qkv"
    )
    out = attention_triton(q, k, v, is_causal=causal)
    dout = torch.randn_like(out)
    grads = torch.autograd.grad(out, (q, k, v), dout)
    ref_in = [t.detach().float().requires_grad_() for t in (q, k, v)]
    ref = attention_ref(*ref_in, is_causal=causal)
    ref_grads = torch.autograd.grad(ref, ref_in, dout.float())
    tol = 1e-4 if dtype == torch.float32 else TOL[dtype]
    assert _rel_err(out, ref) <= tol
    for got, want in zip(grads, ref_grads):
        assert _rel_err(got, want) <= tol


@pytest.mark.gpu
@pytest.mark.parametrize("tuned", [True, False])
@pytest.mark.parametrize("case", [(2, 8, 2, 1000, 1000, 96, True, "bool", torch.bfloat16),
                                  (1, 4, 4, 129, 300, 80, False, "additive", torch.float16),
                                  (3, 2, 1, 1, 17, 128, False, None, torch.float32)])  # fmt: skip
def test_compiled_kernel_on_cuda_awkward(case, tuned):
    from benchbench.kernels.attention import autotune

    q, k, v, mask, causal = (t.cuda() if isinstance(t, torch.Tensor) else t for t in _inputs(case, seed=7))
    q, k, v = (t.detach().requires_grad_() for t in (q, k, v))
    with autotune(tuned):
        out = attention_triton(q, k, v, attn_mask=mask, is_causal=causal)
        grads = torch.autograd.grad(out, (q, k, v), torch.ones_like(out))
    ref_in = [t.detach().float().requires_grad_() for t in (q, k, v)]
    ref = attention_ref(*ref_in, attn_mask=mask, is_causal=causal)
    ref_grads = torch.autograd.grad(ref, ref_in, torch.ones_like(ref))
    tol = 1e-4 if q.dtype == torch.float32 else TOL[q.dtype]
    assert _rel_err(out, ref) <= tol
    for got, want in zip(grads, ref_grads):
        assert _rel_err(got, want) <= tol


@pytest.mark.interpreter
@pytest.mark.parametrize(
    "case", [CASES[1], CASES[3], CASES[7]], ids=["fp32-D80-causal", "fp16-gqa-129", "fp16-Tq>Tk"]
)
def test_tensor_descriptor_and_pointer_paths_agree(case, monkeypatch):
    """The forward's TMA path (tensor descriptors, zero-padded edges) and its pointer path give one answer."""
    from benchbench.kernels import attention

    q, k, v, mask, causal = _inputs(case, seed=7)
    assert attention.tma_ok(q, k, v)  # 16-byte strides: the descriptor path is the one these shapes take
    with_tma = attention_triton(q, k, v, attn_mask=mask, is_causal=causal)
    monkeypatch.setitem(attention.TMA, "on", False)
    without = attention_triton(q, k, v, attn_mask=mask, is_causal=causal)
    torch.testing.assert_close(with_tma, without, atol=TOL[q.dtype], rtol=TOL[q.dtype])
    ref = attention_ref(*(t.detach().float() for t in (q, k, v)), attn_mask=mask, is_causal=causal)
    assert _rel_err(with_tma, ref) < TOL[q.dtype] * 4


def test_descriptors_need_16_byte_strides():
    from benchbench.kernels.attention import tma_ok

    assert tma_ok(torch.zeros(1, 2, 8, 64, dtype=torch.float16))
    assert not tma_ok(torch.zeros(1, 2, 8, 12, dtype=torch.float16))  # 24-byte rows: pointer loads
    assert not tma_ok(
        torch.zeros(1, 2, 8, 64, dtype=torch.float16).transpose(-1, -2)
    )  # last dim not contiguous


# ---- the forward's scheduling and warp specialisation -------------------------------------------------------


@triton.jit
def _tile_map(OUT, HEAVY_FIRST: tl.constexpr):
    """Write, at each program's linear launch index (x fastest, as CUDA numbers blocks), the (query block,
    batch × head) that the forward's own `_query_tile` gives that program."""
    start_m, bh = _query_tile(HEAVY_FIRST)
    linear = tl.program_id(0) + tl.program_id(1) * tl.num_programs(0)
    tl.store(OUT + 2 * linear, start_m)
    tl.store(OUT + 2 * linear + 1, bh)


@pytest.mark.interpreter
@pytest.mark.parametrize("blocks, heads", [(7, 3), (1, 5), (4, 1)])
@pytest.mark.parametrize("heavy_first", [True, False])
def test_query_blocks_launch_heavy_first_when_causal(blocks, heads, heavy_first):
    """The forward's program → (query block, head) map covers every tile once; causal runs the heaviest first."""
    from benchbench.kernels.attention import launch_grid, launch_order

    grid = launch_grid(blocks, heads, heavy_first)
    out = torch.full((blocks * heads, 2), -1, dtype=torch.int32)
    _tile_map[grid](out, HEAVY_FIRST=heavy_first)
    order = [tuple(p) for p in out.tolist()]
    assert order == launch_order(blocks, heads, heavy_first)  # the kernel does what the host code says
    assert sorted(order) == [
        (m, h) for m in range(blocks) for h in range(heads)
    ]  # a permutation of the tiles
    work = [m + 1 for m, _ in order]  # causal: query block m visits m + 1 key blocks of BLOCK_M keys
    if heavy_first:
        assert work == sorted(work, reverse=True) and work[0] == blocks
    else:
        assert order[0] == (0, 0)


@pytest.mark.interpreter
@pytest.mark.parametrize(
    "case",
    [
        (2, 3, 1, 97, 97, 48, True, None, torch.float32),  # several heads and query blocks, ragged last block
        (1, 2, 2, 70, 45, 64, True, "bool", torch.float16),  # keys end before the last diagonal
        (1, 2, 2, 33, 100, 80, False, None, torch.float16),  # not causal: the plain order
    ],
    ids=["fp32-gqa", "fp16-short-keys", "fp16-plain"],
)
@pytest.mark.parametrize("warp_spec", [False, True], ids=["loop", "warp-spec"])
def test_forward_schedules_match_reference(monkeypatch, case, warp_spec):
    """Heavy-first causal blocks and the warp-specialised key loop (its constexpr branch, interpreted) give the
    reference's output; NaN never passes."""
    import benchbench.kernels.attention as attn

    blocks = {**attn.INTERPRETER_BLOCKS, "_attn_fwd": {"BLOCK_M": 16, "BLOCK_N": 16, "WARP_SPEC": warp_spec}}
    monkeypatch.setattr(attn, "INTERPRETER_BLOCKS", blocks)
    q, k, v, mask, causal = _inputs(case, seed=21)
    with torch.no_grad():
        out = attention_triton(q, k, v, attn_mask=mask, is_causal=causal)
    ref = attention_ref(
        *(t.detach().float() for t in (q, k, v)), attn_mask=mask, is_causal=causal, upcast=True
    )
    assert torch.isfinite(out).all() and _rel_err(out, ref) <= TOL[q.dtype]


def test_warp_specialised_configs_only_where_supported():
    """The forward's autotuner sees its warp-specialised configs only with tensor descriptors on a GPU that
    `warp_spec_ok` accepts; everywhere else they are pruned before anything compiles."""
    from benchbench.kernels import attention as attn

    configs = [*attn.FWD_CONFIGS, *attn.FWD_WS_CONFIGS]
    assert attn.FWD_WS_CONFIGS and all(c.kwargs["WARP_SPEC"] for c in attn.FWD_WS_CONFIGS)
    prune = attn._warp_spec_where_supported(lambda configs, named_args, **kw: configs)
    cpu = {"Q": torch.zeros(1)}
    assert prune(configs, cpu, USE_TMA=True) == attn.FWD_CONFIGS  # no GPU: never tried
    assert not attn.warp_spec_ok(torch.device("cpu"))
    assert attn.warp_spec_supported(100) == ("warp_specialize" in _range_params())
    assert not attn.warp_spec_supported(80)  # not in WARP_SPEC_CAPABILITIES: pruned on an A100
    want = len(attn.FWD_CONFIGS) + (len(attn.FWD_WS_CONFIGS) if attn.warp_spec_supported(90) else 0)
    assert attn.TUNED_16BIT["_attn_fwd"] == want  # gpu-check plans an H100's compiles from this


def _range_params() -> set[str]:
    import inspect

    import triton.language as tl

    return set(inspect.signature(tl.range).parameters)
