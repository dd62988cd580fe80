"""The schema layer: typed records to versioned JSON and back, atomic writes, and one-line errors on load."""

import json
import os
from pathlib import Path

import pytest

import benchbench.stages  # noqa: F401  (registers the stages whose records a profile holds)
from benchbench.core.errors import BadInputError
from benchbench.core.files import write_json
from benchbench.core.results import StageError
from benchbench.core.schema import SCHEMA_VERSION, load, read, write
from benchbench.deploy.records import Readiness
from benchbench.measure.records import LatencyStats, ParamCount, ProfileResult
from benchbench.record.run import RunResult, load_run

DATA = Path(__file__).resolve().parents[1] / "data"

# Dotted keys every profile record carries; users' scripts and the gate read them.
PROFILE_KEYS = (
    "model", "modality", "size", "batch_size", "device", "dtype",
    "params.total", "params.trainable", "params.by_module",
    "flops.macs", "flops.flops", "flops.uncounted_ops",
    "latency.p50_ms", "latency.p90_ms", "latency.p99_ms", "latency.n", "latency.throughput_per_s",
    "env",
)  # fmt: skip


def get_dotted(d: dict, dotted: str):
    cur = d
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise KeyError(dotted)
        cur = cur[part]
    return cur


def _profile(**kw) -> ProfileResult:
    return ProfileResult(
        model="m", modality="image", size="tiny", batch_size=2, device="cpu", dtype="float32", **kw
    )


def test_profile_round_trip_is_typed(tmp_path):
    p = _profile(params=ParamCount(3, 3, {"fc": 3}, 12), stages={"export": Readiness(verdict="ready")})
    p.errors.append(StageError("flops", "boom", "RuntimeError"))
    path = write(tmp_path / "p.json", p)
    d = json.loads(path.read_text())
    assert d["schema_version"] == SCHEMA_VERSION and d["kind"] == "profile" and d["status"] == "failed"
    assert d["export"]["verdict"] == "ready" and d["params"]["total"] == 3
    back = read(path)
    assert isinstance(back.params, ParamCount) and isinstance(back.export, Readiness)
    assert back == p


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "r.json"
    write_json(target, {"schema_version": 1, "a": 1})
    with pytest.raises(TypeError):
        write_json(target, {"x": object()})  # not JSON: the old file stays
    assert json.loads(target.read_text()) == {"schema_version": 1, "a": 1}
    assert os.listdir(tmp_path) == ["r.json"]


def test_nan_is_written_as_null(tmp_path):
    d = json.loads(write_json(tmp_path / "x.json", {"v": float("nan"), "w": [float("inf")]}).read_text())
    assert d == {"v": None, "w": [None]}


def test_newer_schema_is_refused(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1, "kind": "run"}))
    with pytest.raises(BadInputError, match="newer"):
        load_run(tmp_path / "r.json")


@pytest.mark.parametrize(
    "body, message",
    [
        ({"suite": "x", "device": "cpu", "profiles": None}, r"key profiles: Input should be a valid list"),
        ({"suite": "x", "device": "cpu"}, r"key profiles: Field required"),
        ({"suite": "x", "device": "cpu", "profiles": [{"model": "m", "modality": "image", "size": "tiny",
          "batch_size": 1, "device": "cpu", "dtype": "float32", "latency": {"p50_ms": "fast"}}]},
         r"key profiles\.0\.latency\.\w+"),
    ],
)  # fmt: skip
def test_a_wrong_field_is_named_in_one_line(tmp_path, body, message):
    (tmp_path / "r.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION, "kind": "run", **body}))
    with pytest.raises(BadInputError, match=message) as err:
        load_run(tmp_path / "r.json")
    assert "\n" not in str(err.value) and "r.json" in str(err.value)


def test_not_json_is_bad_input(tmp_path):
    (tmp_path / "results.json").write_text("{oops")
    with pytest.raises(BadInputError, match="not valid JSON"):
        load_run(tmp_path)


def test_run_round_trip(tmp_path):
    lat = LatencyStats.from_samples([1.0, 2.0, 3.0], batch_size=2)
    run = RunResult(suite="smoke", device="cpu", profiles=[_profile(latency=lat)])
    back = load_run(write(tmp_path / "results.json", run))
    assert back == run and back.profiles[0].latency.p50_ms == 2.0


def test_version_1_results_load_and_migrate():
    run = load_run(DATA / "results_v1.json")
    assert [p.model for p in run.profiles] == ["bert", "mlp"]
    bert = run.profiles[0]
    assert bert.sweeps[0].latency.p50_ms == bert.latency.p50_ms and bert.sweeps[1].error.endswith(
        "out of memory"
    )
    assert bert.export.parity.ok and bert.export.parity.outputs[0].name == "output_0"
    assert bert.export.quantized.parity.ok and bert.export.quantized.rule.startswith("max_abs")
    assert run.campaign.ceilings.matmul_tflops == 0.05 and run.campaign.goals[0].goal.startswith("forward")
    assert run.campaign.comparisons[0].impl == "eager" and run.campaign.swaps[0].model == "bert"


def test_profile_keys_are_present_in_a_real_profile(tmp_path):
    from benchbench.measure.profile import profile
    from benchbench.measure.timing import TimingConfig

    p = profile("mlp", timing=TimingConfig(warmup=1, min_repeats=3, min_time_s=0))
    d = json.loads(write(tmp_path / "p.json", p).read_text())
    for key in PROFILE_KEYS:
        get_dotted(d, key)  # raises KeyError naming the key if absent


def test_run_settings_are_typed_and_written_in_the_manifest_s_shape(tmp_path):
    from benchbench.core.results import Shard
    from benchbench.measure.timing import TimingConfig
    from benchbench.runs.suite import SUITES

    settings = SUITES["smoke"].settings(shard=Shard.parse("2/4"))
    assert isinstance(settings.timing, TimingConfig)
    assert (settings.shard.index, settings.shard.count) == (2, 4)
    path = write(tmp_path / "manifest.json", RunResult("smoke", "cpu", [], settings=settings))
    data = json.loads(path.read_text())
    assert data["settings"]["shard"] == "2/4"  # the same text older manifests hold
    assert data["settings"]["timing"]["min_repeats"] == settings.timing.min_repeats  # a table, as before
    back = read(path).settings
    assert back == settings and isinstance(back.timing, TimingConfig) and back.shard.count == 4
    data["settings"]["shard"] = "5/4"
    with pytest.raises(BadInputError, match=r"key settings\.shard: .*need 1 <= I <= N"):
        load(data, "m.json")
