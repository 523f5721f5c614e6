"""The curves the benchmarks score detectors and alarms on, split once by a
fixed rule into a tuning half and a held-out half (docs/benchmarks.md):

- "fashion-grid": 160 runs of examples/train_fashion_mnist (runs/, runs.csv,
  made by generate.py); seeds 1-5.
- "torch-zoo": runs of generate_torch.py (torch_runs/, torch_runs.csv):
  optimizers, schedules, batch sizes, MLPs and a CNN, 20-100 epochs.
- "plateaus": synthetic flat curves plus noise of 1-10 % per evaluation,
  25-100 evaluations, made here from a fixed seed; a fifth of them sit below
  zero (losses such as a negative log-likelihood), so the rules are checked
  for losses of any sign. They are healthy by construction.

Split rule: a real run is in the tuning half when its seed is odd, held out
when even; a plateau by the parity of its index. Defaults are chosen on the
tuning half only.
"""
import csv
import glob
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
MARGIN = 0.05  # 5 % of the lightly smoothed test loss (docs/benchmarks.md)
SMOOTH = 0.5


def ema(xs, a):
    out, s = [], None
    for x in xs:
        s = x if s is None else a * x + (1 - a) * s
        out.append(s)
    return out


def label(test):
    """overfit / healthy / None (left out), from the held-out test loss only."""
    t = ema(test, SMOOTH)
    if any(not math.isfinite(x) for x in t):
        return None
    lo = min(t)
    rise = (t[-1] - lo) / abs(lo) if lo != 0 else 0.0
    if rise > MARGIN:
        return "overfit"
    if rise <= MARGIN / 4:
        return "healthy"
    return None


def _num(x):
    return float(x)


def _load(corpus, folder, index):
    seeds = {}
    path = os.path.join(HERE, index)
    if os.path.exists(path):
        with open(path) as f:
            for row in csv.DictReader(f):
                seeds[row["id"]] = int(row["seed"])
    runs = []
    for p in sorted(glob.glob(os.path.join(HERE, folder, "*.csv"))):
        rid = os.path.basename(p)[:-4]
        if rid not in seeds:
            continue
        with open(p) as f:
            rows = list(csv.DictReader(f))
        if len(rows) < 5:
            continue
        run = {
            "corpus": corpus, "id": "%s/%s" % (corpus, rid), "path": p,
            "train": [_num(r["train_loss"]) for r in rows],
            "val": [_num(r["val_loss"]) for r in rows],
            "test": [_num(r["test_loss"]) for r in rows],
            "half": "tuning" if seeds[rid] % 2 == 1 else "held-out",
        }
        run["label"] = label(run["test"])
        runs.append(run)
    return runs


def plateaus(n=160, seed=20261129):
    rng = random.Random(seed)
    runs = []
    for i in range(n):
        length = rng.randint(25, 100)
        noise = rng.uniform(0.01, 0.10)
        level = math.exp(rng.uniform(math.log(0.05), math.log(3.0)))
        if i % 5 == 4:
            level = -level
        gap = rng.uniform(0.5, 1.0)
        val = [level + abs(level) * noise * rng.gauss(0, 1) for _ in range(length)]
        train = [level * gap + abs(level) * noise * rng.gauss(0, 1) for _ in range(length)]
        runs.append({
            "corpus": "plateaus", "id": "plateaus/%03d" % i, "path": None,
            "train": train, "val": val, "test": val[:],
            "half": "tuning" if i % 2 == 0 else "held-out", "label": "healthy",
            "noise": noise,
        })
    return runs


def load_all():
    return (_load("fashion-grid", "runs", "runs.csv")
            + _load("torch-zoo", "torch_runs", "torch_runs.csv")
            + plateaus())


def csv_text(run):
    lines = ["epoch,train_loss,val_loss"]
    for i, (t, v) in enumerate(zip(run["train"], run["val"])):
        lines.append("%d,%r,%r" % (i + 1, t, v))
    return "\n".join(lines) + "\n"
