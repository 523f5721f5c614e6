#!/usr/bin/python3
"""Builds a corpus of REAL PyTorch learning curves on Fashion-MNIST for
choosing and validating fitwatch's overfitting-detector defaults.

Each run trains a small model (MLP with 1-2 hidden layers on 14x14
avg-pooled images, or a small 2-conv CNN on 28x28 images) with a sampled
optimizer (SGD+momentum 0.9 [some Nesterov], Adam, AdamW), learning rate,
schedule (constant, step x0.1 at 50%/75%, cosine, 5-epoch linear warm-up then
constant or cosine), batch size, epoch count, training/validation set size,
dropout, weight decay and training-label noise, and writes

    torch_runs/<id>.csv   epoch,train_loss,val_loss,test_loss,train_acc,val_acc,test_acc

epoch is 1-based; losses are mean cross-entropy. train_loss/train_acc are the
means over the epoch's training batches (dropout on, noisy labels) as a
training loop reports them; val_* on a validation set held out from the
training files (disjoint from the training subset, clean labels); test_* on
5000 images of the t10k files (used only to label runs, never by detectors).
torch_runs.csv indexes every run: id and every parameter, including `seed`.

Seeds: configurations are sampled from a seeded RNG (CONFIG_SEED); each
configuration k (0-based) is run twice, as ids/seeds 2k+1 (odd: tuning half)
and 2k+2 (even: held-out half), so both seed-parity halves cover exactly the
same design. The seed fixes the training/validation/test subsets, the label
noise, the initialisation and the batch order (runs are deterministic on a
given machine/PyTorch build).

Design (see sample_config): ~12% of configurations are a "plateau" family
(tiny validation set of 200/500, strong regularization, or a tiny learning
rate) so that healthy runs include noisy flat ones; batch sizes leave at least
4 steps per epoch; CNN runs use training/validation sets <= 2000 and <= 50
epochs; a configuration whose estimated cost (est_cost, calibrated on a pilot)
exceeds MAX_RUN_SEC is resampled. The distributions were tuned
on pilots to give ~35-55% overfit and ~30-50% healthy runs under the label
rule of score.py (EMA 0.5 of the test loss, rise = last/min - 1: overfit if
> 0.05, healthy if <= 0.0125).

Divergence: a run whose losses become NaN/inf is kept; the values are written
as `nan`/`inf` (these are divergence cases).

Resumable: ids whose CSV exists are skipped; each CSV is written to .tmp then
renamed. The configuration sample depends only on RUNS' pair count and the
constants below (configurations are drawn in sequence, so a larger RUNS
extends the same corpus), and rerunning with the same RUNS resumes it.

usage: /usr/bin/python3 bench/corpus/generate_torch.py [RUNS] [JOBS] [DATA_DIR]
       defaults: RUNS=420 (rounded up to even) JOBS=2
                 DATA_DIR=/usr/share/datasets/fashion-mnist
       e.g. /usr/bin/python3 bench/corpus/generate_torch.py 420 2
"""
import csv
import gzip
import math
import multiprocessing as mp
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "torch_runs")
INDEX = os.path.join(HERE, "torch_runs.csv")
DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
CONFIG_SEED = 20261129
TEST_SIZE = 5000
EVAL_BATCH = 2500
MEAN, STD = 0.2860, 0.3530

# Cost model (seconds on one busy core, calibrated on a pilot): per
# multiply-accumulate of a forward pass, per optimizer step, per epoch.
SEC_PER_MAC = {"mlp": 3.5e-11, "cnn": 3.6e-10}
SEC_PER_STEP = {"mlp": 8e-4, "cnn": 1e-3}
MAX_RUN_SEC = {"mlp": 23.0, "cnn": 45.0}

HEADER = ["epoch", "train_loss", "val_loss", "test_loss", "train_acc", "val_acc", "test_acc"]
PARAMS = ["id", "seed", "config", "family", "model", "hidden", "channels", "input",
          "optimizer", "nesterov", "lr", "schedule", "warmup_epochs", "batch_size",
          "epochs", "train_size", "val_size", "test_size", "dropout", "weight_decay",
          "label_noise"]


# ---------------------------------------------------------------- configs

def choice(rng, items, weights=None):
    return rng.choices(items, weights=weights, k=1)[0]


def log_uniform(rng, lo, hi):
    return float("%.3g" % math.exp(rng.uniform(math.log(lo), math.log(hi))))


def macs(c):
    """Forward multiply-accumulates per example."""
    if c["model"] == "cnn":
        c1, c2 = (int(x) for x in c["channels"].split("-"))
        return c1 * 9 * 784 + c2 * c1 * 9 * 196 + c2 * 49 * 10
    dims = [196] + [int(h) for h in c["hidden"].split("-")] + [10]
    return sum(a * b for a, b in zip(dims, dims[1:]))


def est_cost(c):
    kind = c["model"]
    steps = math.ceil(c["train_size"] / c["batch_size"])
    per_epoch = (SEC_PER_MAC[kind] * macs(c) * (3 * c["train_size"] + c["val_size"] + TEST_SIZE)
                 + SEC_PER_STEP[kind] * steps + 0.01)
    return c["epochs"] * per_epoch


def sample_config(rng):
    c = {}
    c["family"] = choice(rng, ["standard", "plateau"], [0.88, 0.12])
    c["model"] = choice(rng, ["mlp1", "mlp2", "cnn"], [0.42, 0.38, 0.2])
    widths = [32, 64, 128, 256, 512, 1024]
    if c["model"] == "mlp1":
        c["hidden"], c["channels"], c["input"] = str(choice(rng, widths)), "", "14x14"
    elif c["model"] == "mlp2":
        h1 = choice(rng, widths)
        h2 = choice(rng, [w for w in widths if w <= h1])
        c["hidden"], c["channels"], c["input"] = "%d-%d" % (h1, h2), "", "14x14"
    else:
        c1 = choice(rng, [8, 16])
        c["hidden"], c["channels"], c["input"] = "", "%d-16" % c1, "28x28"
    c["model"] = "cnn" if c["model"] == "cnn" else "mlp"

    c["optimizer"] = choice(rng, ["sgd", "adam", "adamw"], [0.35, 0.35, 0.30])
    c["nesterov"] = int(c["optimizer"] == "sgd" and rng.random() < 0.4)
    if c["optimizer"] == "sgd":
        c["lr"] = log_uniform(rng, 5e-3, 0.5)
        c["weight_decay"] = choice(rng, [0.0, 1e-4, 1e-3, 1e-2], [0.35, 0.25, 0.25, 0.15])
    elif c["optimizer"] == "adam":
        c["lr"] = log_uniform(rng, 1e-4, 3e-2)
        c["weight_decay"] = choice(rng, [0.0, 1e-4, 1e-3, 1e-2], [0.5, 0.25, 0.15, 0.1])
    else:
        c["lr"] = log_uniform(rng, 1e-4, 3e-2)
        c["weight_decay"] = choice(rng, [0.0, 1e-4, 1e-3, 1e-2, 0.1], [0.1, 0.15, 0.2, 0.3, 0.25])
    c["schedule"] = choice(rng, ["constant", "step", "cosine", "warmup_constant", "warmup_cosine"],
                           [0.4, 0.15, 0.2, 0.13, 0.12])
    c["warmup_epochs"] = 5 if c["schedule"].startswith("warmup") else 0
    c["epochs"] = choice(rng, [20, 30, 50, 75, 100], [0.1, 0.2, 0.3, 0.2, 0.2])
    c["train_size"] = choice(rng, [500, 1000, 2000, 5000, 10000], [0.25, 0.25, 0.25, 0.15, 0.1])
    c["val_size"] = choice(rng, [500, 1000, 2000, 5000], [0.25, 0.3, 0.3, 0.15])
    c["dropout"] = choice(rng, [0.0, 0.2, 0.5], [0.65, 0.2, 0.15])
    c["label_noise"] = choice(rng, [0.0, 0.1, 0.2, 0.4], [0.5, 0.2, 0.15, 0.15])
    if c["model"] == "cnn":  # convolutions are ~10x dearer per example here
        c["epochs"] = choice(rng, [20, 30, 50], [0.45, 0.35, 0.2])
        c["train_size"] = choice(rng, [500, 1000, 2000])
        c["val_size"] = choice(rng, [500, 1000, 2000])

    if c["family"] == "plateau":
        # Healthy-but-noisy flat runs: tiny validation set and/or strong
        # regularization and/or a tiny learning rate.
        kind = choice(rng, ["tiny_val", "strong_reg", "tiny_lr"])
        c["val_size"] = choice(rng, [200, 500])
        if kind == "strong_reg":
            c["dropout"] = 0.5
            if c["optimizer"] == "adamw":
                c["weight_decay"] = 0.1
            else:
                c["weight_decay"] = 1e-2
        elif kind == "tiny_lr":
            c["lr"] = log_uniform(rng, 1e-4, 1e-3) if c["optimizer"] == "sgd" \
                else log_uniform(rng, 2e-6, 2e-5)
        c["family"] = "plateau_" + kind
    # at least 4 steps per epoch: nobody trains 500 examples in batches of 512
    sizes = [b for b in [32, 64, 128, 256, 512] if c["train_size"] >= 4 * b]
    c["batch_size"] = choice(rng, sizes, [4, 3, 2, 1, 1][:len(sizes)])
    c["test_size"] = TEST_SIZE
    return c


def make_configs(runs):
    rng = random.Random(CONFIG_SEED)
    configs = []
    while len(configs) * 2 < runs:
        c = sample_config(rng)
        if c["model"] == "cnn" and c["train_size"] > 5000:
            continue  # CNN runs use the smaller training sets
        if est_cost(c) > MAX_RUN_SEC[c["model"]]:
            continue  # resample configs too expensive for the budget
        configs.append(c)
    rows = []
    for k, c in enumerate(configs):
        for seed in (2 * k + 1, 2 * k + 2):
            r = dict(c, seed=seed, config=k + 1, id="%04d" % seed)
            rows.append(r)
    return rows


# ---------------------------------------------------------------- data

def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


DATA = {}


def load_data(data_dir):
    def imgs(name):
        x = torch.from_numpy(read_idx(os.path.join(data_dir, name)).astype(np.float32) / 255.0)
        x = ((x - MEAN) / STD).unsqueeze(1)                     # N,1,28,28
        small = F.avg_pool2d(x, 2).reshape(len(x), -1).contiguous()  # N,196
        return x.contiguous(), small

    def labels(name):
        return torch.from_numpy(read_idx(os.path.join(data_dir, name)).astype(np.int64))

    DATA["train28"], DATA["train14"] = imgs("train-images-idx3-ubyte.gz")
    DATA["train_y"] = labels("train-labels-idx1-ubyte.gz")
    DATA["test28"], DATA["test14"] = imgs("t10k-images-idx3-ubyte.gz")
    DATA["test_y"] = labels("t10k-labels-idx1-ubyte.gz")


# ---------------------------------------------------------------- training

class MLP(nn.Module):
    def __init__(self, hidden, dropout):
        super().__init__()
        layers, d = [], 196
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ReLU(), nn.Dropout(dropout)]
            d = h
        layers.append(nn.Linear(d, 10))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class CNN(nn.Module):
    def __init__(self, c1, c2, dropout):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(c2 * 49, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(self.drop(x.flatten(1)))


def lr_factor(c, epoch):
    """LR multiplier for 0-based epoch."""
    E, s = c["epochs"], c["schedule"]
    if s == "constant":
        return 1.0
    if s == "step":
        return 1.0 if epoch < E * 0.5 else (0.1 if epoch < E * 0.75 else 0.01)
    if s == "cosine":
        return 0.5 * (1 + math.cos(math.pi * epoch / E))
    w = c["warmup_epochs"]
    if epoch < w:
        return (epoch + 1) / w
    if s == "warmup_constant":
        return 1.0
    return 0.5 * (1 + math.cos(math.pi * (epoch - w) / (E - w)))


def evaluate(model, x, y):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), EVAL_BATCH):
            out = model(x[i:i + EVAL_BATCH])
            loss += F.cross_entropy(out, y[i:i + EVAL_BATCH], reduction="sum").item()
            correct += (out.argmax(1) == y[i:i + EVAL_BATCH]).sum().item()
    return loss / len(x), correct / len(x)


def fmt(v):
    if isinstance(v, int):
        return str(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(float(v))


def train_run(c):
    seed = c["seed"]
    rng = np.random.RandomState(seed)
    torch.manual_seed(seed)
    perm = torch.from_numpy(rng.permutation(60000))
    tr_idx = perm[:c["train_size"]]
    va_idx = perm[c["train_size"]:c["train_size"] + c["val_size"]]
    te_idx = torch.from_numpy(rng.permutation(10000)[:TEST_SIZE])
    key = "28" if c["model"] == "cnn" else "14"
    xtr, ytr = DATA["train" + key][tr_idx], DATA["train_y"][tr_idx].clone()
    xva, yva = DATA["train" + key][va_idx], DATA["train_y"][va_idx]
    xte, yte = DATA["test" + key][te_idx], DATA["test_y"][te_idx]
    if c["label_noise"] > 0:  # symmetric noise: flip to a different class
        flip = torch.from_numpy(rng.rand(len(ytr)) < c["label_noise"])
        shift = torch.from_numpy(rng.randint(1, 10, size=len(ytr)))
        ytr = torch.where(flip, (ytr + shift) % 10, ytr)

    if c["model"] == "cnn":
        c1, c2 = (int(x) for x in c["channels"].split("-"))
        model = CNN(c1, c2, c["dropout"])
    else:
        model = MLP([int(h) for h in c["hidden"].split("-")], c["dropout"])
    lr, wd = c["lr"], c["weight_decay"]
    if c["optimizer"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9,
                              nesterov=bool(c["nesterov"]), weight_decay=wd)
    elif c["optimizer"] == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)

    gen = torch.Generator().manual_seed(seed)
    bs, n = c["batch_size"], len(xtr)
    rows = []
    for epoch in range(c["epochs"]):
        for g in opt.param_groups:
            g["lr"] = lr * lr_factor(c, epoch)
        model.train()
        order = torch.randperm(n, generator=gen)
        tot_loss, tot_correct, nb = 0.0, 0, 0
        for i in range(0, n, bs):
            idx = order[i:i + bs]
            xb, yb = xtr[idx], ytr[idx]
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot_loss += loss.item()
            nb += 1
            tot_correct += (out.argmax(1) == yb).sum().item()
        vl, va = evaluate(model, xva, yva)
        tl, ta = evaluate(model, xte, yte)
        rows.append([epoch + 1, tot_loss / nb, vl, tl, tot_correct / n, va, ta])
    return rows


def worker_init():
    torch.set_num_threads(1)


def run_one(c):
    out = os.path.join(OUT_DIR, c["id"] + ".csv")
    if os.path.exists(out):
        return c["id"], None
    t0 = time.time()
    rows = train_run(c)
    tmp = out + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for r in rows:
            w.writerow([fmt(v) for v in r])
    os.replace(tmp, out)
    return c["id"], time.time() - t0


def write_index(rows):
    tmp = INDEX + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(PARAMS)
        for r in rows:
            w.writerow([r[k] for k in PARAMS])
    os.replace(tmp, INDEX)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 420
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    data_dir = sys.argv[3] if len(sys.argv) > 3 else DEFAULT_DATA
    torch.set_num_threads(1)
    rows = make_configs(runs)
    os.makedirs(OUT_DIR, exist_ok=True)
    write_index(rows)
    load_data(data_dir)  # once; forked workers share it
    todo = [r for r in rows if not os.path.exists(os.path.join(OUT_DIR, r["id"] + ".csv"))]
    print("%d runs, %d to do, est. %.0f s of compute on %d jobs"
          % (len(rows), len(todo), sum(est_cost(r) for r in todo), jobs), flush=True)
    t0 = time.time()
    ctx = mp.get_context("fork")
    with ctx.Pool(jobs, initializer=worker_init) as pool:
        for k, (rid, sec) in enumerate(pool.imap(run_one, todo, chunksize=1)):
            r = rows[int(rid) - 1]
            print("[%4d/%d %6.0fs] %s %.1fs (est %.1fs)" % (k + 1, len(todo), time.time() - t0,
                                                           rid, sec or 0, est_cost(r)), flush=True)
    print("%d runs in %s, wall %.0f s" % (len(rows), OUT_DIR, time.time() - t0))


if __name__ == "__main__":
    main()
