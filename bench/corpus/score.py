#!/usr/bin/env python3
"""Scores what the team receives: every curve of the corpora (corpora.py)
goes through the whole chain with default parameters,

    fitwatch emit (one evaluation every S seconds)
      -> fitwatch replay --template templates/overfitting-alerts.yaml
      -> the first ALARM that emails the team (a child alarm, through the formatter),

at S = 30 s, 2 min and 10 min, and is scored like the detector's own verdict
(the first OverfittingDetected = 1 line of emit) and the rules of record.
Every figure is printed for the tuning half (defaults were chosen on it) and
for the held-out half (they were not).

Ground truth comes from the held-out test loss, never from the validation
loss (corpora.label). An alarm at evaluation a restores the weights of the
best validation loss so far, r(a): a hit when test[r(a)] is within MARGIN of
test[b*], b* being the run's best validation epoch; premature when worse;
delay = a - b*. False alarms: healthy runs (and synthetic plateaus) with any
alarm.

Then, per corpus (corpora.CORPORA), the held-out half's figures of the
email beside the rules of record; and leave-one-corpus-out: the option sets
tune.py chose on the tuning halves of every corpus but one
(chosen_options.json, written beside tune_detector) go through the same
chain as `emit` flags, and are scored on the whole corpus left out.

usage: score.py FITWATCH_CLI [--quick] [--chosen CHOSEN_OPTIONS_JSON]   (make bench)
       --chosen defaults to build-bench/bench/chosen_options.json
"""
import json
import math
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import corpora

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, "..", "..", "templates", "overfitting-alerts.yaml")
JOB = "bench"
T0 = 1767225600000  # 2026-01-01T00:00:00Z; every curve starts there
SPACINGS = [("30 s", 30), ("2 min", 120), ("10 min", 600)]


# ---- the chain: emit -> replay ---------------------------------------------

def emit(cli, run, spacing, args=()):
    rows = []
    for i, (t, v) in enumerate(zip(run["train"], run["val"])):
        rows.append(json.dumps({"epoch": i + 1, "train_loss": t, "val_loss": v,
                                "timestamp": T0 + i * spacing * 1000},
                               allow_nan=True).replace("-Infinity", "null").replace("Infinity", "null").replace("NaN", "null"))
    out = subprocess.run([cli, "emit", "--job-name", JOB, *args], input="\n".join(rows) + "\n",
                         capture_output=True, text=True)
    if out.returncode not in (0, 1):
        raise RuntimeError("emit failed on %s: %s" % (run["id"], out.stderr))
    return out.stdout


def verdict_index(emf):
    for i, line in enumerate(emf.splitlines()):
        e = json.loads(line)
        if e.get("OverfittingDetected") == 1 or e.get("TrainingDiverged") == 1:
            return i
    return None


def email_index(cli, emf, spacing, params=()):
    """The evaluation whose line the first email follows, or None."""
    args = [cli, "replay", "--template", TEMPLATE, "--format", "json",
            "--param", "TrainingJobName=" + JOB, "--param", "TeamEmails=team@example.com"]
    for p in params:
        args += ["--param", p]
    out = subprocess.run(args, input=emf, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("replay failed: %s" % out.stderr)
    for line in out.stdout.splitlines():
        if not line.startswith("{"):
            continue
        t = json.loads(line)
        # Each child alarm emails the team through the formatter (issue #23).
        if t["new_state"] == "ALARM" and t.get("emails"):
            # the newest evaluation written at or before the email
            return min((t["time_ms"] - T0) // (spacing * 1000), len(emf.splitlines()) - 1)
    return None


# ---- rules of record: each returns the first alarm's index, or None ---------

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
            if best > 0 and 100 * (x / best - 1) > alpha:
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


# ---- scoring ----------------------------------------------------------------

def score(alarms, runs):
    """alarms: run id -> first alarm index or None."""
    hits = premature = fa = 0
    delays, saved = [], []
    overfit = [r for r in runs if r["label"] == "overfit"]
    healthy = [r for r in runs if r["label"] == "healthy"]
    for r in overfit:
        a = alarms[r["id"]]
        if a is None:
            continue
        v, t = r["val"], r["test"]
        finite = [i for i in range(len(v)) if math.isfinite(v[i])]
        b_star = min(finite, key=v.__getitem__)
        restore = min([i for i in finite if i <= a] or [0], key=v.__getitem__)
        if t[restore] <= t[b_star] + corpora.MARGIN * abs(t[b_star]):
            hits += 1
            delays.append(a - b_star)
        else:
            premature += 1
        saved.append((len(v) - 1 - a) / len(v))
    fa = sum(alarms[r["id"]] is not None for r in healthy)
    q = lambda xs, p: sorted(xs)[int(p * (len(xs) - 1))] if xs else float("nan")
    return {"hits": hits, "overfit": len(overfit), "premature": premature,
            "fa": fa, "healthy": len(healthy),
            "median": statistics.median(delays) if delays else float("nan"),
            "p90": q(delays, 0.9), "saved": statistics.mean(saved) if saved else 0.0}


def ratio(a, b):
    return "%.3f (%d/%d)" % (a / b, a, b) if b else "-"


def row(name, runs, alarms):
    real = [r for r in runs if r["corpus"] != "plateaus"]
    flat = [r for r in runs if r["corpus"] == "plateaus"]
    s, p = score(alarms, real), score(alarms, flat)
    return "| %s | %s | %s | %s | %s | %s | %s | %.0f%% |" % (
        name, ratio(s["hits"], s["overfit"]), ratio(s["premature"], s["overfit"]),
        ratio(s["fa"], s["healthy"]), ratio(p["fa"], p["healthy"]),
        "%g" % s["median"], "%g" % s["p90"], 100 * s["saved"])


HEADER = ("| what fires | recall | premature | false alarms (healthy runs) | false alarms (plateaus) "
          "| median delay | p90 delay | training saved |\n|---|---|---|---|---|---|---|---|")


def flags(options):
    """An option set of tune.py as `fitwatch emit` flags."""
    out = []
    for k, v in sorted(options.items()):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        out += ["--" + k.replace("_", "-"), str(v)]
    return out


CORPUS_HEADER = ("| corpus | what fires | recall | premature | false alarms (healthy) "
                 "| median delay | p90 delay |\n|---|---|---|---|---|---|---|")


def corpus_row(corpus, name, runs, alarms):
    s = score(alarms, runs)
    return "| %s | %s | %s | %s | %s | %s | %s |" % (
        corpus, name, ratio(s["hits"], s["overfit"]), ratio(s["premature"], s["overfit"]),
        ratio(s["fa"], s["healthy"]), "%g" % s["median"], "%g" % s["p90"])


def tune_grid():
    import tune  # tune imports this module: import it when needed
    return tune.GRID


def main():
    cli = os.path.abspath(sys.argv[1])
    quick = "--quick" in sys.argv
    chosen_path = (sys.argv[sys.argv.index("--chosen") + 1] if "--chosen" in sys.argv else
                   os.path.join(HERE, "..", "..", "build-bench", "bench", "chosen_options.json"))
    runs = corpora.load_all()
    for half in ("tuning", "held-out"):
        part = [r for r in runs if r["half"] == half]
        by = lambda c, l: sum(r["corpus"] == c and r["label"] == l for r in part)
        print("%s half: %s" % (half, "; ".join(
            "%s %d overfit, %d healthy, %d left out" % (
                c, by(c, "overfit"), by(c, "healthy"), sum(r["corpus"] == c and r["label"] is None for r in part))
            for c in corpora.CORPORA)))

    pool = ThreadPoolExecutor(os.cpu_count() or 2)

    def through_chain(spacing, params=(), emit_args=(), only=None):
        def one(r):
            emf = emit(cli, r, spacing, emit_args)
            return r["id"], verdict_index(emf), email_index(cli, emf, spacing, params)
        verdict, email = {}, {}
        for rid, v, e in pool.map(one, runs if only is None else only):
            verdict[rid], email[rid] = v, e
        return verdict, email

    tables = {}
    verdict = None
    for label, spacing in (SPACINGS[:1] if quick else SPACINGS):
        v, e = through_chain(spacing)
        verdict = verdict or v
        tables["the email, default template, epochs %s apart" % label] = e
    extra = [("RiseStreakThreshold=3", "email with RiseStreakThreshold=3 (seed's 3 in a row)"),
             ("NoImprovementThreshold=10", "email with NoImprovementThreshold=10"),
             ("GapRatioThreshold=0.1", "email with GapRatioThreshold=0.1 (Debugger's Overfit)")]
    for param, name in ([] if quick else extra):
        tables[name + ", 2 min"] = through_chain(120, [param])[1]
    # The verdict with one default moved one step on tune.py's grid (the rest
    # kept): how firm the choice is. The defaults are tune.py's choice.
    defaults = json.loads(subprocess.run(
        [os.path.join(os.path.dirname(chosen_path), "tune_detector"), "--defaults"],
        capture_output=True, text=True, check=True).stdout) if os.path.exists(chosen_path) else {}
    moved = []
    for name in ("smoothing", "gl_threshold", "gl_noise_units", "train_falling_t",
                 "strong_rise_units", "strong_rise_percent", "window_size", "window_units",
                 "noise_detrend"):
        if name not in defaults:
            continue
        grid = [x for x in tune_grid()[name]]
        at = min(range(len(grid)), key=lambda i: abs(float(grid[i]) - float(defaults[name])))
        for i in (at - 1, at + 1):
            if 0 <= i < len(grid) and grid[i] != defaults[name]:
                moved.append(flags({name: grid[i]}))
    sensitivity = {}
    for args in ([] if quick else moved):
        verdict_moved = dict(pool.map(lambda r: (r["id"], verdict_index(emit(cli, r, 120, args))), runs))
        name = "verdict, emit " + " ".join(args)
        sensitivity[name] = verdict_moved
    record = [("classic: val rose 3 in a row", classic_rise3),
              ("Keras EarlyStopping patience 5", patience(5)),
              ("Lightning EarlyStopping patience 3", patience(3)),
              ("SageMaker Debugger Overfit (0.1, patience 1)", debugger_overfit),
              ("Prechelt GL5", prechelt_gl(5)), ("Prechelt UP3 (strip 5)", prechelt_up(3))]
    record_alarms = {name: {r["id"]: rule(r) for r in runs} for name, rule in record}
    email_2min = tables["the email, default template, epochs %s apart" %
                        (SPACINGS[0][0] if quick else "2 min")]
    print("\nper corpus, held-out half (the email with the defaults, epochs %s apart, beside the "
          "rules of record):\n" % ("30 s" if quick else "2 min"))
    print(CORPUS_HEADER)
    worst = {}
    for corpus in corpora.CORPORA:
        part = [r for r in runs if r["corpus"] == corpus and r["half"] == "held-out"]
        print(corpus_row(corpus, "**fitwatch's email**", part, email_2min))
        for name, alarms in record_alarms.items():
            print(corpus_row(corpus, name, part, alarms))
    if os.path.exists(chosen_path):
        with open(chosen_path) as f:
            chosen = json.load(f)
        print("\nleave-one-corpus-out: tuned (tune.py) on the tuning halves of the other corpora, "
              "scored on the whole corpus left out, the email end to end (epochs 2 min apart):\n")
        print(CORPUS_HEADER)
        for corpus, options in chosen["leave-one-corpus-out"].items():
            left = [r for r in runs if r["corpus"] == corpus]
            email = through_chain(120, emit_args=flags(options), only=left)[1]
            moved = {k: v for k, v in options.items() if chosen["defaults"].get(k) != v}
            print(corpus_row(corpus, "**fitwatch's email**, tuned without it (%s)" % (
                " ".join(flags(moved)) or "the defaults"), left, email))
            for name, alarms in record_alarms.items():
                print(corpus_row(corpus, name, left, alarms))
            worst[corpus] = score(email, left)
        real = {c: f for c, f in worst.items() if f["overfit"]}
        if real:
            c_recall = min(real, key=lambda c: real[c]["hits"] / real[c]["overfit"])
            c_fa = max((c for c in worst if worst[c]["healthy"]),
                       key=lambda c: worst[c]["fa"] / worst[c]["healthy"])
            c_delay = max(real, key=lambda c: real[c]["median"])
            print("\nworst left-out corpus: recall %s (%s); false alarms %s (%s); median delay %g (%s)"
                  % (ratio(real[c_recall]["hits"], real[c_recall]["overfit"]), c_recall,
                     ratio(worst[c_fa]["fa"], worst[c_fa]["healthy"]), c_fa,
                     real[c_delay]["median"], c_delay))
    else:
        print("\nleave-one-corpus-out: skipped, %s is missing (run tune.py first)" % chosen_path)
    for half in ("held-out", "tuning"):
        part = [r for r in runs if r["half"] == half]
        print("\n%s half (%s):\n" % (half, "defaults NOT chosen on it" if half == "held-out"
                                      else "defaults chosen on it"))
        print(HEADER)
        print(row("**fitwatch's verdict** (emit, the library's detector)", part, verdict))
        for name, alarms in tables.items():
            print(row(name, part, alarms))
        for name, alarms in record_alarms.items():
            print(row(name, part, alarms))
        if sensitivity:
            print("\nthe verdict with one default moved (%s half):\n" % half)
            print(HEADER)
            for name, alarms in sensitivity.items():
                print(row(name, part, alarms))


if __name__ == "__main__":
    main()
