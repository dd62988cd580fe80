"""The backward of the fused Triton attention (`kernels/attention.py`): five matrix products per block pair.

Structure: FlashAttention-2's Algorithm 2 (Dao 2023, "FlashAttention-2", Sec. 3.1.2 and Alg. 2) as
FlashAttention-3 runs it (Shah et al. 2024, "FlashAttention-3"; its fp32 `dq_accum`): one program per key
block of one (batch, key/value head) walks the query blocks of every query head of its group and, for each
(query block, key block) pair, runs exactly five matrix products:

    Sᵀ  = K·Qᵀ        the scores, recomputed (BLOCK_N × BLOCK_M)   → Pᵀ = exp2(Sᵀ·scale·log2 e − LSE)
    dPᵀ = V·dOᵀ                                                     → dSᵀ = Pᵀ ∘ (dPᵀ − delta)
    dV += Pᵀ·dO       dK += dSᵀ·Q                                   (accumulated in registers, fp32)
    dQ_part = dS·K    times the scale, added into a zeroed fp32 dQ (B, H, Tq, D) with relaxed atomics

Keys are the rows: Pᵀ and dSᵀ come out of the exp2 and the product in the orientation that dV += Pᵀ·dO and
dK += dSᵀ·Q take as their left operand (on Hopper, wgmma's register operand), so neither makes a transposing
trip through shared memory; only dS·K needs dSᵀ transposed, one pass of dSᵀ through shared memory.

Why not the Triton tutorial's split (a dK/dV kernel with four products and a separate dQ kernel with three): the
dQ kernel recomputes QKᵀ and dO·Vᵀ, seven products per pair, 40% more matrix work than these five, for the price
of no atomics. Here dQ costs one fp32 atomic add per element per key block (in L2) and a zeroed fp32 buffer;
the order of the additions is not fixed, so dQ is not bitwise reproducible from run to run (nor is FA2's or
FA3's by default).
With fp32 inputs the accumulator is dQ itself; 16-bit inputs get one cast at the end.

A small kernel first computes delta = rowsum(dO ∘ O) (FA2's D_i) and zeroes the dQ accumulator. Causal: a key
block starts at the first query block that sees it; only the query blocks on its diagonal pay for the
per-element test, only the last query block (and a head dim that is not a power of two) for bounds. Keys past
Tk in the last key block are loaded as zeros and their probabilities set to 0 (exp2 of a zero score less a
very negative LSE could overflow, and inf · 0 in dS·K would be NaN); their dK/dV rows are not stored.

Blocks: 128 keys per program (32 queries per step) at every head dim, where it compiles without spill stores on
sm_90 and sm_100; 64 queries × 128 keys only up to head dim 64; 64 × 64 as the fallback (BWD_CONFIGS).
FLOPs and bytes as executed: `attention_backward_flops`, `attention_backward_bytes`.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from benchbench.kernels._common import autotuning, interpreting
from benchbench.kernels._resources import prune_unlaunchable
from benchbench.kernels.attention_tiles import load_tile

LOG2E = 1.4426950408889634


@triton.jit
def _attn_bwd_delta(
    OUT, DO, DELTA, DQ,  # OUT, DO (B, H, Tq, D); DELTA (B, H, Tq) fp32; DQ (B, H, Tq, D) fp32, contiguous
    sob, soh, som, sod,
    sdb, sdh, sdm, sdd,
    H, Tq, D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_D: tl.constexpr,
):  # fmt: skip
    """DELTA = rowsum(dO ∘ O) in fp32 (one read of O and dO), and the same rows of the dQ accumulator zeroed."""
    start_m = tl.program_id(0)
    bh = tl.program_id(1)
    b = (bh // H).to(tl.int64)
    h = (bh % H).to(tl.int64)
    rows = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    m_ok = rows < Tq
    d_ok = offs_d < D
    o = load_tile(OUT + b * sob + h * soh + rows[:, None] * som + offs_d[None, :] * sod, m_ok, d_ok, True,
                  D != BLOCK_D)  # fmt: skip
    do = load_tile(DO + b * sdb + h * sdh + rows[:, None] * sdm + offs_d[None, :] * sdd, m_ok, d_ok, True,
                   D != BLOCK_D)  # fmt: skip
    delta = tl.sum(o.to(tl.float32) * do.to(tl.float32), 1)
    tl.store(DELTA + bh.to(tl.int64) * Tq + rows, delta, mask=m_ok)
    tl.store(DQ + bh.to(tl.int64) * Tq * D + rows[:, None] * D + offs_d[None, :],
             tl.zeros((BLOCK_M, BLOCK_D), dtype=tl.float32), mask=m_ok[:, None] & d_ok[None, :])  # fmt: skip


@triton.jit
def _add_tile(ptrs, val, rows_ok, cols_ok, CHECK_ROWS: tl.constexpr, CHECK_COLS: tl.constexpr):
    """Atomically add a 2-D fp32 tile at `ptrs` (relaxed: only the sum matters); bounds tests as in load_tile."""
    if CHECK_ROWS and CHECK_COLS:
        tl.atomic_add(ptrs, val, mask=rows_ok[:, None] & cols_ok[None, :], sem="relaxed")
    elif CHECK_ROWS:
        tl.atomic_add(ptrs, val, mask=rows_ok[:, None], sem="relaxed")
    elif CHECK_COLS:
        tl.atomic_add(ptrs, val, mask=cols_ok[None, :], sem="relaxed")
    else:
        tl.atomic_add(ptrs, val, sem="relaxed")


@triton.jit
def _attn_bwd_blocks(
    dk, dv, k, v, q_base, do_base, dq_base, lse_base, delta_base, mask_base, mask_col,
    offs_m, offs_n, offs_d, n_ok, d_ok,
    sqm, sqd, sdm, sdd, smm, smn, Tq, qk_scale, sm_scale, lo, hi,
    D: tl.constexpr, CAUSAL_MASK: tl.constexpr, CHECK_M: tl.constexpr, CHECK_D: tl.constexpr,
    HAS_MASK: tl.constexpr, MASK_ROW: tl.constexpr, DOT_PREC: tl.constexpr, BLOCK_M: tl.constexpr,
):  # fmt: skip
    """Accumulate dK, dV of one key block over the query blocks [lo, hi) of one query head, and add each query
    block's share of dQ into the fp32 accumulator: five tl.dot per iteration."""
    for start_m in range(lo, hi, BLOCK_M):
        rows = start_m + offs_m
        m_ok = rows < Tq
        q = load_tile(q_base + rows[:, None] * sqm + offs_d[None, :] * sqd, m_ok, d_ok, CHECK_M, CHECK_D)
        do = load_tile(do_base + rows[:, None] * sdm + offs_d[None, :] * sdd, m_ok, d_ok, CHECK_M, CHECK_D)
        if CHECK_M:  # rows past Tq: an infinite LSE makes their probabilities 0
            lse = tl.load(lse_base + rows, mask=m_ok, other=float("inf"))
            delta = tl.load(delta_base + rows, mask=m_ok, other=0.0)
        else:
            lse = tl.load(lse_base + rows)
            delta = tl.load(delta_base + rows)
        qkt = tl.dot(k, tl.trans(q), input_precision=DOT_PREC)  # (BLOCK_N, BLOCK_M) = K·Qᵀ, keys as rows
        if HAS_MASK:
            if MASK_ROW:  # key padding: one value per key, a column here
                st = qkt * qk_scale + (mask_col * 1.4426950408889634)[:, None]
            else:
                mk = load_tile(
                    mask_base + offs_n[:, None] * smn + rows[None, :] * smm, n_ok, m_ok, True, CHECK_M
                )
                st = qkt * qk_scale + mk * 1.4426950408889634
            pt = tl.math.exp2(st - lse[None, :])
        else:
            pt = tl.math.exp2(qkt * qk_scale - lse[None, :])
        # keys past Tk: exactly 0, whatever exp2 made of their zero rows
        pt = tl.where(n_ok[:, None], pt, 0.0)
        if CAUSAL_MASK:  # top-left aligned: query i sees keys j <= i
            pt = tl.where(rows[None, :] >= offs_n[:, None], pt, 0.0)
        dv = tl.dot(pt.to(do.dtype), do, dv, input_precision=DOT_PREC)  # Pᵀ·dO: (BLOCK_N, BLOCK_D)
        dpt = tl.dot(v, tl.trans(do), input_precision=DOT_PREC)  # dPᵀ = V·dOᵀ: (BLOCK_N, BLOCK_M)
        # dSᵀ without the softmax scale (16-bit dS keeps its normal range): dK is scaled once at the end, each dQ
        # share before it is added
        dst = (pt * (dpt - delta[None, :])).to(q.dtype)
        dk = tl.dot(dst, q, dk, input_precision=DOT_PREC)  # dSᵀ·Q: (BLOCK_N, BLOCK_D)
        dq = tl.dot(tl.trans(dst), k, input_precision=DOT_PREC)  # dS·K: (BLOCK_M, BLOCK_D)
        _add_tile(dq_base + rows[:, None] * D + offs_d[None, :], dq * sm_scale, m_ok, d_ok, CHECK_M, CHECK_D)
    return dk, dv


@triton.jit
def _attn_bwd(
    Q, K, V, DO, LSE, DELTA, MASK, DQ, DK, DV,  # DQ (B, H, Tq, D) fp32, zeroed; DK, DV (B, Hkv, Tk, D) K's dtype; all three contiguous
    sqb, sqh, sqm, sqd,
    skb, skh, skn, skd,
    svb, svh, svn, svd,
    sdb, sdh, sdm, sdd,  # dO strides
    smb, smh, smm, smn,  # MASK fp32 additive (B, H, Tq, Tk), strides 0 along broadcast dims
    H, GROUP, Tq, Tk, qk_scale, sm_scale,  # GROUP = H // Hkv; qk_scale = scale · log2 e
    TQ_BUCKET, TK_BUCKET,  # the autotune key, unused by the kernel
    D: tl.constexpr, IS_CAUSAL: tl.constexpr, HAS_MASK: tl.constexpr, MASK_ROW: tl.constexpr,
    DOT_PREC: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
):  # fmt: skip
    """One program: dK and dV of BLOCK_N keys of one (batch, key/value head), summed over the GROUP query heads
    that share it, and those heads' dQ shares from these keys; with a causal mask it starts at the diagonal."""
    start_n = tl.program_id(0)
    bhk = tl.program_id(1)
    HKV = H // GROUP
    b = (bhk // HKV).to(tl.int64)
    hk = (bhk % HKV).to(tl.int64)
    offs_n = start_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_m = tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    n_ok = offs_n < Tk
    d_ok = offs_d < D
    k = load_tile(K + b * skb + hk * skh + offs_n[:, None] * skn + offs_d[None, :] * skd, n_ok, d_ok, True,
                  D != BLOCK_D)  # fmt: skip
    v = load_tile(V + b * svb + hk * svh + offs_n[:, None] * svn + offs_d[None, :] * svd, n_ok, d_ok, True,
                  D != BLOCK_D)  # fmt: skip
    dk = tl.zeros((BLOCK_N, BLOCK_D), dtype=tl.float32)
    dv = tl.zeros((BLOCK_N, BLOCK_D), dtype=tl.float32)
    diag_hi = 0  # query blocks [lo, diag_hi) straddle the causal diagonal of this key block
    lo = 0
    if IS_CAUSAL:  # only queries i >= the block's first key see it
        lo = (start_n * BLOCK_N // BLOCK_M) * BLOCK_M
        diag_hi = tl.minimum(tl.cdiv(start_n * BLOCK_N + BLOCK_N, BLOCK_M) * BLOCK_M, Tq)
    full = (Tq // BLOCK_M) * BLOCK_M  # query blocks below this need no bounds test
    for g in range(0, GROUP):
        h = hk * GROUP + g
        q_base = Q + b * sqb + h * sqh
        do_base = DO + b * sdb + h * sdh
        row_base = (b * H + h) * Tq
        dq_base = DQ + row_base * D
        mask_base = MASK + b * smb + h * smh
        mask_col = tl.zeros((BLOCK_N,), dtype=tl.float32)
        if HAS_MASK and MASK_ROW:  # the same mask row for every query: loaded once per head
            mask_col = tl.load(mask_base + offs_n * smn, mask=n_ok, other=0.0)
        dk, dv = _attn_bwd_blocks(
            dk, dv, k, v, q_base, do_base, dq_base, LSE + row_base, DELTA + row_base, mask_base, mask_col,
            offs_m, offs_n, offs_d, n_ok, d_ok, sqm, sqd, sdm, sdd, smm, smn, Tq, qk_scale, sm_scale, lo, diag_hi,
            D, True, True, D != BLOCK_D, HAS_MASK, MASK_ROW, DOT_PREC, BLOCK_M,
        )  # fmt: skip
        dk, dv = _attn_bwd_blocks(
            dk, dv, k, v, q_base, do_base, dq_base, LSE + row_base, DELTA + row_base, mask_base, mask_col,
            offs_m, offs_n, offs_d, n_ok, d_ok, sqm, sqd, sdm, sdd, smm, smn, Tq, qk_scale, sm_scale, diag_hi, full,
            D, False, False, D != BLOCK_D, HAS_MASK, MASK_ROW, DOT_PREC, BLOCK_M,
        )  # fmt: skip
        dk, dv = _attn_bwd_blocks(
            dk, dv, k, v, q_base, do_base, dq_base, LSE + row_base, DELTA + row_base, mask_base, mask_col,
            offs_m, offs_n, offs_d, n_ok, d_ok, sqm, sqd, sdm, sdd, smm, smn, Tq, qk_scale, sm_scale,
            tl.maximum(diag_hi, full), Tq,
            D, False, True, D != BLOCK_D, HAS_MASK, MASK_ROW, DOT_PREC, BLOCK_M,
        )  # fmt: skip
    out = bhk.to(tl.int64) * Tk * D + offs_n[:, None] * D + offs_d[None, :]  # DK/DV are contiguous
    nd_ok = n_ok[:, None] & d_ok[None, :]
    tl.store(DK + out, (dk * sm_scale).to(DK.dtype.element_ty), mask=nd_ok)
    tl.store(DV + out, dv.to(DV.dtype.element_ty), mask=nd_ok)


# ---- configs and launch ----------------------------------------------------------------------------------


def _configs(tiles: list[tuple[int, int, int, int]]) -> list[triton.Config]:
    return [triton.Config({"BLOCK_M": m, "BLOCK_N": n}, num_warps=w, num_stages=s) for m, n, w, s in tiles]


# GPU autotune configs for 16-bit inputs (BLOCK_M, BLOCK_N, num_warps, num_stages) by padded head dim; each
# autotune key (each attention shape) compiles all of its list, so the lists are short. BLOCK_N is the key block a
# program owns. Compiled for sm_90 and sm_100 with Triton 3.9 (`benchbench kernels check`, bf16, T=256, causal
# and not): 128 keys × 32 queries × 8 warps has no spill stores at head dim 64 and 128 on both (sm_90: 240-244
# registers at head dim 128); 64 × 128 does not fit at head dim 128 (sm_90: 120 B of spill stores, 252 B causal;
# sm_100: Triton emits a kernel that is a single trap), so it is tuned only up to head dim 64, where it fits
# with wgmma for all five products (230 registers on sm_90). 64 × 64 is the 64-key fallback (no spills on either).
# With 32 queries a block, dS·K (32 rows) runs on mma.sync, the other four products on wgmma/tcgen05.
BWD_CONFIGS = {
    64: _configs([(32, 128, 8, 2), (32, 128, 8, 3), (64, 128, 8, 2), (64, 64, 8, 2)]),
    128: _configs([(32, 128, 8, 2), (32, 128, 8, 3), (64, 64, 8, 2)]),
}
# With autotuning off (16-bit), and for fp32 inputs (exact ieee dots on the FMA units, every operand in registers:
# never tuned; at head dim 128, causal, 32 × 32 spills 4416 B per thread on sm_90 with 4 warps and 524 B with 8;
# 16 × 32 with 4 warps spills 32 B on sm_100 with Triton 3.6; 16 × 32 with 8 warps has none on sm_90 or sm_100
# with Triton 3.6 or 3.9).
FIXED_CONFIG = {"BLOCK_M": 32, "BLOCK_N": 128, "num_warps": 8, "num_stages": 2}
FIXED_CONFIG_FP32 = {"BLOCK_M": 16, "BLOCK_N": 32, "num_warps": 8, "num_stages": 1}
# The interpreter runs one small config (its timings mean nothing); tests vary it.
INTERPRETER_BLOCKS = {"BLOCK_M": 16, "BLOCK_N": 32}
# The delta kernel's tile: BLOCK_M × BLOCK_D elements of O and of dO (4096 spills 24 B on sm_100).
DELTA_ELEMS = 2048
# The constexprs the backward takes from the forward's (`attention._consts`).
CONSTS = ("D", "IS_CAUSAL", "HAS_MASK", "MASK_ROW", "DOT_PREC", "BLOCK_D")

# One autotuner per head-dim class (its key: sequence lengths rounded up to powers of two, and the variant)
_bwd_tuned = {
    block_d: triton.autotune(
        configs,
        key=["TQ_BUCKET", "TK_BUCKET", "D", "IS_CAUSAL", "HAS_MASK", "MASK_ROW"],
        prune_configs_by={"early_config_prune": prune_unlaunchable(_attn_bwd)},
        reset_to_zero=["DQ"],  # timing a config adds into DQ: zeroed before each try and before the real run
    )(_attn_bwd)
    for block_d, configs in BWD_CONFIGS.items()
}
# 16-bit configs per kernel name: the most one autotune key compiles on a GPU (gpu-check's plan counts them)
TUNED_16BIT = {"_attn_bwd": max(len(configs) for configs in BWD_CONFIGS.values())}


def _launch(rows: int, heads: int, args: tuple, consts: dict) -> None:
    """`_attn_bwd` over (key blocks, batch × key/value heads): autotuned for 16-bit inputs on a GPU, one fixed
    config for fp32 or with autotuning off, one small config interpreted."""
    if interpreting():
        fixed = INTERPRETER_BLOCKS
    elif consts["DOT_PREC"] == "ieee":
        fixed = FIXED_CONFIG_FP32
    elif not autotuning():
        fixed = FIXED_CONFIG
    else:
        tuned = _bwd_tuned[64 if consts["BLOCK_D"] <= 64 else 128]
        tuned[lambda meta: (triton.cdiv(rows, meta["BLOCK_N"]), heads)](*args, **consts)
        return
    _attn_bwd[(triton.cdiv(rows, fixed["BLOCK_N"]), heads)](*args, **consts, **fixed)


def flash_attention_backward(
    q: Tensor, k: Tensor, v: Tensor, o: Tensor, lse: Tensor, do: Tensor, mask: Tensor | None, scale: float,
    consts: dict,
) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
    """(dq, dk, dv) of the fused attention: q, o, do (B, H, Tq, D); k, v (B, Hkv, Tk, D); lse (B, H, Tq) fp32,
    base 2, from the forward; mask fp32 additive, broadcast to (B, H, Tq, Tk), or None; `consts` the forward's
    constexprs (head dim, causal, mask kind, dot precision, padded head dim)."""
    B, H, Tq, D = q.shape
    Hkv, Tk = k.shape[1], k.shape[2]
    if B * H * Tq * Tk == 0:  # nothing attends: every gradient is zero
        return torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v)
    consts = {name: consts[name] for name in CONSTS}
    # every element of these is written by the kernels: no fill here (the delta kernel zeroes the dQ accumulator)
    delta = torch.empty(B, H, Tq, device=q.device, dtype=torch.float32)  # rowsum(dO ∘ O)
    dq = torch.empty(B, H, Tq, D, device=q.device, dtype=torch.float32)  # summed over key blocks by atomics
    dk = torch.empty(B, Hkv, Tk, D, device=q.device, dtype=k.dtype)
    dv = torch.empty(B, Hkv, Tk, D, device=q.device, dtype=v.dtype)
    block_d = consts["BLOCK_D"]
    block_m = 16 if interpreting() else max(16, DELTA_ELEMS // block_d)
    _attn_bwd_delta[(triton.cdiv(Tq, block_m), B * H)](
        o, do, delta, dq, *o.stride(), *do.stride(), H, Tq, D=D, BLOCK_M=block_m, BLOCK_D=block_d
    )
    mask_strides = (0, 0, 0, 0) if mask is None else tuple(mask.stride())
    args = (q, k, v, do, lse, delta, mask if mask is not None else q, dq, dk, dv,
            *q.stride(), *k.stride(), *v.stride(), *do.stride(), *mask_strides,
            H, H // Hkv, Tq, Tk, scale * LOG2E, scale, triton.next_power_of_2(Tq), triton.next_power_of_2(Tk))  # fmt: skip
    _launch(Tk, B * Hkv, args, consts)
    return (dq if q.dtype == torch.float32 else dq.to(q.dtype)), dk, dv


# ---- what the backward executes: FLOPs and bytes -----------------------------------------------------------


def attention_backward_flops(shape: dict) -> float:
    """Five matrix products per (query, key) pair, 2·D FLOPs each (QKᵀ recomputed, dO·Vᵀ, Pᵀ·dO, dSᵀ·Q, dS·K):
    10·B·H·T²·D, 2.5× the forward's two; halved when causal, as the forward's count (the FlashAttention-2
    paper's convention: the masked half of each diagonal block, which the kernel also computes, is not counted)."""
    f = 10.0 * shape["B"] * shape["H"] * shape["T"] * shape["T"] * shape["D"]
    return f / 2 if shape.get("causal") else f


def attention_backward_bytes(shape: dict, dtype: torch.dtype) -> float:
    """Bytes the backward's kernels move, each tensor once per kernel that touches it (re-reads within a kernel,
    Q and dO once per key block, and the atomic adds, are served by L2 and not counted). e = element size:

    - delta: read O, dO (2·e·B·H·T·D); write delta (4·B·H·T) and the zeroed fp32 dQ accumulator (4·B·H·T·D);
    - dK/dV/dQ: read Q, dO (2·e·B·H·T·D), K, V (2·e·B·Hkv·T·D), the log-sum-exp and delta (2 × 4·B·H·T); read and
      write the fp32 dQ accumulator (2 × 4·B·H·T·D); write dK, dV (2·e·B·Hkv·T·D);
    - 16-bit only, the cast of dQ: read 4·B·H·T·D, write e·B·H·T·D (fp32 inputs: the accumulator is dQ).

    A mask, when there is one, is not counted (key padding: 1/D of the traffic)."""
    e = torch.empty(0, dtype=dtype).element_size()
    B, H, T, D = shape["B"], shape["H"], shape["T"], shape["D"]
    hkv = shape.get("Hkv", H)
    cast = 0 if dtype == torch.float32 else 4 + e  # per B·H·T·D element
    return float(B * T * D * (4 * e * H + 4 * e * hkv + (12 + cast) * H) + 12 * B * H * T)
