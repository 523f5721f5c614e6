#!/usr/bin/env python3
"""Scores overfitting detectors on the corpus of real training runs
(bench/corpus/runs, made by generate.py): fitwatch's detector (run through
`fitwatch emit`, the same code as the library) and the rules of record.

Ground truth comes from the held-out test loss, never from the validation
loss: a run overfits if its lightly smoothed test loss ends more than MARGIN
above its minimum; it is healthy if it ends within MARGIN/4; runs in between
are left out.

An alarm at evaluation a restores the weights of the best validation loss
so far, r(a). It is a hit when test[r(a)] is within MARGIN of test[b*], b*
being the run's best validation epoch (what hindsight on the validation
loss would restore), premature when it is worse; delay = a - b*.

usage: score.py FITWATCH_CLI
"""
import csv
import glob
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MARGIN = 0.05          # 5 % of the test loss: see docs/benchmarks.md
SMOOTH = 0.5           # EMA weight of the newest test loss ("lightly smoothed")


def load_runs():
    runs = []
    for path in sorted(glob.glob(os.path.join(HERE, "runs", "*.csv"))):
        with open(path) as f:
            rows = list(csv.DictReader(f))
        runs.append({
            "id": os.path.basename(path)[:-4],
            "train": [float(r["train_loss"]) for r in rows],
            "val": [float(r["val_loss"]) for r in rows],
            "test": [float(r["test_loss"]) for r in rows],
            "path": path,
        })
    return runs


def ema(xs, a):
    out, s = [], None
    for x in xs:
        s = x if s is None else a * x + (1 - a) * s
        out.append(s)
    return out


def label(run):
    t = ema(run["test"], SMOOTH)
    rise = t[-1] / min(t) - 1
    if rise > MARGIN:
        return "overfit"
    if rise <= MARGIN / 4:
        return "healthy"
    return None


# ---- detectors: each returns the 0-based index of the first alarm, or None ----

def classic_rise3(run):
    v, streak = run["val"], 0
    for i in range(1, len(v)):
        streak = streak + 1 if v[i] > v[i - 1] else 0
        if streak >= 3:
            return i
    return None


def patience(n):
    def rule(run):
        best, wait = None, 0
        for i, x in enumerate(run["val"]):
            if best is None or x < best:  # Keras/Lightning, min_delta 0
                best, wait = x, 0
            else:
                wait += 1
                if wait >= n:
                    return i
        return None
    return rule


def debugger_overfit(run):
    # SageMaker Debugger Overfit: (val - train) / train > 0.1, patience 1.
    for i, (t, v) in enumerate(zip(run["train"], run["val"])):
        if t > 0 and (v - t) / t > 0.1:
            return i
    return None


def prechelt_gl(alpha):
    def rule(run):
        best = None
        for i, x in enumerate(run["val"]):
            best = x if best is None else min(best, x)
            if 100 * (x / best - 1) > alpha:
                return i
        return None
    return rule


def prechelt_up(s, k=5):
    def rule(run):
        v, ups = run["val"], 0
        for end in range(2 * k - 1, len(v), k):
            ups = ups + 1 if v[end] > v[end - k] else 0
            if ups >= s:
                return end
        return None
    return rule


def fitwatch(cli, args=()):
    def rule(run):
        with open(run["path"]) as f:
            text = f.read()
        out = subprocess.run([cli, "emit", "--job-name", "corpus", *args], input=text,
                             capture_output=True, text=True, check=True).stdout
        for i, line in enumerate(out.splitlines()):
            if json.loads(line).get("OverfittingDetected") == 1:
                return i
        return None
    return rule


def score(rule, runs):
    hits, premature, missed, false_alarms, delays, saved, regret = 0, 0, 0, 0, [], [], []
    overfit = [r for r in runs if r["label"] == "overfit"]
    healthy = [r for r in runs if r["label"] == "healthy"]
    for r in overfit:
        a = rule(r)
        if a is None:
            missed += 1
            continue
        v, t = r["val"], r["test"]
        b_star = min(range(len(v)), key=v.__getitem__)
        restore = min(range(a + 1), key=v.__getitem__)
        if t[restore] <= t[b_star] * (1 + MARGIN):
            hits += 1
            delays.append(a - b_star)
        else:
            premature += 1
        saved.append((len(v) - 1 - a) / len(v))
        regret.append(t[restore] / min(t) - 1)
    for r in healthy:
        if rule(r) is not None:
            false_alarms += 1
    p90 = sorted(delays)[int(0.9 * (len(delays) - 1))] if delays else float("nan")
    return {
        "hits": hits, "overfit": len(overfit), "false_alarm_runs": false_alarms,
        "healthy": len(healthy),
        "recall": hits / len(overfit) if overfit else float("nan"),
        "premature": premature / len(overfit) if overfit else float("nan"),
        "false_alarms": false_alarms / len(healthy) if healthy else float("nan"),
        "median_delay": statistics.median(delays) if delays else float("nan"),
        "p90_delay": p90,
        "saved": statistics.mean(saved) if saved else 0.0,
        "regret": statistics.median(regret) if regret else float("nan"),
    }


def main():
    cli = sys.argv[1]
    runs = load_runs()
    for r in runs:
        r["label"] = label(r)
    n_over = sum(r["label"] == "overfit" for r in runs)
    n_healthy = sum(r["label"] == "healthy" for r in runs)
    print("corpus: %d runs; %d overfit, %d healthy, %d left out (margin %.0f%% of the smoothed test loss)"
          % (len(runs), n_over, n_healthy, len(runs) - n_over - n_healthy, 100 * MARGIN))
    previous = ["--jump-sigmas", "0", "--trend-window", "0"]
    detectors = [
        ("**fitwatch defaults** (EMA 0.7; GL > 5 % twice, 3+ after the best; "
         "jump > 5 noise units; 6-evaluation trend, t > 3)", fitwatch(cli)),
        ("fitwatch, smoothed GL rule alone (the defaults before the jump and trend rules)",
         fitwatch(cli, previous)),
        ("fitwatch before tuning (raw loss; GL > 5 % twice)",
         fitwatch(cli, ["--smoothing", "1", "--gl-min-since-best", "0", *previous])),
        ("classic: val rose 3 in a row", classic_rise3),
        ("Keras EarlyStopping patience 5", patience(5)),
        ("Lightning EarlyStopping patience 3", patience(3)),
        ("SageMaker Debugger Overfit (0.1, patience 1)", debugger_overfit),
        ("Prechelt GL5", prechelt_gl(5)),
        ("Prechelt UP3 (strip 5)", prechelt_up(3)),
    ]
    extra = [a for a in sys.argv[2:]]
    if extra:
        detectors.append(("fitwatch " + " ".join(extra), fitwatch(cli, extra)))
    table(detectors, runs)
    # How much the defaults depend on the exact thresholds: each default
    # moved one step either way, all else kept.
    print("\nsensitivity of the defaults (one option moved, the rest kept):")
    table([("fitwatch " + " ".join(args), fitwatch(cli, args)) for args in (
        ["--jump-sigmas", "4.5"], ["--jump-sigmas", "5.5"],
        ["--trend-window", "5"], ["--trend-window", "7"],
        ["--trend-t", "2.5"], ["--trend-t", "3.5"],
        ["--gl-threshold", "4"], ["--gl-threshold", "6"],
        ["--smoothing", "0.6"], ["--smoothing", "0.8"])], runs)


def table(detectors, runs):
    print("\n| detector | recall | premature | false alarms | median delay | p90 delay | training saved | test-loss regret |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rule in detectors:
        s = score(rule, runs)
        # Three decimals and the counts: 69/73 = 0.945 must not read as 0.95.
        print("| %s | %.3f (%d/%d) | %.2f | %.3f (%d/%d) | %s | %s | %.0f%% | %.1f%% |" % (
            name, s["recall"], s["hits"], s["overfit"], s["premature"],
            s["false_alarms"], s["false_alarm_runs"], s["healthy"],
            "%g" % s["median_delay"], "%g" % s["p90_delay"], 100 * s["saved"], 100 * s["regret"]))

if __name__ == "__main__":
    main()
