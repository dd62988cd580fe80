"""Every registered stage runs on a tiny zoo model, lands on the profile under its name, and survives a round trip
through results.json."""

import pytest

from benchbench.core.results import Job
from benchbench.core.schema import write
from benchbench.core.stage import STAGES
from benchbench.measure.records import ProfileResult
from benchbench.measure.timing import TimingConfig
from benchbench.record.run import RunResult, load_run
from benchbench.runs.jobs import run_job
from benchbench.runs.suite import SUITES, Suite

FAST = TimingConfig(warmup=1, min_repeats=3, max_repeats=10, min_time_s=0.0)


def test_no_stage_shadows_a_field_of_the_profile():
    assert not set(STAGES) & set(ProfileResult.__dataclass_fields__)


def test_suites_name_only_known_stages():
    for suite in SUITES.values():
        assert set(suite.settings().stages) <= set(STAGES), suite.name
    assert SUITES["default"].settings().stages == ["export", "deploy_matrix", "health", "generation"]
    assert SUITES["smoke"].settings().stages == []


@pytest.mark.parametrize(
    "stage", [pytest.param(s, marks=pytest.mark.slow) if s == "serving" else s for s in sorted(STAGES)]
)  # the serving stage searches: a minute or two
def test_stage_lands_on_the_profile_and_round_trips(stage, tmp_path):
    model = "gpt2" if stage == "generation" else "bert"  # the generation stage measures decoders only
    suite = Suite("one", models=(model,), timing=FAST, stages=(stage,))
    result = run_job(Job(model, "tiny", 1, "float32"), suite.settings(), tmp_path)
    assert result.ok, result.errors
    record = getattr(result, stage)
    assert record is not None and isinstance(record, STAGES[stage].record)
    assert result.stages == {stage: record}
    back = load_run(write(tmp_path / "results.json", RunResult("one", "cpu", [result])))
    assert getattr(back.profiles[0], stage) == record
