#!/usr/bin/env python3
"""Builds the detection-quality corpus: real Fashion-MNIST training runs of
examples/train_fashion_mnist over a sampled grid of training-set size, model
width, learning rate, weight decay, dropout, label noise and seed. Each run
writes per-epoch training, validation and held-out test loss
(runs/<id>.csv); runs.csv lists the parameters. The test split is never
seen by any detector. Deterministic: the grid sample is seeded.

usage: generate.py EXAMPLE_BINARY [RUNS] [JOBS]   (make bench-corpus)
"""
import csv
import itertools
import os
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
GRID = {
    "train_size": [500, 1000, 2000, 4000],
    "width": [64, 128, 256],
    "lr": [3e-4, 1e-3, 3e-3],
    "weight_decay": [0.0, 0.01, 0.1],
    "dropout": [0.0, 0.2, 0.5],
    "label_noise": [0.0, 0.1, 0.3],
    "seed": [1, 2, 3, 4, 5],
}
EPOCHS = 25


def main():
    example = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 160
    jobs = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    keys = list(GRID)
    combos = list(itertools.product(*GRID.values()))
    random.Random(42).shuffle(combos)
    configs = [dict(zip(keys, c)) for c in combos[:runs]]
    os.makedirs(os.path.join(HERE, "runs"), exist_ok=True)

    def run(item):
        i, c = item
        out = os.path.join(HERE, "runs", "%03d.csv" % i)
        if os.path.exists(out):
            return
        args = [example, "--threads", "1", "--no-stop", "--no-emf", "--epochs", str(EPOCHS),
                "--val-size", "2000", "--test-size", "2000", "--curves", out + ".tmp"]
        for k, v in c.items():
            args += ["--" + k.replace("_", "-"), str(v)]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.replace(out + ".tmp", out)

    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(run, enumerate(configs)))
    with open(os.path.join(HERE, "runs.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id"] + keys)
        for i, c in enumerate(configs):
            w.writerow(["%03d" % i] + [c[k] for k in keys])
    print("%d runs in %s" % (len(configs), os.path.join(HERE, "runs")))


if __name__ == "__main__":
    main()
