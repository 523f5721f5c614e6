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


def run(tmp_path, args, hps):
    if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
        pytest.skip("dataset-fashion-mnist is not installed")
    env = child_env()
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
    assert "unknown detector option fitwatch_patiense" in r.stderr
