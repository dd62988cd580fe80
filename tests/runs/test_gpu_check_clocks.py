"""gpu-check's clock query (core/env.py) against fake nvidia-smi scripts on PATH: the current field name, the
old one where a driver knows only that, and the clocks alone where it rejects both."""

from __future__ import annotations

import os
import stat

import pytest
import torch

from benchbench.core.env import CLOCK_FIELDS, gpu_clocks

CLOCKS = "1980, 1980, 3201, 3201, 412.50, 700.00, 45, Enabled"


def _fake_smi(tmp_path, monkeypatch, accepts: tuple[str, ...]) -> None:
    """An nvidia-smi that answers a query naming any of `accepts` (or no reasons field), and otherwise fails as
    the real one does on an unknown field."""
    script = tmp_path / "nvidia-smi"
    accepted = " ".join(accepts)
    script.write_text(f"""#!/bin/sh
query=""
for a in "$@"; do case "$a" in --query-gpu=*) query="${{a#--query-gpu=}}";; esac; done
case "$query" in *reasons*) ;; *) echo "{CLOCKS}"; exit 0;; esac
for name in {accepted}; do
  case "$query" in *"$name"*) echo "{CLOCKS}, 0x0000000000000004"; exit 0;; esac
done
echo "Field \\"${{query##*,}}\\" is not a valid field to query." >&2
exit 2
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.parametrize(
    ("accepts", "reason_key"),
    [(("clocks_event_reasons.active", "clocks_throttle_reasons.active"), "clocks_event_reasons.active"),
     (("clocks_throttle_reasons.active",), "clocks_throttle_reasons.active")],
)  # fmt: skip
def test_reasons_under_the_name_the_driver_knows(tmp_path, monkeypatch, accepts, reason_key):
    _fake_smi(tmp_path, monkeypatch, accepts)
    got = gpu_clocks(torch.device("cuda", 0))
    assert (
        got["clocks.sm"] == "1980"
        and got["power.draw"] == "412.50"
        and got[reason_key] == "0x0000000000000004"
    )
    assert ("reasons_error" in got) == (reason_key != "clocks_event_reasons.active")


def test_a_driver_rejecting_both_names_still_gives_the_clocks(tmp_path, monkeypatch):
    _fake_smi(tmp_path, monkeypatch, ())
    got = gpu_clocks(torch.device("cuda", 0))
    assert {k: got[k] for k in CLOCK_FIELDS} == dict(zip(CLOCK_FIELDS, CLOCKS.split(", ")))
    assert "not a valid field" in got["reasons_error"] and "error" not in got


def test_no_nvidia_smi_is_one_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    got = gpu_clocks(torch.device("cuda", 0))
    assert list(got) == ["error"] and got["error"].startswith("nvidia-smi: ")
