"""examples/python/sagemaker/: the PyTorch-estimator recipe, run the way the
SageMaker training toolkit (aws/sagemaker-training-toolkit) runs a
script-mode entry point, without AWS:

- the source_dir (train.py, requirements.txt and the fitwatch wheel) is
  copied to a code folder, as the toolkit unpacks it to /opt/ml/code;
- `python -m pip install -r requirements.txt` in that folder
  (modules.install_requirements), into a fresh virtual environment that
  sees the system's torch as a SageMaker PyTorch image has its own,
  offline (--no-index, proxies pointing nowhere);
- `python train.py --name value ...`: the hyperparameters as the SDK's
  framework estimator JSON-encodes them, the toolkit decodes them
  (environment.read_hyperparameters) and turns them into sorted
  `--key str(value)` arguments (mapping.to_cmd_args), and also as JSON in
  SM_HPS; SM_MODEL_DIR, SM_CHANNEL_TRAINING, SM_OUTPUT_DATA_DIR set;
- the EMF lines on stdout (fitwatch validate), the model and the curves.

The wheel: FITWATCH_WHEEL if set (make wheel's dist/fitwatch-*.whl), else
one built here from the checkout with pip (offline, Debian's build tools).
launch.py is compiled and run against a stand-in for the SageMaker SDK."""
import ast
import glob
import json
import os
import pathlib
import shutil
import subprocess
import sys
import types

import pytest

from conftest import REPO, emf_lines, validate

RECIPE = REPO / "examples" / "python" / "sagemaker"
DATA = "/usr/share/datasets/fashion-mnist"
PYTHON = "/usr/bin/python3"
OFFLINE = dict(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_PROXY="http://127.0.0.1:9",
               HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")


def sh(*cmd, cwd=None, env=None, check=True, timeout=1200):
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=timeout)
    if check:
        assert r.returncode == 0, "%s\n%s\n%s" % (" ".join(map(str, cmd)), r.stdout[-3000:],
                                                  r.stderr[-3000:])
    return r


def clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV", "FITWATCH", "SM_", "TRAINING_JOB",
                                "RANK", "LOCAL_RANK", "WORLD_SIZE"))}
    env.update(OFFLINE)
    return env


def toolkit_args(hyperparameters):
    """What the toolkit passes to the script for the estimator's
    hyperparameters: the SDK sends json.dumps(value), the toolkit json.loads
    it back and writes sorted `--key str(value)` pairs (a one-letter key
    gets one dash); SM_HPS is the decoded dict as JSON."""
    decoded = {k: json.loads(json.dumps(v)) for k, v in hyperparameters.items()}
    args = []
    for k in sorted(decoded):
        args += ["--" + k if len(k) > 1 else "-" + k, str(decoded[k])]
    return args, json.dumps(decoded)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    given = os.environ.get("FITWATCH_WHEEL")
    if given:
        return pathlib.Path(given)
    out = tmp_path_factory.mktemp("wheel")
    env = clean_env()
    if shutil.which("ccache"):  # the library's sources again: ccache saves minutes
        env.setdefault("CC", "ccache x86_64-linux-gnu-gcc")
        env.setdefault("CXX", "ccache x86_64-linux-gnu-g++")
    sh(PYTHON, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-w", out, REPO,
       cwd=out, env=env)
    (whl,) = out.glob("fitwatch-*.whl")
    return whl


@pytest.fixture(scope="module")
def job(tmp_path_factory, wheel):
    """/opt/ml/code with the recipe and the wheel, and a venv where
    requirements.txt was installed as the toolkit installs it."""
    if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
        pytest.skip("dataset-fashion-mnist is not installed")
    root = tmp_path_factory.mktemp("opt_ml")
    code = root / "code"
    shutil.copytree(RECIPE, code, ignore=shutil.ignore_patterns("*.whl", "__pycache__"))
    shutil.copy(wheel, code)
    env = clean_env()
    venv = root / "venv"
    sh(PYTHON, "-m", "venv", "--system-site-packages", venv, env=env)
    py = venv / "bin" / "python"
    # The toolkit's command, in the code folder, plus --no-index on the
    # command line too (the file already says it).
    sh(py, "-m", "pip", "install", "--no-index", "-r", "requirements.txt", cwd=code, env=env)
    where = sh(py, "-c", "import fitwatch; print(fitwatch.__file__)", cwd=root, env=env).stdout
    assert where.startswith(str(venv)), where  # the wheel's fitwatch, not another one
    channel = root / "input" / "data" / "training"
    channel.mkdir(parents=True)
    for f in glob.glob(os.path.join(DATA, "*.gz")):
        os.symlink(f, channel / os.path.basename(f))
    return types.SimpleNamespace(root=root, code=code, py=py, channel=channel)


def run_entry_point(job, hyperparameters, name):
    args, sm_hps = toolkit_args(hyperparameters)
    env = clean_env()
    out = job.root / name
    env.update(SM_HPS=sm_hps, SM_MODEL_DIR=str(out / "model"), SM_CHANNEL_TRAINING=str(job.channel),
               SM_OUTPUT_DATA_DIR=str(out / "output" / "data"), SM_CHANNELS='["training"]',
               SM_CURRENT_HOST="algo-1", SM_HOSTS='["algo-1"]', TRAINING_JOB_NAME="recipe-" + name)
    r = sh(job.py, "train.py", *args, cwd=job.code, env=env, check=False, timeout=600)
    return r, out


SMALL = {"epochs": 4, "train-size": 400, "val-size": 500, "width": 64}


def test_the_entry_point_trains_as_the_toolkit_runs_it(job, cli):
    hps = dict(SMALL, fitwatch_patience=5, fitwatch_smoothing=0.5, fitwatch_namespace="Recipe")
    r, out = run_entry_point(job, hps, "good")
    assert r.returncode == 0, r.stderr
    code, report = validate(cli, r.stdout)
    assert code == 0, report
    events = emf_lines(r.stdout)
    assert len(events) == len(r.stdout.splitlines()) == 4  # stdout carries only EMF
    assert [e["Epoch"] for e in events] == [1, 2, 3, 4]
    assert {e["TrainingJobName"] for e in events} == {"recipe-good"}
    assert {e["_aws"]["CloudWatchMetrics"][0]["Namespace"] for e in events} == {"Recipe"}
    assert all(0 < e["ValidationLoss"] < 5 for e in events)
    assert (out / "model" / "model.pth").stat().st_size > 0
    assert len((out / "output" / "data" / "curves.csv").read_text().splitlines()) == 5


def test_fitwatch_hyperparameters_reach_the_detector(job):
    # A min_delta no epoch can beat: patience 2 stops after epoch 3.
    hps = dict(SMALL, epochs=8, fitwatch_patience=2, fitwatch_min_delta=100, fitwatch_warmup=0)
    r, _ = run_entry_point(job, hps, "stops")
    assert r.returncode == 0, r.stderr
    events = emf_lines(r.stdout)
    assert len(events) == 3 and events[-1]["OverfittingDetected"] == 1
    assert "stopped at epoch 3" in r.stderr


def test_a_bad_fitwatch_hyperparameter_fails_the_job_with_its_name(job):
    r, out = run_entry_point(job, dict(SMALL, fitwatch_patiense=5), "bad")
    assert r.returncode == 2
    assert "unknown setting fitwatch_patiense" in r.stderr
    assert r.stdout == "" and not (out / "model").exists()


def test_the_launch_script_compiles_and_names_the_recipe(tmp_path, monkeypatch):
    source = (RECIPE / "launch.py").read_text()
    compile(source, "launch.py", "exec")
    calls = [n for n in ast.walk(ast.parse(source))
             if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "PyTorch"]
    assert len(calls) == 1
    assert {"entry_point", "source_dir", "framework_version", "hyperparameters"} \
        <= {k.arg for k in calls[0].keywords}
    # Run it against a stand-in for the SDK: what it would send to SageMaker.
    seen = {}

    class PyTorch:
        def __init__(self, **kwargs):
            seen.update(kwargs)

        def fit(self, inputs, job_name=None):
            seen["fit"] = inputs

    sdk = types.ModuleType("sagemaker")
    sdk.pytorch = types.ModuleType("sagemaker.pytorch")
    sdk.pytorch.PyTorch = PyTorch
    monkeypatch.setitem(sys.modules, "sagemaker", sdk)
    monkeypatch.setitem(sys.modules, "sagemaker.pytorch", sdk.pytorch)
    recipe = tmp_path / "recipe"
    shutil.copytree(RECIPE, recipe, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("ROLE", "arn:aws:iam::123456789012:role/fitwatch-sagemaker")
    monkeypatch.setenv("DATA", "s3://bucket/fashion-mnist/")
    with pytest.raises(SystemExit, match="copy the fitwatch wheel"):
        exec(compile((recipe / "launch.py").read_text(), str(recipe / "launch.py"), "exec"),
             {"__file__": str(recipe / "launch.py"), "__name__": "__main__"})
    (recipe / "fitwatch-0.1.0-py3-none-any.whl").write_bytes(b"")
    exec(compile((recipe / "launch.py").read_text(), str(recipe / "launch.py"), "exec"),
         {"__file__": str(recipe / "launch.py"), "__name__": "__main__"})
    assert seen["source_dir"] == str(recipe)
    assert (recipe / seen["entry_point"]).is_file()  # at the root of source_dir, as the SDK wants
    assert seen["fit"] == {"training": "s3://bucket/fashion-mnist/"}
    assert any(k.startswith("fitwatch_") for k in seen["hyperparameters"])
    # The launch script's hyperparameters, as the toolkit passes them, are
    # all accepted by the entry point's parser (fitwatch's and its own).
    sys.path.insert(0, str(recipe))
    try:
        pytest.importorskip("torch")
        import importlib
        entry = importlib.import_module("train")
        args, _ = toolkit_args(seen["hyperparameters"])
        options, settings = entry.parse_args(args)
        assert options.epochs == 30 and options.train_size == 2000
        assert settings.detector.patience == 5 and settings.namespace == "FitWatch"
    finally:
        sys.path.remove(str(recipe))
        sys.modules.pop("train", None)
