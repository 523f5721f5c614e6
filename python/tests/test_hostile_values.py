"""Hostile values through the Python API (issue 25: M3, M4, L7). Each test
failed on the pybind11 package it replaced."""
import json
import math
import subprocess
import sys

import pytest

import fitwatch
from conftest import child_env, emf_lines


def lines_of(path):
    return emf_lines(path.read_text(encoding="utf-8", errors="replace"))


def test_settings_from_ignores_an_unrelated_variable_holding_non_utf8_bytes():
    """M3: the documented SageMaker start-up path raised UnicodeEncodeError."""
    code = ("import fitwatch\n"
            "s = fitwatch.settings_from({})\n"
            "print('patience', s.detector.patience)\n")
    env = child_env()
    env_bytes = {k.encode(): v.encode() for k, v in env.items()}
    env_bytes[b"X"] = b"caf\xe9"
    r = subprocess.run([sys.executable, "-c", code], env=env_bytes, capture_output=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert b"patience" in r.stdout


def test_a_fitwatch_variable_holding_non_utf8_bytes_is_an_error_not_a_crash():
    with pytest.raises(fitwatch.Error, match="FITWATCH_PATIENCE"):
        fitwatch.settings_from({}, environ={b"FITWATCH_PATIENCE": b"\xff5"})
    # A str from os.environ with an undecodable byte (surrogateescape) too.
    with pytest.raises(fitwatch.Error, match="FITWATCH_PATIENCE"):
        fitwatch.settings_from({}, environ={"FITWATCH_PATIENCE": "5\udcff"})
    assert fitwatch.settings_from({}, environ={"X": "caf\udce9"}).detector.patience >= 0


def test_set_and_observe_never_raise_on_lone_surrogates_or_huge_ints(tmp_path):
    """M4: RuntimeError "Unable to cast" on values the docs say never raise."""
    path = tmp_path / "m4.log"
    with fitwatch.Logger(job_name="j", path=path) as log:
        mon = fitwatch.Monitor(log)
        mon.observe(1, 0.5, 0.6, note="a\ud800b", big=2 ** 70, small=-(2 ** 64),
                    huge=10 ** 400)
        p = log.property("other")
        log.set(p, "\udfff")
        log.set(p, 2 ** 100)
        mon.observe(2, 0.5, 0.6)
    events = lines_of(path)
    assert len(events) == 2
    assert events[0]["note"] == "a\ufffd\ufffd\ufffdb"  # the surrogate's 3 bytes, each U+FFFD
    assert events[0]["big"] == float(2 ** 70) and events[0]["small"] == -float(2 ** 64)
    assert "huge" not in events[0]  # beyond the doubles: infinite, left out (C++ policy)
    assert events[1]["other"] == float(2 ** 100)


def test_epoch_must_be_an_int_not_a_bool(tmp_path):
    """L7: epoch=True was taken as epoch 1."""
    mon = fitwatch.Monitor(fitwatch.Logger(path=tmp_path / "l7.log"))
    with pytest.raises(TypeError):
        mon.observe(True, 0.5, 0.6)
    with pytest.raises(TypeError):
        mon.observe(2 ** 63, 0.5, 0.6)
    mon.observe(1, 0.5, 0.6)


def test_a_property_named_as_a_field_the_monitor_writes_is_refused(tmp_path):
    """L7: observe(Epoch=7) was overwritten by the monitor's Epoch, silently."""
    path = tmp_path / "l7.log"
    with fitwatch.Logger(path=path) as log:
        mon = fitwatch.Monitor(log)
        for name in ("Epoch", "BestEpoch", "OverfittingReason", "TrainLoss", "TrainingJobName"):
            with pytest.raises(fitwatch.Error, match=name):
                mon.observe(1, 0.5, 0.6, **{name: 7})
        mon.observe(1, 0.5, 0.6, epoch_note=7)
    (event,) = lines_of(path)
    assert event["Epoch"] == 1 and event["epoch_note"] == 7


@pytest.mark.parametrize("option,value", [("divergence_threshold", math.nan),
                                          ("min_delta", math.inf), ("min_delta", math.nan),
                                          ("smoothing", math.nan), ("gl_threshold", math.nan)])
def test_nan_and_infinite_options_are_refused(option, value):
    """L7: divergence_threshold=nan and min_delta=inf were accepted."""
    with pytest.raises(fitwatch.Error, match=option):
        fitwatch.DetectorOptions(**{option: value})
    with pytest.raises(fitwatch.Error, match=option):
        fitwatch.Monitor(fitwatch.Logger(path="/dev/null"), **{option: value})


def test_a_fitwatch_hyperparameter_in_another_case_is_refused():
    """L7: Fitwatch_Warmup was ignored without a word."""
    with pytest.raises(fitwatch.Error, match="Fitwatch_Warmup.*fitwatch_warmup"):
        fitwatch.settings_from({"Fitwatch_Warmup": "5"}, environ={})
    with pytest.raises(fitwatch.Error, match="FITWATCH_PATIENCE"):
        fitwatch.settings_from({"FITWATCH_PATIENCE": "5"}, environ={})
    assert fitwatch.settings_from({"other": 1}, environ={}).detector.warmup >= 0


def test_whole_floats_from_sm_hps_read_as_counts():
    """L7: fitwatch_warmup 5.0 (SM_HPS is JSON: the SDK may write 5.0) was refused."""
    hps = json.loads('{"fitwatch_warmup": 5.0, "fitwatch_patience": 7, "fitwatch_smoothing": 1.0}')
    s = fitwatch.settings_from(hps, environ={})
    assert (s.detector.warmup, s.detector.patience, s.detector.smoothing) == (5, 7, 1.0)
    with pytest.raises(fitwatch.Error, match="fitwatch_warmup"):
        fitwatch.settings_from({"fitwatch_warmup": 5.5}, environ={})
