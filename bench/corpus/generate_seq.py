#!/usr/bin/python3
"""Builds the corpora of shapes the first two lack (issue #24): REAL PyTorch
learning curves of recurrent nets (LSTM, GRU, vanilla RNN, each over a token
embedding) on a synthetic text-like task, in three families:

- "standard": sampled sizes, learning rates and label noise;
- "early":    runs whose validation loss degrades from the first
              evaluations (a learning rate too high, or a tiny training set
              with a learning rate that memorises it at once);
- "noisy":    validation sets of 16 to 64 sequences, so the validation loss
              jumps from one evaluation to the next.

The task ("keyword sentiment"): sequences of 12-24 tokens from a vocabulary
of 40; tokens 1-6 are positive keywords, 7-12 negative, the rest filler; the
class is 1 when the positive keywords outnumber the negative ones, 0 when
fewer, ties broken by the last keyword. A recurrent net must count along the
sequence; a small training set with noisy labels is memorised (overfitting),
a large one is learnt (healthy), a too-small learning rate plateaus.

Each configuration k (0-based) is run with two seeds, 2k+1 (odd: tuning
half) and 2k+2 (even: held-out half), as generate_torch.py does; the seed
fixes the data, the label noise, the initialisation and the batch order.
corpora.py also averages the two seeds of a configuration into one
seed-averaged curve (the "seed-averaged" corpus, split by the parity of k).

    seq_runs/<id>.csv   epoch,train_loss,val_loss,test_loss
    seq_runs.csv        id, seed, config and every parameter

train_loss is the mean over the epoch's training batches (noisy labels) as
a training loop reports it; val_loss on the validation set (clean labels);
test_loss on 500 fresh sequences, used only to label runs.

Cost: about 17 CPU-minutes for the default 242 runs on the development
machine (287 CPU-seconds measured for the first 82, 752 for the 160 after
them, whose training sets go up to 3000 sequences), one thread per run
(torch.set_num_threads(1)); run it under nice. RUNS is even; the
configurations are drawn in sequence, so a larger RUNS extends the same
corpus, and runs already written are kept.

usage: nice -n 19 /usr/bin/python3 bench/corpus/generate_seq.py [RUNS] [JOBS]
       defaults: RUNS=242 JOBS=1
"""
import csv
import math
import multiprocessing as mp
import os
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "seq_runs")
INDEX = os.path.join(HERE, "seq_runs.csv")
CONFIG_SEED = 20261207
VOCAB = 40
POSITIVE = range(1, 7)
NEGATIVE = range(7, 13)
TEST_SIZE = 500
FIRST_LARGER = 41  # the first configuration (0-based) that may draw a larger training set
FIELDS = ["id", "seed", "config", "family", "cell", "embed", "hidden", "optimizer", "lr",
          "batch_size", "epochs", "train_size", "val_size", "seq_len", "label_noise",
          "weight_decay"]


def log_uniform(rng, lo, hi):
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def sample_config(rng, k):
    family = ["standard", "standard", "early", "noisy"][k % 4]
    c = {"config": k + 1, "family": family,
         "cell": rng.choice(["lstm", "gru", "rnn"]),
         "embed": rng.choice([8, 16]),
         "hidden": rng.choice([16, 32]),
         "optimizer": rng.choice(["adam", "adam", "sgd"]),
         "batch_size": rng.choice([16, 32]),
         "epochs": rng.choice([30, 40]),
         "train_size": rng.choice([150, 300, 600]),
         "val_size": rng.choice([200, 400]),
         "seq_len": rng.choice([12, 16, 24]),
         "label_noise": rng.choice([0.0, 0.1, 0.2, 0.3]),
         "weight_decay": rng.choice([0.0, 0.0, 1e-4, 1e-3])}
    adam = c["optimizer"] == "adam"
    c["lr"] = log_uniform(rng, 3e-4, 1e-2) if adam else log_uniform(rng, 0.01, 0.3)
    if family == "early":
        if rng.random() < 0.5:  # a learning rate too high
            c["lr"] = log_uniform(rng, 0.02, 0.08) if adam else log_uniform(rng, 0.5, 2.0)
        else:  # a tiny training set, memorised at once
            c["train_size"] = rng.choice([40, 60, 100])
            c["lr"] = log_uniform(rng, 5e-3, 2e-2) if adam else log_uniform(rng, 0.2, 0.5)
            c["label_noise"] = rng.choice([0.1, 0.2, 0.3])
    if family == "noisy":
        c["val_size"] = rng.choice([16, 24, 32, 48, 64])
    if k >= FIRST_LARGER and family == "standard":
        # Configurations past the first 82 runs: training sets up to 3000
        # sequences and less label noise, so the corpus holds runs that
        # generalise too (the first 82 had 3 healthy runs of 42 standard
        # ones: too few to count false alarms on).
        c["train_size"] = rng.choice([300, 600, 1500, 3000])
        c["label_noise"] = rng.choice([0.0, 0.0, 0.1, 0.2])
    return c


def make_configs(runs):
    rng = random.Random(CONFIG_SEED)
    out = []
    for k in range((runs + 1) // 2):
        c = sample_config(rng, k)
        for s in (2 * k + 1, 2 * k + 2):
            out.append(dict(c, id="%04d" % s, seed=s))
    return out


def sequences(gen, n, length):
    x = torch.randint(13, VOCAB, (n, length), generator=gen)
    # 1-5 keywords per sequence, at random places, of random sign.
    for i in range(n):
        k = int(torch.randint(1, 6, (1,), generator=gen))
        where = torch.randperm(length, generator=gen)[:k]
        for w in where.tolist():
            x[i, w] = int(torch.randint(1, 13, (1,), generator=gen))
    pos = ((x >= 1) & (x <= 6)).sum(1)
    neg = ((x >= 7) & (x <= 12)).sum(1)
    keyword = (x >= 1) & (x <= 12)
    last = torch.zeros(n, dtype=torch.long)
    for i in range(n):
        idx = keyword[i].nonzero().flatten()
        last[i] = 1 if int(x[i, idx[-1]]) <= 6 else 0
    y = torch.where(pos > neg, 1, torch.where(pos < neg, 0, last))
    return x, y


class Net(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, c["embed"])
        cell = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[c["cell"]]
        self.rnn = cell(c["embed"], c["hidden"], batch_first=True)
        self.out = nn.Linear(c["hidden"], 2)

    def forward(self, x):
        h, _ = self.rnn(self.embed(x))
        return self.out(h[:, -1])


def evaluate(model, x, y):
    model.eval()
    with torch.no_grad():
        loss = F.cross_entropy(model(x), y).item()
    model.train()
    return loss


def fmt(v):
    return repr(float(v)) if math.isfinite(v) else ("nan" if math.isnan(v) else
                                                   ("inf" if v > 0 else "-inf"))


def train_run(c):
    torch.manual_seed(c["seed"])
    gen = torch.Generator().manual_seed(c["seed"])
    xtr, ytr = sequences(gen, c["train_size"], c["seq_len"])
    xva, yva = sequences(gen, c["val_size"], c["seq_len"])
    xte, yte = sequences(gen, TEST_SIZE, c["seq_len"])
    if c["label_noise"] > 0:
        flip = torch.rand(len(ytr), generator=gen) < c["label_noise"]
        ytr = torch.where(flip, 1 - ytr, ytr)
    model = Net(c)
    if c["optimizer"] == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=c["lr"], weight_decay=c["weight_decay"])
    else:
        opt = torch.optim.SGD(model.parameters(), lr=c["lr"], momentum=0.9,
                              weight_decay=c["weight_decay"])
    rows = []
    for epoch in range(1, c["epochs"] + 1):
        order = torch.randperm(len(ytr), generator=gen)
        total, count = 0.0, 0
        for i in range(0, len(order), c["batch_size"]):
            b = order[i:i + c["batch_size"]]
            loss = F.cross_entropy(model(xtr[b]), ytr[b])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            total += loss.item() * len(b)
            count += len(b)
        rows.append([epoch, total / count, evaluate(model, xva, yva), evaluate(model, xte, yte)])
    return rows


def run_one(c):
    torch.set_num_threads(1)
    path = os.path.join(OUT_DIR, c["id"] + ".csv")
    if os.path.exists(path):
        return c["id"], 0.0
    start = time.process_time()
    rows = train_run(c)
    with open(path + ".tmp", "w") as f:
        f.write("epoch,train_loss,val_loss,test_loss\n")
        for r in rows:
            f.write("%d,%s\n" % (r[0], ",".join(fmt(v) for v in r[1:])))
    os.replace(path + ".tmp", path)
    return c["id"], time.process_time() - start


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 242
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    configs = make_configs(runs)
    with open(INDEX, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for c in configs:
            w.writerow({k: ("%.6g" % c[k] if isinstance(c[k], float) else c[k]) for k in FIELDS})
    total = 0.0
    with mp.Pool(jobs) as pool:
        for rid, sec in pool.imap_unordered(run_one, configs):
            total += sec
            print("%s %.1f s (%.0f s in all)" % (rid, sec, total), flush=True)


if __name__ == "__main__":
    main()
