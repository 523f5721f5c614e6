"""fitwatch's Python API: the same lines, signals and errors as the C++ library."""
import json
import math
import re
import subprocess

import pytest

import fitwatch
from conftest import REPO, emf_lines, run_python, validate

# A curve that overfits: the validation loss turns up while the training loss falls.
CURVE = [(e, 1.0 / e, 0.5 + 0.02 * (e - 6) ** 2) for e in range(1, 21)]


def observe_all(tmp_path, curve, **options):
    path = tmp_path / "emf.log"
    with fitwatch.Logger(job_name="j", path=path) as log:
        mon = fitwatch.Monitor(log, **options)
        signals = [mon.observe(e, t, v, timestamp=1700000000000 + e) for e, t, v in curve]
    return mon, signals, path.read_text()


def test_observe_writes_valid_emf_with_the_signal_metrics(tmp_path, cli):
    mon, signals, text = observe_all(tmp_path, CURVE[:5])
    code, report = validate(cli, text)
    assert code == 0, report
    events = emf_lines(text)
    assert len(events) == 5
    names = [m["Name"] for m in events[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert set(names) <= set(fitwatch.SIGNAL_METRICS)
    assert events[2]["TrainLoss"] == CURVE[2][1]
    assert events[2]["ValidationLoss"] == CURVE[2][2]
    assert events[2]["Epoch"] == 3
    assert events[2]["TrainingJobName"] == "j"
    assert events[2]["_aws"]["Timestamp"] == 1700000000003


def test_lines_and_signals_equal_those_of_fitwatch_emit(tmp_path, cli):
    """One implementation: the Python monitor writes what the C++ `emit` writes."""
    # The best epoch below was written for smoothing 0.7 and train_window 6
    # (the defaults until tune.py chose 0.5 and 4); both sides get them.
    mon, signals, text = observe_all(tmp_path, CURVE, smoothing=0.7, train_window=6)
    stdin = "".join(json.dumps({"epoch": e, "train_loss": t, "val_loss": v,
                                "timestamp": 1700000000000 + e}) + "\n" for e, t, v in CURVE)
    r = subprocess.run([cli, "emit", "--job-name", "j", "--smoothing", "0.7", "--train-window", "6"],
                       input=stdin, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert emf_lines(text) == emf_lines(r.stdout)
    assert any(s.overfitting for s in signals)  # the curve does overfit
    last = emf_lines(text)[-1]
    assert last["OverfittingDetected"] == (1 if signals[-1].overfitting else 0)
    assert last["GeneralizationLoss"] == signals[-1].generalization_loss
    assert last["EvaluationsSinceBest"] == signals[-1].since_best
    assert last["OverfittingReason"] == signals[-1].reason
    assert last["BestEpoch"] == mon.best_epoch == 6


def test_signals_have_the_documented_attributes(tmp_path):
    mon, signals, _ = observe_all(tmp_path, CURVE)
    s = signals[-1]
    for name in ("overfitting", "generalization_loss", "since_best", "reason", "diverged",
                 "gap", "gap_ratio", "rise_streak", "best_validation", "improved", "finite"):
        assert name in s._fields
        getattr(s, name)
    assert s.gap == pytest.approx(CURVE[-1][2] - CURVE[-1][1])
    assert mon.signals.evaluation == len(CURVE) - 1
    assert mon.should_stop() is True  # stop_on_overfitting is on by default
    assert "overfitting=True" in repr(s)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_loss_means_divergence(tmp_path, bad, cli):
    mon, signals, text = observe_all(tmp_path, [(1, 1.0, 1.0), (2, 0.9, bad)])
    assert signals[-1].diverged and not signals[-1].finite
    assert mon.should_stop()
    events = emf_lines(text)
    assert events[-1]["TrainingDiverged"] == 1
    assert "ValidationLoss" not in events[-1]  # JSON has no NaN: the value is dropped
    assert validate(cli, text)[0] == 0


def test_detector_options_have_the_cpp_defaults_and_keyword_overrides():
    cpp = fitwatch._core.DetectorOptions()
    d = fitwatch.DetectorOptions()
    assert d == cpp and d.as_dict() == {n: getattr(cpp, n) for n in cpp._fields}
    assert fitwatch.Monitor(fitwatch.Logger(path="/dev/null")).options == cpp
    m = fitwatch.Monitor(fitwatch.Logger(path="/dev/null"), patience=4, stop_on_overfitting=False)
    assert m.options.patience == 4 and m.options.stop_on_overfitting is False
    assert m.options.warmup == cpp.warmup
    base = fitwatch.DetectorOptions(patience=2, warmup=1)
    m = fitwatch.Monitor(fitwatch.Logger(path="/dev/null"), base, warmup=0)
    assert (m.options.patience, m.options.warmup) == (2, 0)


def test_every_documented_detector_option_is_bound_and_no_other():
    """docs/detector.md's options table names every field of detector_options."""
    text = (REPO / "docs" / "detector.md").read_text(encoding="utf-8")
    table = text[text.index("| option | default | meaning |"):]
    table = table[:table.index("\n\n")]
    documented = set()
    for row in table.splitlines()[2:]:
        documented |= set(re.findall(r"`([a-z_]+)`", row.split("|")[1]))
    assert documented == set(fitwatch.DetectorOptions._fields)


def test_the_defaults_are_those_fitwatch_emit_uses(tmp_path, cli):
    """Monitor() and `fitwatch emit` without flags behave alike on a noisy curve."""
    curve = [(e, 1.0 / e, 0.6 + 0.05 * math.sin(e) + 0.003 * e * e) for e in range(1, 40)]
    _, signals, text = observe_all(tmp_path, curve)
    stdin = "".join("%d,%r,%r\n" % c for c in curve)
    r = subprocess.run([cli, "emit", "--job-name", "j"], input=stdin, capture_output=True,
                       text=True, timeout=60)
    got = [(e["OverfittingDetected"], e.get("GeneralizationLoss")) for e in emf_lines(text)]
    want = [(e["OverfittingDetected"], e.get("GeneralizationLoss")) for e in emf_lines(r.stdout)]
    assert got == want


def cli_error(cli, flag, value):
    """The library's message for a bad `fitwatch emit FLAG VALUE`; emit says
    `fitwatch emit: setting FLAG="VALUE": <message without "fitwatch: ">`."""
    r = subprocess.run([cli, "emit", flag, value], input="", capture_output=True, text=True)
    assert r.returncode == 2
    prefix = f'fitwatch emit: setting {flag}="{value}": '
    line = r.stderr.splitlines()[0]
    assert line.startswith(prefix)
    return "fitwatch: " + line.removeprefix(prefix)


def test_cpp_errors_are_value_errors_with_the_cpp_message(cli):
    with pytest.raises(fitwatch.Error) as e:
        fitwatch.Monitor(fitwatch.Logger(path="/dev/null"), smoothing=2)
    assert isinstance(e.value, ValueError)
    assert str(e.value) == cli_error(cli, "--smoothing", "2")
    with pytest.raises(ValueError) as e:
        fitwatch.Logger("AWS/Mine", path="/dev/null")
    assert str(e.value) == cli_error(cli, "--namespace", "AWS/Mine")
    with pytest.raises(ValueError, match=r"^fitwatch: detector warmup must not be negative"):
        fitwatch.DetectorOptions(warmup=-1)
    log = fitwatch.Logger(path="/dev/null")
    with pytest.raises(ValueError, match=r'^fitwatch: metric "x": unknown unit "Parsecs"'):
        log.metric("x", unit="Parsecs")
    with pytest.raises(ValueError, match="storage resolution must be 1 or 60"):
        log.metric("x", resolution=5)
    with pytest.raises(ValueError, match="^fitwatch: invalid metric name"):
        log.metric("")
    with pytest.raises(ValueError, match="overflow policy"):
        fitwatch.Logger(path="/dev/null", overflow="sometimes")
    with pytest.raises(TypeError, match="unknown detector option 'patiense'"):
        fitwatch.Monitor(fitwatch.Logger(path="/dev/null"), patiense=3)
    mon = fitwatch.Monitor(fitwatch.Logger(path="/dev/null"))
    with pytest.raises(TypeError):
        mon.observe(1.5, 0.1, 0.2)  # an epoch is an int, never silently cut
    with pytest.raises(TypeError):
        mon.observe(2**63, 0.1, 0.2)
    with pytest.raises(TypeError, match="property value must be bool, int, float or str"):
        mon.observe(1, 0.1, 0.2, note=[1])


def test_logger_metric_property_put_set_flush(tmp_path, cli):
    path = tmp_path / "emf.log"
    with fitwatch.Logger("Team/ML", {"Model": "mlp", "Run": "3"}, path=path) as log:
        lr = log.metric("LearningRate", unit="None", resolution=1)
        tput = log.metric("Throughput", unit="Count/Second")
        note, step, done, ratio = (log.property(n) for n in ("Note", "Step", "Done", "Ratio"))
        assert log.metric("LearningRate", unit="None", resolution=1) is not None
        log.set(note, "warm")
        log.set(step, 7)
        log.set(done, True)
        log.set(ratio, 0.25)
        log.put(lr, 1e-3)
        log.put(tput, 120)
        log.put(tput, math.nan)  # dropped and counted, as in C++
        log.flush_at(1700000000000)
        assert log.namespace == "Team/ML"
    assert log.dropped_values == 1
    text = path.read_text()
    assert validate(cli, text)[0] == 0
    (event,) = emf_lines(text)
    assert event["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Team/ML"
    assert event["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Model", "Run"]]
    assert (event["Model"], event["Run"]) == ("mlp", "3")
    assert (event["Note"], event["Step"], event["Done"], event["Ratio"]) == ("warm", 7, True, 0.25)
    assert event["LearningRate"] == 1e-3 and event["Throughput"] == 120
    metrics = {m["Name"]: m for m in event["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert metrics["LearningRate"].get("StorageResolution") == 1
    assert metrics["Throughput"]["Unit"] == "Count/Second"


def test_observe_keyword_properties_and_accuracies(tmp_path):
    path = tmp_path / "emf.log"
    with fitwatch.Logger(job_name="j", path=path) as log:
        mon = fitwatch.Monitor(log)
        mon.observe(1, 0.5, 0.6, train_acc=0.8, val_acc=0.7, lr=0.001, phase="warmup", step=100)
    (event,) = emf_lines(path.read_text())
    assert (event["TrainAccuracy"], event["ValidationAccuracy"]) == (0.8, 0.7)
    assert (event["lr"], event["phase"], event["step"]) == (0.001, "warmup", 100)


def test_monitor_without_a_logger_writes_to_stdout_line_by_line(cli):
    code = ("import fitwatch\n"
            "m = fitwatch.Monitor(job_name='py')\n"
            "for e in range(1, 4):\n"
            "    m.observe(e, 1.0 / e, 1.1 / e)\n"
            "    print('epoch', e, 'done')\n")
    r = run_python(code)
    assert r.returncode == 0, r.stderr
    events = emf_lines(r.stdout)
    assert [e["Epoch"] for e in events] == [1, 2, 3]
    assert events[0]["TrainingJobName"] == "py"
    others = [l for l in r.stdout.splitlines() if not l.startswith("{")]
    assert others == ["epoch 1 done", "epoch 2 done", "epoch 3 done"]
    assert validate(cli, r.stdout)[0] == 0


def test_schema_is_the_cpp_schema(cli):
    r = subprocess.run([cli, "schema", "Team/ML"], capture_output=True, text=True)
    assert fitwatch.schema("Team/ML") == json.loads(r.stdout)
    assert [m["Name"] for m in fitwatch.schema()["Metrics"]] == list(fitwatch.SIGNAL_METRICS)
    assert "Count/Second" in fitwatch.UNITS and len(fitwatch.UNITS) == 27


# An accuracy that peaks at epoch 13 and falls while the training loss still falls.
ACCURACY = [(i + 1, 0.4 * math.exp(-0.05 * i), 0.5 + 0.001 * i,
             0.9 - 0.0008 * (i - 12) ** 2 + 0.002 * math.sin(1.7 * i)) for i in range(30)]


def first_alarm(events):
    return next((e["Epoch"] for e in events if e["OverfittingDetected"] == 1), None)


def test_monitor_mode_max_alarms_after_the_peak_as_fitwatch_emit_does(tmp_path, cli):
    path = tmp_path / "emf.log"
    with fitwatch.Logger(job_name="j", path=path) as log:
        # smoothing 0.7, as the peak epoch below was written for (the default
        # 0.5 lags the smoothed peak to epoch 14).
        mon = fitwatch.Monitor(log, monitor="val_acc", mode="max", smoothing=0.7)
        signals = [mon.observe(e, t, v, metric=a, timestamp=1700000000000 + e)
                   for e, t, v, a in ACCURACY]
    events = emf_lines(path.read_text())
    assert validate(cli, path.read_text())[0] == 0
    epoch = first_alarm(events)
    assert epoch is not None and epoch > 13
    assert mon.best_epoch == 13
    s = signals[epoch - 1]
    assert s.overfitting and s.reason.startswith("val_acc ") and "below its best" in s.reason
    assert events[-1]["val_acc"] == ACCURACY[-1][3]
    assert "Bestval_acc" in events[-1] and "BestValidationLoss" not in events[-1]
    # The same curve through `fitwatch emit`: the same first alarm.
    csv = "epoch,train_loss,val_loss,val_acc\n" + "".join("%d,%r,%r,%r\n" % c for c in ACCURACY)
    r = subprocess.run([cli, "emit", "--job-name", "j", "--monitor", "val_acc", "--mode", "max",
                        "--smoothing", "0.7"], input=csv, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert first_alarm(emf_lines(r.stdout)) == epoch
    # Read as lower-is-better, the rise while the model learns is what alarms.
    with fitwatch.Logger(job_name="j", path=tmp_path / "min.log") as log:
        mon = fitwatch.Monitor(log, monitor="val_acc")
        for e, t, v, a in ACCURACY:
            mon.observe(e, t, v, metric=a)
    assert first_alarm(emf_lines((tmp_path / "min.log").read_text())) < 13


def test_monitor_and_mode_from_settings_and_their_errors():
    s = fitwatch.settings_from({"fitwatch_monitor": "val_acc", "fitwatch_mode": "max"}, environ={})
    assert (s.detector.monitor, s.detector.mode) == ("val_acc", "max")
    mon = fitwatch.Monitor(fitwatch.Logger(path="/dev/null"), settings=s)
    assert mon.options.mode == "max"
    with pytest.raises(TypeError, match="metric="):
        mon.observe(1, 0.5, 0.6)  # the named metric's value is required
    with pytest.raises(fitwatch.Error, match=r'^fitwatch: setting FITWATCH_MODE="up": not min or '
                                             r'max$'):
        fitwatch.settings_from(environ={"FITWATCH_MODE": "up"})
    with pytest.raises(fitwatch.Error, match='^fitwatch: detector mode must be min or max, got "up"'):
        fitwatch.DetectorOptions(mode="up")
    with pytest.raises(fitwatch.Error, match='invalid metric name ""'):
        fitwatch.Monitor(fitwatch.Logger(path="/dev/null"), monitor="")
    with pytest.raises(fitwatch.Error, match="Epoch is a name fitwatch already writes"):
        fitwatch.Monitor(fitwatch.Logger(path="/dev/null"), monitor="Epoch")
    schema = fitwatch.schema(monitor="val_acc", mode="max")
    assert schema["Monitor"] == {**schema["Monitor"], "Name": "val_acc", "Mode": "max",
                                 "Best": "Bestval_acc"}
    assert "val_acc" in {m["Name"] for m in schema["Metrics"]}
