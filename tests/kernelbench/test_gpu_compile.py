"""`benchbench kernels check`: every Triton kernel compiled for Hopper (and its launch limits) on a CPU machine.

The CI test compiles the representative subset (autotuning off, one shape per op) for sm_90 in worker
processes; Triton's cache makes reruns cheap. It fails if a kernel has no launchable config without spills, or if
the fused attention's 16-bit sm_90 code has no HGMMA (Hopper's wgmma tensor-core instruction).
"""

from __future__ import annotations

import json

import pytest

from benchbench.cli import main
from benchbench.core.errors import BadInputError
from benchbench.core.schema import read
from benchbench.kernelbench import gpu_compile
from benchbench.kernelbench.records import KernelCompileRow
from benchbench.kernels._resources import LIMITS, launch_problem, regs_per_block, select_configs

needs_toolchain = pytest.mark.skipif(gpu_compile.toolchain_problem() is not None,
                                     reason=f"{gpu_compile.toolchain_problem()}")  # fmt: skip


def test_targets_are_parsed_and_unknown_ones_refused():
    assert gpu_compile.parse_targets("sm_90,sm_100") == [90, 100]
    assert gpu_compile.parse_targets("90, sm_90a") == [90]
    with pytest.raises(BadInputError, match="unknown target 'sm_95'; allowed: sm_80"):
        gpu_compile.parse_targets("sm_90,sm_95")


def test_unknown_target_on_the_cli_is_exit_2(capsys):
    assert main(["kernels", "check", "--target", "hopper"]) == 2
    assert "unknown target 'hopper'" in capsys.readouterr().err


def test_launch_limits():
    h100 = LIMITS[90]
    assert launch_problem(232448, 128, 4, h100) is None  # 227 KiB: the opt-in maximum fits
    assert "shared memory 232449 B > 232448 B" in launch_problem(232449, 128, 4, h100)
    assert "shared memory" in launch_problem(200_000, 64, 4, LIMITS[80])  # A100: 163 KiB
    assert regs_per_block(255, 8, h100) == 65536  # 255 → 256 per thread after the per-warp rounding
    assert launch_problem(255, 255, 8, h100) is None
    assert "registers per block" in launch_problem(0, 255, 16, h100)
    assert "registers per thread" in launch_problem(0, 256, 1, h100)
    assert "threads" in launch_problem(0, 32, 64, h100)


class _Cfg:
    def __init__(self, name: str, num_warps: int = 4):
        self.name, self.num_warps = name, num_warps


def test_autotune_prunes_by_the_same_rule():
    """select_configs (the autotuners' early_config_prune on a GPU) drops what cannot launch and prefers no spill."""
    from triton.runtime.errors import OutOfResources

    seen = {"big": (300_000, 100, 0), "spills": (1000, 255, 64), "clean": (1000, 128, 0), "regs": (0, 255, 0)}

    def inspect(cfg):
        if cfg.name == "refused":
            raise OutOfResources(1, 0, "shared memory")
        return seen[cfg.name]

    configs = [_Cfg("big"), _Cfg("spills"), _Cfg("clean"), _Cfg("regs", num_warps=16), _Cfg("refused")]
    assert [c.name for c in select_configs(configs, inspect, LIMITS[90])] == ["clean"]
    only_spill = [_Cfg("big"), _Cfg("spills")]
    assert [c.name for c in select_configs(only_spill, inspect, LIMITS[90])] == ["spills"]
    nothing = [_Cfg("big"), _Cfg("refused")]
    assert select_configs(nothing, inspect, LIMITS[90]) == nothing  # the autotuner's own error then names it


def test_tensor_core_instructions_are_counted_from_sass():
    sass = """
        /*0a10*/                   HGMMA.64x128x16.F32.BF16 R24, gdesc[UR4], RZ, !UPT ;  /* 0x... */
        /*0a20*/                   HGMMA.64x128x16.F32.BF16 R24, gdesc[UR8], R24 ;
        /*0a30*/                   HMMA.16816.F32.BF16 R4, R8, R12, R4 ;
        /*0a40*/                   UTCHMMA gdesc[UR4], gdesc[UR6], tmem[UR8], idesc[UR9], UPT ;
        /*0a50*/                   FFMA R1, R2, R3, R4 ;
    """
    assert gpu_compile.count_tensor_core(sass) == {"HGMMA": 2, "HMMA": 1, "UTCHMMA": 1}


def _row(kernel: str, **kw) -> KernelCompileRow:
    base = dict(op="attention", kernel=kernel, case="bfloat16 T=256", dtype="bfloat16", config="c", source="autotune",
                target="sm_90", num_warps=4, num_stages=3, compiled=True, launchable=True, spills=False)  # fmt: skip
    return KernelCompileRow(**{**base, **kw})


def test_judge_fails_a_kernel_without_a_clean_config_and_attention_without_hgmma():
    ok = [
        _row("_attn_fwd", tensor_core={"HGMMA": 8}, tma_loads=9),
        _row("_attn_fwd", launchable=False, problem="x"),
    ]
    assert gpu_compile.judge(ok, [90]) == []
    no_tma = [_row("_attn_fwd", tensor_core={"HGMMA": 8})]
    assert gpu_compile.judge(no_tma, [90]) == [
        "attention/_attn_fwd: no launchable 16-bit sm_90 config loads through TMA (UTMALDG)"
    ]
    spilling = [_row("_attn_fwd", tensor_core={"HGMMA": 8}, tma_loads=9, spills=True, problem="spills: 64 B")]
    (f,) = gpu_compile.judge(spilling, [90])
    assert f.startswith("attention/_attn_fwd: no launchable config without spills on sm_90 (spills: 64 B")
    mma_only = [_row("_attn_fwd", tensor_core={"HMMA": 64}, tma_loads=9), _row("_attn_fwd", dtype="float32")]
    assert gpu_compile.judge(mma_only, [90]) == [
        "attention/_attn_fwd: no launchable 16-bit sm_90 config uses HGMMA (wgmma)"
    ]
    assert gpu_compile.judge(mma_only, [100]) == []  # Blackwell has no wgmma: not asked for


def test_ci_cases_cover_every_triton_kernel():
    cases = gpu_compile.compile_cases(subset="ci")
    ops = {op for op, _, _ in cases}
    assert ops == {"attention", "layernorm", "rmsnorm", "softmax", "gelu", "swiglu", "selective_scan",
                   "decode_attention"}  # fmt: skip
    assert ("attention", (("B", 1), ("D", 128), ("H", 2), ("T", 256), ("causal", False)), "bfloat16") in cases
    full = gpu_compile.compile_cases(subset="full")
    assert {dt for op, _, dt in full if op == "attention"} == {"float32", "float16", "bfloat16"}


@needs_toolchain
@pytest.mark.slow
def test_ci_subset_compiles_every_kernel_for_sm90(tmp_path, capsys):
    out = tmp_path / "check.json"
    code = main(
        ["kernels", "check", "--target", "sm_90", "--subset", "ci", "--jobs", "2", "--json", str(out)]
    )
    printed = capsys.readouterr().out
    result = read(out, kinds=("kernel_check",))
    assert code == 0, result.failures
    assert result.ok and result.targets == ["sm_90"] and result.subset == "ci"
    kernels = {r.kernel for r in result.rows}
    assert {"_attn_fwd", "_attn_bwd_delta", "_attn_bwd", "_ln_fwd", "_ln_bwd", "_rms_fwd",
            "_rms_bwd", "_softmax_fwd", "_softmax_fwd_online", "_softmax_bwd_looped", "_gelu_fwd", "_gelu_bwd",
            "_swiglu_fwd", "_swiglu_bwd", "_scan_fwd", "_decode_split", "_decode_combine"} <= kernels  # fmt: skip
    for r in result.rows:
        assert r.compiled and r.registers > 0 and r.shared_bytes is not None and r.target == "sm_90", r
    fwd = [r for r in result.rows if r.kernel == "_attn_fwd"]
    assert fwd and all(r.tensor_core.get("HGMMA", 0) > 0 for r in fwd)  # bf16 at head dim 128: wgmma
    assert all(r.tma_loads > 0 and r.spill_stores == 0 for r in fwd)  # tensor descriptors: TMA, and no spill
    assert "_attn_fwd" in printed and "HGMMA" in printed
    json.loads(out.read_text())  # plain JSON for other tools too


@needs_toolchain
def test_ptxas_reports_spill_stores_apart_from_the_stack_frame():
    """A kernel that spills says so in ptxas -v; one with no spill stores reports 0 whatever its frame."""
    ptx = """
.version 8.0
.target sm_90a
.address_size 64
.visible .entry k(.param .u64 p) { .reg .b64 %rd<2>; ld.param.u64 %rd1, [p]; st.global.u32 [%rd1], 1; ret; }
"""
    report = gpu_compile.ptxas_report(ptx, 90)
    assert report == {"stack_frame": 0, "spill_stores": 0, "spill_loads": 0}
    log = """ptxas info    : Compiling entry function '_attn_fwd' for 'sm_100a'
ptxas info    : Function properties for _attn_fwd
    8 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Function properties for _attn_bwd_delta
    24 bytes stack frame, 24 bytes spill stores, 24 bytes spill loads
"""
    assert gpu_compile.parse_ptxas_log(log) == {"stack_frame": 24, "spill_stores": 24, "spill_loads": 24}
    assert (
        gpu_compile.parse_ptxas_log(log.split("ptxas info    : Function properties for _attn_bwd")[0])[
            "spill_stores"
        ]
        == 0
    )  # an 8 B frame alone is no spill


def _cubin(ptx: str, capability: int, tmp_path) -> bytes:
    import subprocess

    from triton.backends.nvidia.compiler import get_ptxas, sm_arch_from_capability

    (tmp_path / "k.ptx").write_text(ptx)
    subprocess.run([get_ptxas(capability).path, f"--gpu-name={sm_arch_from_capability(capability)}",
                    str(tmp_path / "k.ptx"), "-o", str(tmp_path / "k.cubin")], check=True, timeout=120)  # fmt: skip
    return (tmp_path / "k.cubin").read_bytes()


@needs_toolchain
@pytest.mark.parametrize("capability", [90, 100])
def test_a_kernel_that_writes_nothing_is_told_apart(tmp_path, capability):
    """A kernel ptxas reduced to a trap has few registers and no spills, yet is no kernel: its SASS has no global
    store, which `compile_job` reports as not launchable. A kernel that stores is counted as writing."""
    head = f".version 8.7\n.target {'sm_90a' if capability == 90 else 'sm_100a'}\n.address_size 64\n"
    stores = head + (".visible .entry k(.param .u64 p) { .reg .b64 %rd<2>; ld.param.u64 %rd1, [p];"
                     " st.global.u32 [%rd1], 1; ret; }")  # fmt: skip
    traps = head + ".visible .entry k(.param .u64 p) { trap; ret; }"
    assert gpu_compile._resources(_cubin(stores, capability, tmp_path), "k")[4] >= 1
    assert gpu_compile._resources(_cubin(traps, capability, tmp_path), "k")[4] == 0


def test_warp_specialised_code_is_recognised():
    """A TTGIR with `ttg.warp_specialize` counts its worker partitions; a warp-specialised config is labelled."""
    ttgir = """%r:3 = ttg.warp_specialize(%a) default { ttg.warp_yield %x } partition0(%b) num_warps(8) { }
    partition1(%b) num_warps(1) { } partition2(%b) num_warps(2) { }
    %s:3 = ttg.warp_specialize(%a) default { } partition0(%b) num_warps(8) { } partition1(%b) num_warps(1) { }"""
    assert gpu_compile.warp_partitions(ttgir) == 3
    assert gpu_compile.warp_partitions("scf.for %i = %lo to %hi { tt.dot }") == 0
    assert gpu_compile._label({"BLOCK_M": 128, "num_warps": 8, "num_stages": 3, "WARP_SPEC": True}).endswith(
        " ws"
    )
    assert (
        gpu_compile._label({"BLOCK_M": 128, "num_warps": 8, "num_stages": 3})
        == "BLOCK_M=128 warps=8 stages=3"
    )


@needs_toolchain
@pytest.mark.slow
def test_warp_specialised_forward_compiles_where_the_autotuner_may_pick_it(tmp_path):
    """The CI subset compiles the forward's warp-specialised configs on the targets `warp_spec_supported` names
    (sm_100: producer/consumer partitions trading registers with setmaxnreg, no spill stores), and not on sm_90,
    where Triton leaves the loop unspecialised (or fails in its Hopper pass)."""
    from benchbench.kernels.attention import FWD_WS_CONFIGS, warp_spec_supported

    out = tmp_path / "check.json"
    code = main(["kernels", "check", "--target", "sm_90,sm_100", "--subset", "ci", "--ops", "attention", "--jobs", "2",
                 "--json", str(out)])  # fmt: skip
    result = read(out, kinds=("kernel_check",))
    assert code == 0, result.failures
    fwd = [r for r in result.rows if r.kernel == "_attn_fwd"]
    ws = [r for r in fwd if r.config.endswith(" ws")]
    targets = [t for t in ("sm_90", "sm_100") if warp_spec_supported(int(t[3:]))]
    assert sorted(r.target for r in ws) == sorted(targets * len(FWD_WS_CONFIGS))
    for (
        r
    ) in ws:  # warp-specialised: worker partitions, more warps than asked for, registers handed between them
        assert r.ok and r.spill_stores == 0 and r.tma_loads > 0, r
        assert r.warp_partitions >= 2 and r.setmaxreg > 0 and r.num_warps > 8, r
    assert all(r.warp_partitions == 0 and r.setmaxreg == 0 for r in fwd if r not in ws)
