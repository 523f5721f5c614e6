"""examples/python/train.py: real PyTorch training on Fashion-MNIST, run as
SageMaker runs a script-mode entry point, for a few epochs on a subset."""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO, child_env, emf_lines, validate

pytest.importorskip("torch")
DATA = "/usr/share/datasets/fashion-mnist"
SMALL = ["--train-size", "400", "--val-size", "1000", "--test-size", "1000", "--width", "64",
         "--threads", "2"]


def run(tmp_path, args, hps, **environ):
    if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
        pytest.skip("dataset-fashion-mnist is not installed")
    env = child_env()
    for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):
        env.pop(k, None)
    env.update(environ)
    env.update(SM_MODEL_DIR=str(tmp_path / "model"), SM_CHANNEL_TRAINING=DATA,
               SM_HPS=json.dumps(hps), TRAINING_JOB_NAME="py-example")
    return subprocess.run([sys.executable, str(REPO / "examples" / "python" / "train.py"), *args],
                          capture_output=True, text=True, timeout=300, env=env)


def test_the_example_trains_and_writes_only_valid_emf_lines(tmp_path, cli):
    # SageMaker passes hyperparameters both as arguments and in SM_HPS.
    r = run(tmp_path, SMALL + ["--epochs", "3"], {"epochs": 3})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 3
    code, report = validate(cli, r.stdout)
    assert code == 0, report
    events = emf_lines(r.stdout)
    assert len(events) == len(lines)  # stdout carries nothing but EMF
    assert [e["Epoch"] for e in events] == [1, 2, 3]
    assert events[0]["TrainingJobName"] == "py-example"
    assert all(0 < e["ValidationLoss"] < 5 and "TestLoss" in e for e in events)
    assert "train_size=400" in events[0]["Hyperparameters"]
    assert (tmp_path / "model" / "model.pth").exists()


def test_early_stopping_restores_the_best_weights(tmp_path):
    # fitwatch_ hyperparameters reach the detector: with a min_delta no
    # epoch can beat, the patience rule stops at epoch 3, best epoch 1.
    r = run(tmp_path, SMALL + ["--epochs", "6", "--fitwatch_patience", "2"],
            {"fitwatch_min_delta": 100, "fitwatch_warmup": 0})
    assert r.returncode == 0, r.stderr
    events = emf_lines(r.stdout)
    assert len(events) == 3
    assert events[-1]["OverfittingDetected"] == 1 and events[-1]["BestEpoch"] == 1
    assert "stopped at epoch 3" in r.stderr and "weights of epoch 1 restored" in r.stderr
    saved = float(re.search(r"validation loss ([0-9.]+)\)", r.stderr).group(1))
    assert saved == pytest.approx(events[0]["ValidationLoss"], abs=1e-4)
    assert saved != pytest.approx(events[-1]["ValidationLoss"], abs=1e-4)


def test_a_bad_hyperparameter_fails_with_a_message(tmp_path):
    r = run(tmp_path, SMALL + ["--fitwatch_patiense", "2"], {})
    assert r.returncode == 2
    assert "fitwatch: unknown setting fitwatch_patiense" in r.stderr
    r = run(tmp_path, SMALL, {"fitwatch_smoothing": "abc"})
    assert r.returncode == 2
    assert 'fitwatch: setting fitwatch_smoothing="abc": not a number' in r.stderr


# fitwatch_ hyperparameters as the SDK writes them (str(True), JSON-quoted)
# and a FITWATCH_ variable: with a min_delta no epoch can beat, the patience
# rule stops at epoch 3 with best epoch 1.
STOP_AT_3 = {"fitwatch_min_delta": '"100"', "fitwatch_warmup": "0", "fitwatch_patience": 2,
             "fitwatch_stop_on_overfitting": "True"}


def detector_signals(event):
    return {k: event[k] for k in ("Epoch", "BestEpoch", "OverfittingDetected",
                                  "RiseStreak", "EpochsSinceBest") if k in event}


def test_a_run_resumed_after_its_best_epoch_stops_where_an_uninterrupted_one_does(tmp_path):
    whole = run(tmp_path, SMALL + ["--epochs", "6", "--checkpoint-dir", str(tmp_path / "a")],
                STOP_AT_3)
    assert whole.returncode == 0, whole.stderr
    assert "stopped at epoch 3" in whole.stderr
    # The same job interrupted after epoch 2 (after its best, epoch 1), then resumed.
    first = run(tmp_path, SMALL + ["--epochs", "2", "--checkpoint-dir", str(tmp_path / "b")],
                STOP_AT_3)
    assert first.returncode == 0, first.stderr
    resumed = run(tmp_path, SMALL + ["--epochs", "6", "--checkpoint-dir", str(tmp_path / "b")],
                  STOP_AT_3)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stderr and "after epoch 2" in resumed.stderr
    assert "stopped at epoch 3" in resumed.stderr and "weights of epoch 1 restored" in resumed.stderr
    events = emf_lines(first.stdout) + emf_lines(resumed.stdout)
    expected = emf_lines(whole.stdout)
    assert [e["Epoch"] for e in events] == [e["Epoch"] for e in expected] == [1, 2, 3]
    assert [detector_signals(e) for e in events] == [detector_signals(e) for e in expected]
    for got, want in zip(events, expected):  # the same training, continued
        assert got["ValidationLoss"] == pytest.approx(want["ValidationLoss"], rel=1e-5)
        assert got["TrainLoss"] == pytest.approx(want["TrainLoss"], rel=1e-5)
    assert expected[-1]["OverfittingDetected"] == 1 and expected[-1]["BestEpoch"] == 1


def test_a_worker_of_rank_1_writes_no_emf_line_and_no_file(tmp_path):
    r = run(tmp_path, SMALL + ["--epochs", "2", "--checkpoint-dir", str(tmp_path / "c")], {},
            RANK="1", LOCAL_RANK="1", WORLD_SIZE="2")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert "epoch  2" in r.stderr  # it trained
    assert not (tmp_path / "c").exists() and not (tmp_path / "model").exists()


def test_a_corrupt_checkpoint_fails_with_a_message(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "fitwatch-resume.pth").write_bytes(b"\x80\x02not a checkpoint")
    r = run(tmp_path, SMALL + ["--epochs", "2", "--checkpoint-dir", str(tmp_path / "d")], {})
    assert r.returncode == 1
    assert "train.py: checkpoint " in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == ""
