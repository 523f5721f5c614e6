"""Fashion-MNIST with PyTorch, watched by fitwatch: the Python twin of
examples/train_fashion_mnist.cpp (same data, model, optimiser and presets).

A SageMaker script-mode entry point (the PyTorch estimator's entry_point):
hyperparameters arrive as --name value arguments (and as JSON in SM_HPS),
the data in SM_CHANNEL_TRAINING, and the model is saved to SM_MODEL_DIR.
Outside SageMaker every path has a local default. fitwatch's settings are
hyperparameters too, fitwatch_<name> (e.g. fitwatch_patience=5), or
FITWATCH_<NAME> variables, read by the C++ library (docs/settings.md).
With a checkpoint folder (--checkpoint-dir, else /opt/ml/checkpoints if it
exists, as SageMaker's checkpoint_s3_uri mounts it) the run saves the model,
the optimiser, the random generator and the monitor's state after every
epoch, and resumes from them: a job resumed after its best epoch still stops
where an uninterrupted one would. In a torchrun job only global rank 0 writes
EMF lines (fitwatch_write_ranks) and files.

stdout: one CloudWatch EMF line per epoch (fitwatch's C++ core writes it).
stderr: a human summary.

    python3 train.py --preset overfit       # overfits within a minute on 2 cores
    python3 train.py --epochs 3 --train-size 500 --val-size 1000 --test-size 1000
"""
import argparse
import gzip
import json
import os
import pickle
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import fitwatch

PRESETS = {
    # Few examples, noisy labels, a wide unregularised net: it memorises the
    # noise and the validation loss turns up after a few epochs.
    "overfit": {},
    # Clean labels, more data, dropout and weight decay, fewer epochs.
    "regularized": {"train_size": 8000, "label_noise": 0.0, "dropout": 0.5,
                    "weight_decay": 0.05, "lr": 5e-4, "epochs": 15},
}


def flag(value):
    """A boolean hyperparameter: SageMaker passes every value as text."""
    if str(value).lower() in ("1", "true", "yes"):
        return True
    if str(value).lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def fitwatch_settings(parser, job_name, hps, rest):
    """fitwatch's settings: the FITWATCH_* variables, then the hyperparameters
    of SM_HPS, then the --fitwatch_<name> arguments; fitwatch's C++ library
    reads them all (one naming rule, docs/settings.md)."""
    given = dict(hps)
    if job_name:
        given[fitwatch.HYPERPARAMETER_PREFIX + "job_name"] = job_name
    i = 0
    while i < len(rest):
        name, _, value = rest[i].partition("=")
        key = name[2:].replace("-", "_")
        if not name.startswith("--") or not key.startswith(fitwatch.HYPERPARAMETER_PREFIX):
            parser.error(f"unrecognized argument {rest[i]}")
        if not value:
            if i + 1 >= len(rest):
                parser.error(f"{name} needs a value")
            i += 1
            value = rest[i]
        given[key] = value
        i += 1
    try:
        # This example's job name unless FITWATCH_JOB_NAME or a hyperparameter says otherwise.
        return fitwatch.settings_from(given, {"FITWATCH_JOB_NAME": "fashion-mnist", **os.environ})
    except ValueError as e:  # the library's message names the key and the value
        parser.error(str(e))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])

    def option(name, **kw):  # --train-size and --train_size (SageMaker passes names as given)
        p.add_argument("--" + name, *(["--" + name.replace("-", "_")] if "-" in name else []), **kw)

    option("preset", choices=sorted(PRESETS))
    option("train-size", type=int, default=2000)
    option("val-size", type=int, default=5000, help="held out from the training files")
    option("test-size", type=int, default=5000, help="from t10k, never seen by the detector")
    option("epochs", type=int, default=40)
    option("width", type=int, default=256)
    option("lr", type=float, default=1e-3)
    option("weight-decay", type=float, default=0.0)
    option("dropout", type=float, default=0.0)
    option("label-noise", type=float, default=0.2)
    option("batch-size", type=int, default=64)
    option("seed", type=int, default=1)
    option("threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    option("stop", type=flag, default=True, help="stop when the detector says so (true)")
    option("job-name", help="TrainingJobName outside SageMaker (fashion-mnist)")
    option("checkpoint-dir", default="", help="save a checkpoint every epoch; resume from it")
    # SageMaker's locations, with local defaults.
    option("data-dir", default=os.environ.get("SM_CHANNEL_TRAINING",
                                              "/usr/share/datasets/fashion-mnist"))
    option("model-dir", default=os.environ.get("SM_MODEL_DIR", "model"))
    # SageMaker passes hyperparameters as arguments and as JSON in SM_HPS.
    # Precedence: arguments, then SM_HPS, then the preset, then the defaults.
    hps = {k.replace("-", "_"): v for k, v in json.loads(os.environ.get("SM_HPS") or "{}").items()}
    preset = p.parse_known_args(argv)[0].preset or hps.get("preset")
    if preset:
        if preset not in PRESETS:
            p.error(f"unknown preset {preset!r} ({', '.join(sorted(PRESETS))})")
        p.set_defaults(**PRESETS[preset])
    p.set_defaults(**{k: v for k, v in hps.items() if not k.startswith("fitwatch_")})
    a, rest = p.parse_known_args(argv)
    a.settings = fitwatch_settings(p, a.job_name, hps, rest)
    if not a.checkpoint_dir and os.path.isdir("/opt/ml/checkpoints"):
        a.checkpoint_dir = "/opt/ml/checkpoints"
    if min(a.train_size, a.val_size, a.test_size, a.epochs, a.width, a.batch_size) <= 0 \
            or not 0 <= a.label_noise <= 1 or not 0 <= a.dropout < 1:
        p.error("an option is out of range")
    return a


def read_idx(path, magic):
    """An IDX file (http://yann.lecun.com/exdb/mnist/), gzip-compressed."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if int.from_bytes(data[:4], "big") != magic:
        raise ValueError(f"{path}: not an IDX file of type {magic:#x}")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(magic & 0xFF)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def load(a):
    """Training and validation from the training files, test from t10k."""
    images = read_idx(os.path.join(a.data_dir, "train-images-idx3-ubyte.gz"), 0x803)
    labels = read_idx(os.path.join(a.data_dir, "train-labels-idx1-ubyte.gz"), 0x801)
    if a.train_size + a.val_size > len(images):
        raise SystemExit("--train-size + --val-size exceed the training files")

    def tensors(x, y):
        x = torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / 255.0)
        return (x - 0.2860) / 0.3530, torch.from_numpy(y.astype(np.int64))

    perm = torch.randperm(len(images)).numpy()
    val = tensors(images[perm[:a.val_size]], labels[perm[:a.val_size]])
    ti = perm[a.val_size:a.val_size + a.train_size]
    train = tensors(images[ti], labels[ti])
    timages = read_idx(os.path.join(a.data_dir, "t10k-images-idx3-ubyte.gz"), 0x803)
    tlabels = read_idx(os.path.join(a.data_dir, "t10k-labels-idx1-ubyte.gz"), 0x801)
    test = tensors(timages[:a.test_size], tlabels[:a.test_size])
    # Label noise: a seeded fraction of training labels moved to another class.
    rng = np.random.default_rng(a.seed)
    y = train[1].numpy()
    flip = rng.random(len(y)) < a.label_noise
    y[flip] = (y[flip] + rng.integers(1, 10, flip.sum())) % 10
    return train, val, test


class MLP(nn.Module):
    def __init__(self, width, dropout):
        super().__init__()
        self.fc1, self.fc2, self.out = nn.Linear(784, width), nn.Linear(width, width), nn.Linear(width, 10)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        x = self.drop(torch.relu(self.fc1(x)))
        x = self.drop(torch.relu(self.fc2(x)))
        return self.out(x)


def save_checkpoint(path, epoch, model, optimizer, monitor, best):
    """Everything a resumed run needs, written to a temporary file and renamed
    so that an interruption never leaves half a checkpoint."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save({"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "fitwatch": monitor.save_state(), "rng": torch.get_rng_state(),
                "best_state": best[0], "best_epoch": best[1]}, path + ".tmp")
    os.replace(path + ".tmp", path)


def resume(path, model, optimizer, monitor):
    """Loads a checkpoint; returns (epoch it was saved after, (best weights, best epoch))."""
    # The job's own checkpoint folder, written by save_checkpoint(): trusted.
    # (weights_only=True cannot read the optimiser's floats in torch 1.13.)
    saved = torch.load(path)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    monitor.restore_state(saved["fitwatch"])  # fitwatch.Error if it is not a state of these options
    torch.set_rng_state(saved["rng"])
    return saved["epoch"], (saved["best_state"], saved["best_epoch"])


@torch.no_grad()
def evaluate(model, split):
    model.eval()
    logits = model(split[0])
    loss = F.cross_entropy(logits, split[1]).item()
    acc = (logits.argmax(1) == split[1]).double().mean().item()
    model.train()
    return loss, acc


def main(argv=None):
    a = parse_args(argv)
    torch.manual_seed(a.seed)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    try:
        train, val, test = load(a)
    except OSError as e:
        print(f"train.py: {e} (install dataset-fashion-mnist)", file=sys.stderr)
        return 1
    model = MLP(a.width, a.dropout)
    optimizer = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)

    # Only global rank 0 writes files; the settings decide which ranks write lines.
    writes_files = fitwatch.read_process_rank().rank == 0
    log = fitwatch.Logger(settings=a.settings)
    hyper = log.property("Hyperparameters")
    log.set(hyper, f"train_size={a.train_size} width={a.width} lr={a.lr} "
                   f"weight_decay={a.weight_decay} dropout={a.dropout} "
                   f"label_noise={a.label_noise} seed={a.seed}")
    monitor = fitwatch.Monitor(log, a.settings.detector)
    best_state, best_epoch, first_epoch = None, 0, 1
    checkpoint = os.path.join(a.checkpoint_dir, "fitwatch-resume.pth") if a.checkpoint_dir else ""
    if checkpoint and os.path.exists(checkpoint):
        try:
            done, (best_state, best_epoch) = resume(checkpoint, model, optimizer, monitor)
        except (OSError, RuntimeError, KeyError, ValueError, EOFError, pickle.UnpicklingError) as e:
            print(f"train.py: checkpoint {checkpoint}: {e}", file=sys.stderr)
            return 1
        first_epoch = done + 1
        print(f"resumed from {checkpoint} after epoch {done}", file=sys.stderr)
    print(f"train {len(train[0])} (label noise {a.label_noise:.2f}), validation {len(val[0])}, "
          f"test {len(test[0])}; width {a.width}", file=sys.stderr)
    started, in_observe, stopped_at = time.monotonic(), 0.0, 0
    n = len(train[0])
    epoch = first_epoch - 1
    for epoch in range(first_epoch, a.epochs + 1):
        order = torch.randperm(n)
        loss_sum = torch.zeros((), dtype=torch.float64)
        correct = torch.zeros((), dtype=torch.int64)
        for at in range(0, n, a.batch_size):
            idx = order[at:at + a.batch_size]
            x, y = train[0][idx], train[1][idx]
            optimizer.zero_grad()
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            optimizer.step()
            # Accumulate on the tensor side: no .item() (a host sync) per step.
            loss_sum += loss.detach().double() * len(idx)
            correct += (logits.argmax(1) == y).sum()
        train_loss, train_acc = loss_sum.item() / n, correct.item() / n
        val_loss, val_acc = evaluate(model, val)
        test_loss, test_acc = evaluate(model, test)
        t0 = time.perf_counter()
        # TestLoss is a property of the line, never a detector input.
        s = monitor.observe(epoch, train_loss, val_loss, train_acc=train_acc, val_acc=val_acc,
                            TestLoss=test_loss)
        in_observe += time.perf_counter() - t0
        if s.finite and (s.improved or best_state is None):
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best_epoch = epoch
        print(f"epoch {epoch:2d}  train {train_loss:.4f}  val {val_loss:.4f}  test {test_loss:.4f}  "
              f"acc {train_acc:.3f}/{val_acc:.3f}  gap {s.gap:+.4f}  GL {s.generalization_loss:5.1f}%  "
              f"streak {s.rise_streak}  since-best {s.since_best}"
              + ("  OVERFITTING" if s.overfitting else ""), file=sys.stderr)
        if writes_files and checkpoint:
            save_checkpoint(checkpoint, epoch, model, optimizer, monitor, (best_state, best_epoch))
        if monitor.should_stop() and a.stop:
            stopped_at = epoch
            break
    if best_state is not None and (stopped_at or monitor.signals.overfitting):
        model.load_state_dict(best_state)  # early stopping: the best weights back
    s = monitor.signals
    if stopped_at:
        print(f"stopped at epoch {stopped_at}: {s.reason}; weights of epoch {best_epoch} restored",
              file=sys.stderr)
    else:
        print("finished; " + (f"overfitting: {s.reason}" if s.overfitting else "no overfitting detected"),
              file=sys.stderr)
    val_loss, _ = evaluate(model, val)
    log.close()
    if not writes_files:
        return 0
    os.makedirs(a.model_dir, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(a.model_dir, "model.pth"))
    print(f"saved {os.path.join(a.model_dir, 'model.pth')} (epoch {best_epoch if stopped_at else epoch}, "
          f"validation loss {val_loss:.4f})", file=sys.stderr)
    print(f"training took {time.monotonic() - started:.1f} s; fitwatch: {1000 * in_observe:.3f} ms "
          f"in observe()", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
