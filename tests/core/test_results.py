import json
import os

import pytest

from benchbench.core.errors import BadInputError
from benchbench.core.files import write_json
from benchbench.core.results import (
    PROFILE_KEYS,
    SCHEMA_VERSION,
    ProfileResult,
    RunResult,
    StageError,
    get_dotted,
    load_profile,
    load_run,
)


def _profile(**kw) -> ProfileResult:
    return ProfileResult(
        model="m", modality="image", size="tiny", batch_size=2, device="cpu", dtype="float32", **kw
    )


def test_profile_round_trip_keeps_sections(tmp_path):
    p = _profile(params={"total": 3}, sections={"export": {"verdict": "ready"}})
    p.errors.append(StageError("flops", "boom", "RuntimeError"))
    path = write_json(tmp_path / "p.json", p)
    d = json.loads(path.read_text())
    assert (
        d["schema_version"] == SCHEMA_VERSION
        and d["status"] == "failed"
        and d["export"]["verdict"] == "ready"
    )
    back = load_profile(path)
    assert back.sections == {"export": {"verdict": "ready"}} and back.errors[0].stage == "flops"
    assert back.to_dict() == d


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "r.json"
    write_json(target, {"schema_version": 1, "a": 1})

    class Boom:
        def to_dict(self):
            raise RuntimeError("half-way")

    with pytest.raises(RuntimeError):
        write_json(target, {"x": Boom()})
    assert json.loads(target.read_text()) == {"schema_version": 1, "a": 1}  # old file untouched
    assert os.listdir(tmp_path) == ["r.json"]


def test_nan_is_written_as_null(tmp_path):
    d = json.loads(write_json(tmp_path / "x.json", {"v": float("nan"), "w": [float("inf")]}).read_text())
    assert d == {"v": None, "w": [None]}


def test_newer_schema_is_refused(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1, "kind": "run"}))
    with pytest.raises(BadInputError, match="newer"):
        load_run(tmp_path / "r.json")


def test_missing_key_is_named(tmp_path):
    (tmp_path / "r.json").write_text(
        json.dumps({"schema_version": 1, "kind": "run", "suite": "x", "device": "cpu"})
    )
    with pytest.raises(BadInputError, match="'profiles'"):
        load_run(tmp_path / "r.json")


def test_not_json_is_bad_input(tmp_path):
    (tmp_path / "results.json").write_text("{oops")
    with pytest.raises(BadInputError, match="not valid JSON"):
        load_run(tmp_path)


def test_run_round_trip(tmp_path):
    run = RunResult(suite="smoke", device="cpu", profiles=[_profile()])
    back = load_run(write_json(tmp_path / "results.json", run))
    assert back.run_id == run.run_id and back.profiles[0].model == "m"


def test_profile_keys_are_present_in_a_real_profile():
    from benchbench.measure.profile import profile
    from benchbench.measure.timing import TimingConfig

    d = profile("mlp", timing=TimingConfig(warmup=1, min_repeats=3, min_time_s=0)).to_dict()
    for key in PROFILE_KEYS:
        get_dotted(d, key)  # raises KeyError naming the key if absent
