"""Issue 14 through the Python package: the monitor's state saved with a
checkpoint and restored, and settings read from hyperparameters and the
environment by the C++ library (one naming rule, docs/settings.md)."""
import json
import os

import pytest

import fitwatch
from conftest import child_env, emf_lines, run_python

# Best at epoch 6, then the validation loss climbs while the training loss falls.
CURVE = [(e, 1.0 / e, 0.5 + 0.02 * (e - 6) ** 2) for e in range(1, 21)]


def signal_values(s):
    return {name: getattr(s, name) for name in fitwatch.Signals._fields}


def run(tmp_path, name, curve, state=None):
    """Observes `curve` with a fresh monitor (after restoring `state`);
    returns the signals of every epoch, the monitor's state and the lines."""
    path = tmp_path / name
    with fitwatch.Logger(job_name="j", path=path) as log:
        mon = fitwatch.Monitor(log)
        if state is not None:
            mon.restore_state(state)
        signals = [signal_values(mon.observe(e, t, v, timestamp=1700000000000 + e))
                   for e, t, v in curve]
        saved = mon.save_state()
    return signals, saved, emf_lines(path.read_text())


def first_alarm(signals):
    return next(i for i, s in enumerate(signals) if s["overfitting"])


def test_a_resumed_run_alarms_at_the_same_epoch_as_an_uninterrupted_one(tmp_path):
    whole, _, whole_lines = run(tmp_path, "whole.log", CURVE)
    alarm = first_alarm(whole)
    best = whole[alarm]["best_evaluation"]
    assert best + 1 < alarm  # the interruption falls between the best and the alarm
    cut = best + 1
    before, state, _ = run(tmp_path, "before.log", CURVE[:cut])
    after, _, after_lines = run(tmp_path, "after.log", CURVE[cut:], state=json.loads(
        json.dumps(state)))
    assert before + after == whole
    assert first_alarm(after) + cut == alarm
    assert after_lines[-1]["BestEpoch"] == whole_lines[-1]["BestEpoch"] == CURVE[best][0]
    # Without the state the resumed run never alarms: its best is its first epoch.
    fresh, _, _ = run(tmp_path, "fresh.log", CURVE[cut:])
    assert not any(s["overfitting"] for s in fresh[:alarm - cut + 1])


def test_the_state_is_json_text_and_bytes_are_read_too(tmp_path):
    _, state, _ = run(tmp_path, "a.log", CURVE[:8])
    assert isinstance(state, str) and isinstance(json.loads(state), dict)
    _, again, _ = run(tmp_path, "b.log", [], state=state.encode())
    assert json.loads(again) == json.loads(state)


@pytest.mark.parametrize("hostile", [
    "", "not json", "[]", "{}", "null", '"text"', "{" * 100000, "x" * 70000,
    '{"best_epoch":"seven"}',
])
def test_a_hostile_state_is_a_value_error_and_changes_nothing(tmp_path, hostile):
    _, good, _ = run(tmp_path, "a.log", CURVE[:8])
    with fitwatch.Logger(job_name="j", path=tmp_path / "b.log") as log:
        mon = fitwatch.Monitor(log)
        mon.restore_state(good)
        with pytest.raises(ValueError, match="^fitwatch: "):
            mon.restore_state(hostile)
        assert json.loads(mon.save_state()) == json.loads(good)


def test_a_state_with_a_field_out_of_range_or_other_options_is_rejected(tmp_path):
    _, good, _ = run(tmp_path, "a.log", CURVE[:8])
    state = json.loads(good)
    state["detector"]["history_count"] = 10 ** 6
    wrong_version = json.loads(good)
    wrong_version["detector"]["version"] = 2
    with fitwatch.Logger(job_name="j", path=tmp_path / "b.log") as log:
        for bad in (state, wrong_version):
            with pytest.raises(fitwatch.Error):
                fitwatch.Monitor(log).restore_state(json.dumps(bad))
        with pytest.raises(ValueError, match="patience"):
            fitwatch.Monitor(log, patience=3).restore_state(good)


def test_settings_from_sdk_style_hyperparameters():
    s = fitwatch.settings_from({
        "fitwatch_stop_on_overfitting": "False",  # str(False)
        "fitwatch_check_finite": True,            # a JSON boolean from SM_HPS
        "fitwatch_smoothing": '"0.5"',            # JSON-quoted, as the SDK writes it
        "fitwatch_patience": 7,
        "fitwatch_job_name": '"my-job"',
        "epochs": "40",                           # not a fitwatch setting: left alone
    }, environ={})
    assert s.detector.stop_on_overfitting is False
    assert s.detector.check_finite is True
    assert s.detector.smoothing == 0.5
    assert s.detector.patience == 7
    assert s.job_name == "my-job"
    assert s.value("patience") == "7"
    mon = fitwatch.Monitor(fitwatch.Logger(job_name="j", path=os.devnull), s.detector)
    assert mon.options.patience == 7


def test_a_hyperparameter_wins_over_the_environment_which_wins_over_the_default():
    env = {"FITWATCH_PATIENCE": "4", "FITWATCH_WARMUP": "2", "FITWATCH_NOT_A_SETTING": "x"}
    s = fitwatch.settings_from({"fitwatch_patience": "9"}, environ=env)
    assert (s.detector.patience, s.detector.warmup) == (9, 2)
    assert s.detector.min_delta == fitwatch.DetectorOptions().min_delta


def test_settings_read_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("FITWATCH_PATIENCE", "5")
    assert fitwatch.settings_from().detector.patience == 5


@pytest.mark.parametrize("hyperparameters, environ, message", [
    ({"fitwatch_patiense": "2"}, {}, "fitwatch: unknown setting fitwatch_patiense"),
    ({"fitwatch_smoothing": "abc"}, {},
     'fitwatch: setting fitwatch_smoothing="abc": not a number'),
    ({"fitwatch_stop_on_overfitting": "maybe"}, {}, "fitwatch_stop_on_overfitting"),
    ({"fitwatch_patience": "-1"}, {}, "fitwatch_patience"),
    ({"fitwatch_smoothing": '"0.5'}, {}, "fitwatch_smoothing"),
    ({}, {"FITWATCH_SMOOTHING": "2"}, "smoothing"),
    ({"fitwatch_namespace": "AWS/Nope"}, {}, "AWS/"),
])
def test_a_bad_setting_is_a_value_error_with_the_cpp_message(hyperparameters, environ, message):
    with pytest.raises(ValueError) as e:
        fitwatch.settings_from(hyperparameters, environ=environ)
    assert message in str(e.value)
    assert str(e.value).startswith("fitwatch: ")


def test_every_setting_name_is_the_cpp_list_and_detector_settings_are_options():
    assert "smoothing" in fitwatch.SETTING_NAMES and "write_ranks" in fitwatch.SETTING_NAMES
    assert fitwatch.HYPERPARAMETER_PREFIX == "fitwatch_"
    defaults = fitwatch.settings_from({}, environ={})
    for name in fitwatch.SETTING_NAMES:
        text = defaults.value(name)  # every name is known to C++, its value reads back
        assert fitwatch.settings_from({"fitwatch_" + name: text}, environ={}).value(name) == text


WRITE_ONE = """
import os, sys, fitwatch
mon = fitwatch.Monitor(settings=fitwatch.settings_from({"fitwatch_job_name": "ranked"}))
mon.observe(1, 1.0, 1.0)
mon.logger.close()
print("rank", tuple(fitwatch.read_process_rank()), file=sys.stderr)
"""


@pytest.mark.parametrize("rank, world, ranks, writes", [
    ("0", "2", None, True), ("1", "2", None, False), ("1", "2", "all", True), (None, None, None, True),
])
def test_only_global_rank_0_writes_emf_lines(rank, world, ranks, writes):
    env = child_env()
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "FITWATCH_WRITE_RANKS"):
        env.pop(k, None)
    if rank is not None:
        env.update(RANK=rank, WORLD_SIZE=world, LOCAL_RANK=rank)
    if ranks:
        env["FITWATCH_WRITE_RANKS"] = ranks
    r = run_python(WRITE_ONE, env=env)
    assert r.returncode == 0, r.stderr
    lines = emf_lines(r.stdout)
    assert len(lines) == (1 if writes else 0)
    if not writes:
        assert r.stdout == ""  # nothing at all on stdout
    else:
        assert lines[0]["TrainingJobName"] == "ranked"
    assert "rank (%s, %s, %s)" % ((rank, rank, world) if rank else ("0", "0", "1")) in r.stderr


def test_a_malformed_rank_is_reported_and_read_as_unset(monkeypatch):
    # Issue #25 M2: the library's policy is "report, and keep writing"; a
    # bad RANK (here beyond WORLD_SIZE) counts as rank 0, never an exception.
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "2")
    rank = fitwatch.read_process_rank()
    assert rank[0] == 0
    logger = fitwatch.Logger(settings=fitwatch.settings_from({}, environ={}), path=os.devnull)
    logger.close()


def test_namespace_and_job_name_come_from_the_settings_not_both():
    with pytest.raises(TypeError):
        fitwatch.Logger(job_name="x", settings=fitwatch.settings_from({}, environ={}))
    with pytest.raises(TypeError):
        fitwatch.Monitor(options=fitwatch.DetectorOptions(),
                         settings=fitwatch.settings_from({}, environ={}))
