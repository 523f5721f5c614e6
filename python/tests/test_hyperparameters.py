"""fitwatch.settings_from_argv(): the SageMaker training toolkit's
--fitwatch_<name> arguments are taken out of argv, the rest goes to the
script's own argparse, untouched (python/fitwatch/hyperparameters.py)."""
import argparse
import json

import pytest

import fitwatch

ENV = {}  # no FITWATCH_* variable, no SM_HPS, unless a test says so


def parser():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("files", nargs="*")
    return p


def test_the_toolkit_argv_splits_into_settings_and_the_scripts_own_arguments():
    # As the toolkit builds it: sorted keys, "--key value" pairs.
    argv = ["--epochs", "3", "--fitwatch_patience", "5", "--fitwatch_smoothing", "0.5",
            "--lr", "0.01"]
    settings, rest = fitwatch.settings_from_argv(argv, ENV)
    assert rest == ["--epochs", "3", "--lr", "0.01"]
    assert settings.detector.patience == 5
    assert settings.detector.smoothing == 0.5
    args = parser().parse_args(rest)  # a plain parse_args() no longer fails
    assert (args.epochs, args.lr) == (3, 0.01)


def test_a_plain_parse_args_fails_without_it():
    with pytest.raises(SystemExit):
        parser().parse_args(["--epochs", "3", "--fitwatch_patience", "5"])


def test_equals_form_dashes_and_order_are_kept():
    argv = ["a.txt", "--fitwatch_patience=7", "--epochs=2", "--fitwatch-min-delta", "0.01", "b.txt"]
    settings, rest = fitwatch.settings_from_argv(argv, ENV)
    assert rest == ["a.txt", "--epochs=2", "b.txt"]
    assert settings.detector.patience == 7
    assert settings.detector.min_delta == 0.01


def test_the_same_as_settings_from_for_the_same_values():
    by_argv, _ = fitwatch.settings_from_argv(["--fitwatch_patience", "4", "--fitwatch_namespace",
                                              "Team"], ENV)
    by_dict = fitwatch.settings_from({"fitwatch_patience": "4", "fitwatch_namespace": "Team"}, ENV)
    assert by_argv.detector.patience == by_dict.detector.patience == 4
    assert by_argv.namespace == by_dict.namespace == "Team"


def test_precedence_variables_then_sm_hps_then_arguments():
    env = {"FITWATCH_PATIENCE": "2", "FITWATCH_WARMUP": "1", "FITWATCH_MIN_DELTA": "0.5",
           "SM_HPS": json.dumps({"fitwatch_patience": 3, "fitwatch_warmup": 4, "epochs": 9})}
    settings, rest = fitwatch.settings_from_argv(["--fitwatch_patience", "6"], env)
    assert rest == []
    assert settings.detector.patience == 6      # argument over SM_HPS and variable
    assert settings.detector.warmup == 4        # SM_HPS (decoded: an int) over the variable
    assert settings.detector.min_delta == 0.5   # the variable
    # SM_HPS's other keys are the script's: not read, not an error.


def test_nothing_after_a_double_dash_is_taken():
    argv = ["--epochs", "1", "--", "--fitwatch_patience", "5"]
    settings, rest = fitwatch.settings_from_argv(argv, ENV)
    assert rest == ["--epochs", "1", "--", "--fitwatch_patience", "5"]
    assert settings.detector.patience == fitwatch.settings_from({}, ENV).detector.patience


def test_arguments_that_only_look_alike_are_left_to_the_script():
    argv = ["--fitwatcher", "1", "--fitwatch", "x", "-fitwatch_patience", "5",
            "--fit_watch_patience"]
    _, rest = fitwatch.settings_from_argv(argv, ENV)
    assert rest == argv


def test_a_negative_value_is_a_value():
    with pytest.raises(fitwatch.Error, match="fitwatch_patience"):
        fitwatch.settings_from_argv(["--fitwatch_patience", "-1"], ENV)  # read, then refused


@pytest.mark.parametrize("argv, message", [
    (["--fitwatch_patience"], "argument --fitwatch_patience needs a value"),
    (["--fitwatch_patience", "--epochs", "3"], "argument --fitwatch_patience needs a value"),
    (["--fitwatch_patience", "5", "--fitwatch_patience=6"], "--fitwatch_patience given twice"),
    (["--fitwatch_patience=5", "--fitwatch-patience", "5"], "--fitwatch_patience given twice"),
    (["--fitwatch_patiense", "5"], "unknown setting fitwatch_patiense"),
    (["--fitwatch_", "5"], "argument --fitwatch_ names no setting"),
    (["--fitwatch_patience", "five"], "fitwatch_patience"),
    (["--fitwatch_smoothing="], "fitwatch_smoothing"),
])
def test_hostile_argv_gets_a_clear_error(argv, message):
    with pytest.raises(fitwatch.Error, match=message) as e:
        fitwatch.settings_from_argv(argv, ENV)
    assert isinstance(e.value, ValueError)
    assert str(e.value).startswith("fitwatch: ")


@pytest.mark.parametrize("hps, message", [
    ("{not json", "SM_HPS is not JSON"),
    ("[1, 2]", "SM_HPS is not a JSON object"),
    (json.dumps({"fitwatch_nope": 1}), "unknown setting fitwatch_nope"),
])
def test_a_bad_sm_hps_gets_a_clear_error(hps, message):
    with pytest.raises(fitwatch.Error, match=message):
        fitwatch.settings_from_argv([], {"SM_HPS": hps})


def test_argv_of_non_text_is_refused():
    with pytest.raises(TypeError):
        fitwatch.settings_from_argv(["--epochs", 3], ENV)


def test_defaults_to_sys_argv_and_os_environ(monkeypatch):
    monkeypatch.setattr("sys.argv", ["train.py", "--fitwatch_patience", "8", "--epochs", "2"])
    for k in list(__import__("os").environ):
        if k.startswith("FITWATCH_") or k == "SM_HPS":
            monkeypatch.delenv(k)
    settings, rest = fitwatch.settings_from_argv()
    assert rest == ["--epochs", "2"]
    assert settings.detector.patience == 8
