"""Energy: RAPL read from a fake powercap tree (wrap-around undone, subzones not added twice); no counter gives
"not measured", never a number."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchbench.serve.energy import NotMeasured, RaplMeter, energy_meter, rapl_zones
from benchbench.serve.llm_records import RequestRecord, Slo
from benchbench.serve.llm_server import summarize


def zone(root: Path, name: str, uj: int, max_uj: int = 262_143_328_850) -> Path:
    d = root / name
    d.mkdir()
    (d / "energy_uj").write_text(f"{uj}\n")
    (d / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return d


def test_rapl_sums_packages_and_undoes_a_wrap(tmp_path):
    p0 = zone(tmp_path, "intel-rapl:0", 1_000_000)
    p1 = zone(tmp_path, "intel-rapl:1", 999_000_000, max_uj=1_000_000_000)
    zone(tmp_path, "intel-rapl:0:0", 5)  # the core subzone of package 0: inside it, not added
    meter = energy_meter("cpu", powercap_root=str(tmp_path))
    assert isinstance(meter, RaplMeter) and [z.name for z in meter.zones] == ["intel-rapl:0", "intel-rapl:1"]
    meter.start()
    (p0 / "energy_uj").write_text("3500000\n")  # +2.5 J
    (p1 / "energy_uj").write_text("500000\n")  # wrapped: +1.0 J + 0.5 J
    (tmp_path / "intel-rapl:0:0" / "energy_uj").write_text("9999999\n")
    e = meter.stop()
    assert e.joules == pytest.approx(4.0) and e.source.startswith("rapl")


def test_unreadable_or_absent_rapl_is_not_measured(tmp_path):
    zones, why = rapl_zones(str(tmp_path / "absent"))
    assert zones == [] and "no RAPL" in why
    d = tmp_path / "intel-rapl:0"
    d.mkdir()
    (d / "energy_uj").write_text("not a number")
    zones, why = rapl_zones(str(tmp_path))
    assert zones == [] and "not readable" in why
    e = energy_meter("cpu", powercap_root=str(tmp_path)).stop()
    assert e.joules is None and e.source.startswith("not measured")


def test_not_measured_gives_no_per_token_figure():
    rec = RequestRecord(0.0, 4, 2, [0.01, 0.02])
    probe = summarize([rec], 1.0, Slo(100, 100), elapsed_s=1.0, stop_reason="done",
                      energy=NotMeasured("no counter").stop())  # fmt: skip
    assert probe.energy.joules is None and probe.energy.joules_per_output_token is None
    assert probe.energy.source == "not measured: no counter"


def test_joules_per_token_and_per_request_follow_from_the_counter():
    from benchbench.serve.llm_records import Energy

    recs = [RequestRecord(0.0, 4, 2, [0.01, 0.02]), RequestRecord(0.0, 4, 3, [0.01, 0.02, 0.03])]
    probe = summarize(
        recs, 1.0, Slo(100, 100), elapsed_s=1.0, stop_reason="done", energy=Energy("rapl", 10.0)
    )
    assert probe.energy.joules_per_output_token == pytest.approx(2.0)
    assert probe.energy.joules_per_request == pytest.approx(5.0)


class FakeNvml:
    """A stand-in for nvidia-ml-py's `pynvml` module with the calls the meter makes, as documented: handles by
    index, and `nvmlDeviceGetTotalEnergyConsumption(handle)` returning the GPU's energy since the driver loaded
    in millijoules (an int); `fail` raises the library's kind of error from the energy call."""

    class NVMLError(Exception):
        pass

    def __init__(self, fail: bool = False) -> None:
        self.millijoules = {0: 5_000_000, 1: 9_000_000}
        self.fail = fail
        self.initialised = False

    def nvmlInit(self) -> None:
        self.initialised = True

    def nvmlDeviceGetHandleByIndex(self, index: int) -> tuple[str, int]:
        assert self.initialised, "nvmlInit must come first"
        return ("handle", index)

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: tuple[str, int]) -> int:
        if self.fail:
            raise self.NVMLError("Not Supported")
        return self.millijoules[handle[1]]


def test_nvml_counter_gives_joules_per_token_and_request(monkeypatch):
    import sys

    from benchbench.serve.energy import NvmlMeter

    fake = FakeNvml()
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)  # CUDA index = NVML index
    meter = energy_meter("cuda:1")
    assert isinstance(meter, NvmlMeter) and meter.handle == ("handle", 1)
    meter.start()
    fake.millijoules[1] += 7_500  # 7.5 J on GPU 1
    fake.millijoules[0] += 1_000_000  # another GPU's energy is not counted
    recs = [RequestRecord(0.0, 4, 2, [0.01, 0.02]), RequestRecord(0.0, 4, 3, [0.01, 0.02, 0.03])]
    probe = summarize(recs, 1.0, Slo(100, 100), elapsed_s=1.0, stop_reason="done", energy=meter.stop())
    assert probe.energy.source == "nvml total energy" and probe.energy.joules == pytest.approx(7.5)
    assert probe.energy.joules_per_output_token == pytest.approx(1.5)  # 7.5 J over 5 tokens
    assert probe.energy.joules_per_request == pytest.approx(3.75)


def test_nvml_without_the_counter_or_the_library_is_not_measured(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(fail=True))
    e = energy_meter("cuda").stop()
    assert (
        e.joules is None
        and e.source == "not measured: NVML energy counter unavailable (NVMLError: Not Supported)"
    )
    monkeypatch.setitem(sys.modules, "pynvml", None)  # not installed: importing it raises ImportError
    e = energy_meter("cuda:0").stop()
    assert e.joules is None and "nvidia-ml-py is not installed" in e.source
