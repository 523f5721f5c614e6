"""Fashion-MNIST with PyTorch, watched by fitwatch: the entry point of a
SageMaker PyTorch estimator (launch.py starts it; docs/deploy.md, "The
PyTorch estimator").

SageMaker's training toolkit installs requirements.txt (the fitwatch wheel
in this folder), then runs ``python train.py --name value ...`` with every
hyperparameter as an argument and, as JSON, in SM_HPS; the data is in
SM_CHANNEL_TRAINING, the model goes to SM_MODEL_DIR, other files to
SM_OUTPUT_DATA_DIR. fitwatch's settings are hyperparameters too
(``fitwatch_patience=5``): ``fitwatch.settings_from_argv()`` takes them out
of the arguments before this script's own argparse reads the rest.

stdout: one CloudWatch EMF line per epoch (nothing else). stderr: a summary.
Locally: ``python3 train.py --epochs 3 --train-size 500`` (Debian's dataset).
"""
import argparse
import gzip
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import fitwatch


def parse_args(argv=None):
    """(options, fitwatch settings). A bad fitwatch_* hyperparameter ends the
    job at once with the library's message (exit code 2)."""
    p = argparse.ArgumentParser(description="Fashion-MNIST, watched by fitwatch")

    def option(name, **kw):  # --train-size and --train_size: the toolkit passes names as given
        names = ["--" + name] + (["--" + name.replace("-", "_")] if "-" in name else [])
        p.add_argument(*names, **kw)

    option("epochs", type=int, default=30)
    option("train-size", type=int, default=2000)
    option("val-size", type=int, default=2000)
    option("width", type=int, default=256)
    option("lr", type=float, default=1e-3)
    option("label-noise", type=float, default=0.2)
    option("batch-size", type=int, default=64)
    option("seed", type=int, default=1)
    option("data-dir", default=os.environ.get("SM_CHANNEL_TRAINING",
                                              "/usr/share/datasets/fashion-mnist"))
    option("model-dir", default=os.environ.get("SM_MODEL_DIR", "model"))
    option("output-data-dir", default=os.environ.get("SM_OUTPUT_DATA_DIR", "output"))
    try:
        settings, rest = fitwatch.settings_from_argv(sys.argv[1:] if argv is None else argv)
    except ValueError as e:  # fitwatch.Error: the message names the argument and the value
        p.error(str(e))
    a = p.parse_args(rest)
    if min(a.epochs, a.train_size, a.val_size, a.width, a.batch_size) <= 0 \
            or not 0 <= a.label_noise <= 1:
        p.error("an option is out of range")
    return a, settings


def read_idx(path, magic):
    """An IDX file (Fashion-MNIST's format), gzip-compressed."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if int.from_bytes(data[:4], "big") != magic:
        raise ValueError(f"{path}: not an IDX file of type {magic:#x}")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(magic & 0xFF)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def load(a):
    """Training and validation examples from the training files of the channel,
    with a seeded fraction of the training labels moved to another class (so
    that the net overfits within a few epochs and the detector has work)."""
    images = read_idx(os.path.join(a.data_dir, "train-images-idx3-ubyte.gz"), 0x803)
    labels = read_idx(os.path.join(a.data_dir, "train-labels-idx1-ubyte.gz"), 0x801)
    if a.train_size + a.val_size > len(images):
        raise SystemExit("train.py: --train-size + --val-size exceed the training files")
    rng = np.random.default_rng(a.seed)
    order = rng.permutation(len(images))
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255.0)
    x = (x - 0.2860) / 0.3530
    y = labels.astype(np.int64)
    vi, ti = order[:a.val_size], order[a.val_size:a.val_size + a.train_size]
    ty = y[ti].copy()
    flip = rng.random(len(ty)) < a.label_noise
    ty[flip] = (ty[flip] + rng.integers(1, 10, flip.sum())) % 10
    return (x[ti], torch.from_numpy(ty)), (x[vi], torch.from_numpy(y[vi]))


@torch.no_grad()
def evaluate(model, split):
    model.eval()
    logits = model(split[0])
    model.train()
    return (F.cross_entropy(logits, split[1]).item(),
            (logits.argmax(1) == split[1]).double().mean().item())


def main(argv=None):
    a, settings = parse_args(argv)
    torch.manual_seed(a.seed)
    try:
        train, val = load(a)
    except OSError as e:
        print(f"train.py: {e} (the training channel holds Fashion-MNIST's .gz files)",
              file=sys.stderr)
        return 1
    model = nn.Sequential(nn.Linear(784, a.width), nn.ReLU(), nn.Linear(a.width, a.width),
                          nn.ReLU(), nn.Linear(a.width, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=a.lr)
    # The job's name (TRAINING_JOB_NAME), namespace and detector come from the settings.
    monitor = fitwatch.Monitor(settings=settings)
    best_state, best_epoch, curves = None, 0, ["epoch,train_loss,val_loss,val_acc"]
    n = len(train[0])
    for epoch in range(1, a.epochs + 1):
        order = torch.randperm(n)
        total = 0.0
        for at in range(0, n, a.batch_size):
            idx = order[at:at + a.batch_size]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(train[0][idx]), train[1][idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        train_loss = total / n
        val_loss, val_acc = evaluate(model, val)
        s = monitor.observe(epoch, train_loss, val_loss, val_acc=val_acc)  # one EMF line
        curves.append(f"{epoch},{train_loss:.6f},{val_loss:.6f},{val_acc:.4f}")
        if s.finite and (s.improved or best_state is None):
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best_epoch = epoch
        print(f"epoch {epoch:2d}  train {train_loss:.4f}  val {val_loss:.4f}  acc {val_acc:.3f}"
              + ("  OVERFITTING: " + s.reason if s.overfitting else ""), file=sys.stderr)
        if monitor.should_stop():
            print(f"stopped at epoch {epoch}; weights of epoch {best_epoch} kept", file=sys.stderr)
            break
    monitor.logger.close()  # every EMF line written before the job ends
    if best_state is not None:
        model.load_state_dict(best_state)
    os.makedirs(a.model_dir, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(a.model_dir, "model.pth"))
    os.makedirs(a.output_data_dir, exist_ok=True)
    with open(os.path.join(a.output_data_dir, "curves.csv"), "w") as f:
        f.write("\n".join(curves) + "\n")
    print(f"saved {os.path.join(a.model_dir, 'model.pth')} (epoch {best_epoch})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
