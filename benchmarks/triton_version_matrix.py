"""Compile every Triton kernel for a GPU target with two Triton versions: the lent H200's (3.6) in a side
virtualenv, and this environment's own. No GPU is needed (`benchbench kernels check`).

    python benchmarks/triton_version_matrix.py [--versions 3.6.*] [--target sm_90] [--subset ci|full]

For each version named, a virtualenv under /tmp (`--system-site-packages`, so it reuses this machine's torch)
gets `triton==VERSION` from the package index and benchbench from this checkout with
`pip install --no-deps --no-build-isolation -e .` (the lent machine's way); then `benchbench kernels check` runs
in it. The table puts the versions side by side per kernel: configs launchable without spills, registers, spill
stores (ptxas), TMA loads, warp-specialised rows and tensor-core instructions. Exit 1 if any version's check
failed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def side_env(version: str) -> Path:
    """A virtualenv with `triton==version` and an editable benchbench (made once, reused)."""
    venv = Path(tempfile.gettempdir()) / f"benchbench-triton-{version.replace('*', 'x')}"
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    have = subprocess.run(
        [py, "-c", "import triton; print(triton.__version__)"], capture_output=True, text=True
    )
    if have.returncode or not _matches(have.stdout.strip(), version):
        # `wheel`: the venv's own setuptools (65 on Python 3.11) builds through it, as on the lent machine's image
        subprocess.run([py, "-m", "pip", "install", "-q", f"triton=={version}", "wheel"], check=True)
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", str(ROOT)],
                   check=True)  # fmt: skip
    return py


def _matches(have: str, want: str) -> bool:
    return have == want or (want.endswith("*") and have.startswith(want.rstrip("*")))


def check(py: Path | str, target: str, subset: str, out: Path) -> dict:
    """Run `benchbench kernels check` with interpreter `py`; its JSON, its exit code and its Triton version."""
    proc = subprocess.run([py, "-m", "benchbench", "kernels", "check", "--target", target, "--subset", subset,
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    version = subprocess.run([py, "-c", "import triton; print(triton.__version__)"], capture_output=True,
                             text=True).stdout.strip()  # fmt: skip
    data = json.loads(out.read_text()) if out.exists() else {"rows": [], "failures": [proc.stderr[-500:]]}
    return {"triton": version, "rc": proc.returncode, "data": data}


def summary(result: dict) -> dict[tuple[str, str, str], str]:
    """(op, kernel, target) -> 'clean/rows regs R-R spill S tma T warp-spec W HGMMA...' for one version's check."""
    cells: dict[tuple[str, str, str], list[dict]] = {}
    for r in result["data"]["rows"]:
        cells.setdefault((r["op"], r["kernel"], r["target"]), []).append(r)
    out = {}
    for key, rows in cells.items():
        built = [r for r in rows if r["compiled"]]
        regs = [r["registers"] for r in built]
        tc = sorted({k for r in built for k in r.get("tensor_core", {})})
        clean = sum(1 for r in rows if r["launchable"] and not r["spills"])
        spill = max((r.get("spill_stores") or 0 for r in built), default=0)
        tma = max((r.get("tma_loads") or 0 for r in built), default=0)
        ws = sum(1 for r in built if r.get("warp_partitions") or r.get("setmaxreg"))  # warp-specialised rows
        reg = f"{min(regs)}-{max(regs)}" if regs else "-"
        out[key] = (
            f"{clean}/{len(rows)} ok, regs {reg}, spill {spill} B, TMA {tma}, warp-spec {ws}, "
            f"{'+'.join(tc) or 'no MMA'}"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--versions", default="3.6.*", help="side Triton versions, comma-separated (default 3.6.*)"
    )
    ap.add_argument("--target", default="sm_90")
    ap.add_argument("--subset", default="ci", choices=("ci", "full"))
    args = ap.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, version in enumerate(v.strip() for v in args.versions.split(",") if v.strip()):
            results.append(check(side_env(version), args.target, args.subset, Path(tmp) / f"side{i}.json"))
        results.append(check(sys.executable, args.target, args.subset, Path(tmp) / "own.json"))
    tables = [summary(r) for r in results]
    keys = sorted({k for t in tables for k in t})
    print(f"benchbench kernels check --target {args.target} --subset {args.subset}, per Triton version:")
    for op, kernel, target in keys:
        print(f"{op}/{kernel} {target}")
        for r, t in zip(results, tables):
            print(f"  triton {r['triton']:<8} {t.get((op, kernel, target), 'not compiled')}")
    for r in results:
        failures = r["data"].get("failures", [])
        print(f"triton {r['triton']}: exit {r['rc']}, {len(failures)} failures" +
              "".join(f"\n  FAILED: {f}" for f in failures))  # fmt: skip
    return 0 if all(r["rc"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
