#!/usr/bin/env python3
"""Chooses the detector's defaults on the tuning half of the corpora only
(corpora.py), then prints the chosen set's figures on both halves; then,
leave-one-corpus-out, chooses a set on the tuning halves of every corpus but
one and prints its figures on the whole of the one left out. The chosen sets
are written beside TUNE_DETECTOR (chosen_options.json) for score.py, which
runs them end to end through the email.

The search runs the library's own detector (bench/tune_detector.cpp) over
every tuning curve for each candidate option set: a coordinate descent from
the current defaults, each option moved over its grid in turn, repeated until
nothing improves, from several random starts. The rule of choice, on the
tuning half:

  1. false alarms <= BUDGET on the healthy runs of every corpus with at
     least MIN_HEALTHY = 2 / BUDGET = 40 of them (the plateaus, torch-zoo,
     seed-averaged), and on the healthy runs of the smaller corpora pooled
     (fashion-grid and the three rnn corpora), with one false alarm to spare
     on each: a budget means something only where one run is at most half
     of it (with MIN_HEALTHY 10, the rnn corpus, grown to 11 healthy tuning
     runs, had a budget of its own where one run decided: 5 % of 11 allows
     none); a set that sits exactly at the budget of its tuning half
     is over it on the held-out half about as often as not (issue #24: the
     plateaus went from 4/80 tuning to 6/80 held out); the plateaus' false
     alarms are counted on EXTRA_PLATEAUS more synthetic plateaus besides
     their tuning half (same generator, another seed, all in the tuning
     half): the synthetic null can be drawn as often as needed, and on 80
     curves a 5 % rate is known to +-2.4 points only (the first run of this
     rule chose a set at 3/80 tuning that had 6/80 held out); and on the
     plateaus (the null: any alarm is false) at most NULL_BUDGET = BUDGET / 2,
     so that the target (<= 5 %) holds on a held-out sample of 80 curves too
     (its standard error at 5 % is 2.4 points: a rate chosen at the target
     exceeds it on a held-out sample about half the time; the second run of
     this rule, budget 5 % on 480 plateaus, chose a set at 5/80 held out);
  2. then the highest recall averaged over the corpora (each corpus with at
     least MIN_OVERFIT overfitting runs counts once, so that the rule holds
     across kinds of run rather than on the largest corpus);
  3. then the lowest median delay; then the fewest premature alarms.

The email is the verdict (score.py shows they match at every spacing), so
the verdict is what is tuned; score.py then checks it end to end.

usage: tune.py TUNE_DETECTOR [--starts N] [--loco-starts N]
"""
import json
import math
import os
import random
import subprocess
import sys

import corpora
import score

BUDGET = 0.05
NULL_BUDGET = BUDGET / 2
EXTRA_PLATEAUS = 400
EXTRA_PLATEAU_SEED = 20261207  # not the seed of corpora.plateaus()
MIN_HEALTHY = 40  # = 2 / BUDGET: a corpus where one false alarm is at most half the budget
MIN_OVERFIT = 5
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
    "strong_rise_units": [0, 3, 4, 5, 6, 8, 10, 15, 20, 30],
    "strong_rise_percent": [0, 25, 50, 100, 200],
    "strong_rise_confirm": [1, 2, 3, 4, 6],
    "window_size": [0, 4, 6, 8, 12, 16],
    "window_units": [2, 3, 4, 5, 6, 8],
    "noise_detrend": [False, True],
    "cusum_k": [1, 2, 3, 4, 5, 6],
    "cusum_h": [0, 4, 8, 12, 16, 24],
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
    by = {}
    for r in runs:
        by.setdefault(r["corpus"], []).append(r)
    ok, excess, recalls, small = True, 0.0, [], []
    for corpus, part in by.items():
        s = score.score(alarms, part)
        budget = NULL_BUDGET if corpus == "plateaus" else BUDGET
        if s["healthy"] >= MIN_HEALTHY:
            spare = 1 if s["healthy"] * budget >= 2 else 0  # one false alarm to spare
            ok &= s["fa"] + spare <= budget * s["healthy"]
            excess += max(0.0, s["fa"] / s["healthy"] - budget)
        else:
            small += [r for r in part if r["label"] == "healthy"]
        if s["overfit"] >= MIN_OVERFIT:
            recalls.append(s["hits"] / s["overfit"])
    if small:
        fa = sum(alarms[r["id"]] is not None for r in small)
        spare = 1 if len(small) * BUDGET >= 2 else 0
        ok &= fa + spare <= BUDGET * len(small)
        excess += max(0.0, fa / len(small) - BUDGET)
    real = [r for r in runs if r["corpus"] != "plateaus"]
    s = score.score(alarms, real)
    median = s["median"] if s["hits"] else 1e9
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    return (ok, round(recall, 6) if ok else -excess, -median, -s["premature"])


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


def choose(exe, tuning, defaults, starts):
    """The best option set on `tuning`: descents from the defaults and from
    `starts` random points of the grid (a fixed seed)."""
    runner = Runner(exe, tuning)
    rng = random.Random(20261129)
    best, best_merit = descend(runner, tuning, defaults)
    for _ in range(starts):
        start = {k: rng.choice(v) for k, v in GRID.items()}
        found, m = descend(runner, tuning, start)
        print("start -> %s" % (m,), file=sys.stderr)
        if m > best_merit:
            best, best_merit = found, m
    return best, len(runner.cache)


def main():
    exe = sys.argv[1]
    arg = lambda name, default: (int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv
                                 else default)
    starts, loco_starts = arg("--starts", 4), arg("--loco-starts", 0)
    defaults = json.loads(subprocess.run([exe, "--defaults"], capture_output=True, text=True,
                                         check=True).stdout)
    runs = [r for r in corpora.load_all() if r["label"] is not None]
    tuning = [r for r in runs if r["half"] == "tuning"]
    tuning += corpora.plateaus(EXTRA_PLATEAUS, EXTRA_PLATEAU_SEED, "plateaus-extra", "tuning")
    best, tried = choose(exe, tuning, defaults, starts)
    print("option sets tried on the tuning half: %d" % tried)
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
    # Leave one corpus out: tuned on the tuning halves of the others.
    chosen = {"defaults": best, "leave-one-corpus-out": {}}
    print("\nleave-one-corpus-out (the verdict; score.py runs these sets through the email):\n")
    print(header.replace("option set", "corpus left out"))
    for corpus in corpora.CORPORA:
        rest = [r for r in tuning if r["corpus"] != corpus]
        left = [r for r in runs if r["corpus"] == corpus]
        if not left:
            continue
        found, _ = choose(exe, rest, best, loco_starts)
        chosen["leave-one-corpus-out"][corpus] = found
        alarms, = everything.alarms([found])
        print(table(corpus, alarms, left))
    path = os.path.join(os.path.dirname(os.path.abspath(exe)), "chosen_options.json")
    with open(path, "w") as f:
        json.dump(chosen, f, indent=1, sort_keys=True)
    print("\nwritten: %s" % path)


if __name__ == "__main__":
    main()
