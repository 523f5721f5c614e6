#!/usr/bin/env python3
"""Chooses the detector's defaults on the tuning half of the corpora only
(corpora.py), then prints the chosen set's figures on both halves.

The search runs the library's own detector (bench/tune_detector.cpp) over
every tuning curve for each candidate option set: a coordinate descent from
the current defaults, each option moved over its grid in turn, repeated until
nothing improves, from several random starts. The rule of choice, on the
tuning half:

  1. false alarms on healthy real runs <= BUDGET and on plateaus <= BUDGET;
  2. then the most overfitting runs caught in time (hits);
  3. then the lowest median delay; then the fewest premature alarms.

The email is the verdict (score.py shows they match at every spacing), so
the verdict is what is tuned; score.py then checks it end to end.

usage: tune.py TUNE_DETECTOR [--starts N]
"""
import json
import math
import random
import subprocess
import sys

import corpora
import score

BUDGET = 0.05
GRID = {
    "smoothing": [0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
    "warmup": [2, 3, 4, 5],
    "gl_threshold": [1, 2, 3, 4, 5, 6, 8, 10],
    "gl_confirm": [1, 2, 3],
    "gl_min_since_best": [1, 2, 3, 4, 5],
    "gl_noise_units": [0, 0.5, 1, 1.5, 2, 2.5, 3],
    "jump_sigmas": [0, 3, 4, 5, 6, 8],
    "trend_window": [0, 4, 5, 6, 8, 10],
    "trend_t": [2, 2.5, 3, 4, 5],
    "trend_min_gl": [0, 1, 2, 3, 4],
    "train_falling_t": [0, 1, 2, 3, 4, 5, 6],
    "train_window": [4, 6, 8, 10, 12],
    "strong_rise_units": [0, 10, 15, 20, 25, 30, 40],
}


def finite_or_none(xs):
    return [x if math.isfinite(x) else None for x in xs]


class Runner:
    def __init__(self, exe, runs):
        self.exe, self.runs = exe, runs
        self.curves = "".join(json.dumps({"train": finite_or_none(r["train"]),
                                          "val": finite_or_none(r["val"])}) + "\n" for r in runs)
        self.cache = {}

    def alarms(self, sets):
        todo = [s for s in sets if key(s) not in self.cache]
        if todo:
            out = subprocess.run([self.exe], input=json.dumps(todo) + "\n" + self.curves,
                                 capture_output=True, text=True, check=True).stdout.splitlines()
            for s, line in zip(todo, out):
                self.cache[key(s)] = dict(zip((r["id"] for r in self.runs), json.loads(line)))
        return [self.cache[key(s)] for s in sets]


def key(s):
    return tuple(sorted(s.items()))


def figures(alarms, runs):
    real = [r for r in runs if r["corpus"] != "plateaus"]
    flat = [r for r in runs if r["corpus"] == "plateaus"]
    return score.score(alarms, real), score.score(alarms, flat)


def merit(alarms, runs):
    s, p = figures(alarms, runs)
    ok = s["fa"] <= BUDGET * s["healthy"] and p["fa"] <= BUDGET * p["healthy"]
    median = s["median"] if s["hits"] else 1e9
    return (ok, s["hits"] if ok else -s["fa"] - p["fa"], -median, -s["premature"])


def descend(runner, runs, start):
    best, best_merit = dict(start), merit(runner.alarms([start])[0], runs)
    improved = True
    while improved:
        improved = False
        for name, values in GRID.items():
            candidates = [dict(best, **{name: x}) for x in values if x != best[name]]
            for c, a in zip(candidates, runner.alarms(candidates)):
                m = merit(a, runs)
                if m > best_merit:
                    best, best_merit, improved = c, m, True
    return best, best_merit


def table(name, alarms, runs):
    s, p = figures(alarms, runs)
    return "| %s | %s | %s | %s | %s | %g | %g |" % (
        name, score.ratio(s["hits"], s["overfit"]), score.ratio(s["premature"], s["overfit"]),
        score.ratio(s["fa"], s["healthy"]), score.ratio(p["fa"], p["healthy"]), s["median"], s["p90"])


def main():
    exe = sys.argv[1]
    starts = int(sys.argv[sys.argv.index("--starts") + 1]) if "--starts" in sys.argv else 8
    defaults = json.loads(subprocess.run([exe, "--defaults"], capture_output=True, text=True,
                                         check=True).stdout)
    runs = [r for r in corpora.load_all() if r["label"] is not None]
    tuning = [r for r in runs if r["half"] == "tuning"]
    runner = Runner(exe, tuning)
    rng = random.Random(20261129)
    best, best_merit = descend(runner, tuning, defaults)
    for _ in range(starts):
        start = {k: rng.choice(v) for k, v in GRID.items()}
        found, m = descend(runner, tuning, start)
        print("start -> %s" % (m,), file=sys.stderr)
        if m > best_merit:
            best, best_merit = found, m
    print("option sets tried on the tuning half: %d" % len(runner.cache))
    print("chosen: " + json.dumps(best))
    print("the library's defaults are the chosen set: %s" % ("yes" if key(best) == key(defaults) else
                                                             "NO, they are " + json.dumps(defaults)))
    everything = Runner(exe, runs)
    header = ("| option set | recall | premature | false alarms (healthy) | false alarms (plateaus) "
              "| median delay | p90 delay |\n|---|---|---|---|---|---|---|")
    for half in ("tuning", "held-out"):
        part = [r for r in runs if r["half"] == half]
        print("\n%s half:\n\n%s" % (half, header))
        chosen, = everything.alarms([best])
        print(table("chosen on the tuning half", chosen, part))


if __name__ == "__main__":
    main()
