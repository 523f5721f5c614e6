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

- "rnn", "rnn-early", "rnn-noisy": runs of generate_seq.py (seq_runs/,
  seq_runs.csv): LSTM, GRU and vanilla RNN over token embeddings on a
  synthetic text-like task; its families "standard", "early" (validation
  loss degrading from the first evaluations: a learning rate too high or a
  tiny training set) and "noisy" (validation sets of 16-64 sequences).
- "seed-averaged": the mean of the two seeds of every configuration of
  torch-zoo and of the rnn corpora (train, validation and test loss averaged
  evaluation by evaluation; a configuration with a non-finite loss is left
  out), as teams that average seeds see them.

Split rule: a real run is in the tuning half when its seed is odd, held out
when even; a plateau by the parity of its index; a seed-averaged curve by the
parity of its configuration. Defaults are chosen on the tuning half only.
Leave-one-corpus-out (tune.py) tunes on the tuning halves of every corpus but
one and scores the whole of the one left out. The seed-averaged corpus shares
configurations (not curves) with torch-zoo and the rnn corpora.
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


def _load(corpus, folder, index, families=None):
    seeds, meta = {}, {}
    path = os.path.join(HERE, index)
    if os.path.exists(path):
        with open(path) as f:
            for row in csv.DictReader(f):
                seeds[row["id"]] = int(row["seed"])
                meta[row["id"]] = row
    runs = []
    for p in sorted(glob.glob(os.path.join(HERE, folder, "*.csv"))):
        rid = os.path.basename(p)[:-4]
        if rid not in seeds:
            continue
        if families is not None and meta[rid].get("family") not in families:
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
            "config": meta[rid].get("config"), "source": folder,
        }
        run["label"] = label(run["test"])
        runs.append(run)
    return runs


def plateaus(n=160, seed=20261129, prefix="plateaus", half=None):
    """Synthetic flat noisy curves: healthy by construction. Split by the
    parity of the index, unless `half` puts them all in one half."""
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
            "corpus": "plateaus", "id": "%s/%03d" % (prefix, i), "path": None,
            "train": train, "val": val, "test": val[:],
            "half": half or ("tuning" if i % 2 == 0 else "held-out"), "label": "healthy",
            "noise": noise,
        })
    return runs


def seed_averaged(runs):
    """One curve per configuration run with two seeds: their mean."""
    groups = {}
    for r in runs:
        if r.get("config") and r["source"] in ("torch_runs", "seq_runs"):
            groups.setdefault((r["source"], r["config"]), []).append(r)
    out = []
    for (source, config), rs in sorted(groups.items()):
        if len(rs) != 2 or len(rs[0]["val"]) != len(rs[1]["val"]):
            continue
        mean = lambda k: [(a + b) / 2 for a, b in zip(rs[0][k], rs[1][k])]
        run = {"corpus": "seed-averaged", "id": "seed-averaged/%s-%s" % (source, config),
               "path": None, "train": mean("train"), "val": mean("val"), "test": mean("test"),
               "half": "tuning" if int(config) % 2 == 1 else "held-out",
               "config": config, "source": source}
        if not all(math.isfinite(x) for k in ("train", "val", "test") for x in run[k]):
            continue
        run["label"] = label(run["test"])
        out.append(run)
    return out


CORPORA = ("fashion-grid", "torch-zoo", "plateaus", "rnn", "rnn-early", "rnn-noisy",
           "seed-averaged")


def load_all():
    single = (_load("fashion-grid", "runs", "runs.csv")
              + _load("torch-zoo", "torch_runs", "torch_runs.csv")
              + _load("rnn", "seq_runs", "seq_runs.csv", {"standard"})
              + _load("rnn-early", "seq_runs", "seq_runs.csv", {"early"})
              + _load("rnn-noisy", "seq_runs", "seq_runs.csv", {"noisy"}))
    return single + plateaus() + seed_averaged(single)


def csv_text(run):
    lines = ["epoch,train_loss,val_loss"]
    for i, (t, v) in enumerate(zip(run["train"], run["val"])):
        lines.append("%d,%r,%r" % (i + 1, t, v))
    return "\n".join(lines) + "\n"
