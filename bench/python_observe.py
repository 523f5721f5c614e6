#!/usr/bin/python3
"""What Monitor.observe() costs a Python training loop, against the naive
alternative: building the same EMF line (the same metrics, dimensions and
properties) as a dict, json.dumps, and writing it to stdout line by line.
One process, stdout on /dev/null, rounds alternated; target: fitwatch at most
half the naive cost (issue 11).

fitwatch runs the detector too, which the naive line does not. Two fitwatch
figures: the default background writer (what the training thread pays; the
queue blocks rather than drops, so every line is written, and the loop ends
with a drain) and background_writer=False (formatting and write(2) on the
calling thread too).

usage: python_observe.py [EVALUATIONS] [ROUNDS]   (PYTHONPATH: the built package)
"""
import json
import math
import os
import statistics
import sys
import time

import fitwatch


def curve(n):
    return [(e, 1.0 / e, 0.5 + 0.01 * math.sin(e) + 1e-6 * e) for e in range(1, n + 1)]


def run_fitwatch(points, background):
    log = fitwatch.Logger(job_name="bench", background_writer=background, overflow="block",
                          queue_capacity=1024, line_buffer_stdout=False)
    mon = fitwatch.Monitor(log)
    t0 = time.perf_counter()
    for e, t, v in points:
        mon.observe(e, t, v)
    loop = time.perf_counter() - t0
    log.flush()
    log.drain(60)
    total = time.perf_counter() - t0
    assert log.dropped_evaluations == 0
    return loop, total


METRICS = [{"Name": m["Name"], "Unit": m["Unit"], "StorageResolution": m["StorageResolution"]}
           for m in fitwatch.schema()["Metrics"]]


def naive_event(e, t, v, best):
    return {
        "_aws": {"Timestamp": int(time.time() * 1000),
                 "CloudWatchMetrics": [{"Namespace": "FitWatch",
                                        "Dimensions": [["TrainingJobName"]],
                                        "Metrics": METRICS[:2] + METRICS[4:]}]},
        "TrainingJobName": "bench", "Epoch": e, "BestEpoch": e, "OverfittingReason": "",
        "TrainLoss": t, "ValidationLoss": v, "GeneralizationGap": v - t,
        "GeneralizationGapRatio": (v - t) / t, "GeneralizationLoss": 100 * (v - best) / best,
        "ValidationLossRiseStreak": 0, "EvaluationsSinceBest": 0, "BestValidationLoss": best,
        "OverfittingDetected": 0, "TrainingDiverged": 0,
    }


def run_naive(points, raw):
    """The same line fitwatch writes, built by hand (gap, GL and the other
    signals taken as already computed: only the line is measured), written
    line by line: sys.stdout.write + flush, or os.write(1) (raw)."""
    out = sys.stdout
    t0 = time.perf_counter()
    best = math.inf
    for e, t, v in points:
        best = min(best, v)
        line = json.dumps(naive_event(e, t, v, best), separators=(",", ":")) + "\n"
        if raw:
            os.write(1, line.encode())
        else:
            out.write(line)
            out.flush()
    loop = time.perf_counter() - t0
    return loop, loop


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    report = os.fdopen(os.dup(1), "w")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # every line, fitwatch's and the naive one, to /dev/null
    points = curve(n)
    results = {"stdout": [], "raw": [], "background": [], "synchronous": []}
    for _ in range(rounds):
        results["stdout"].append(run_naive(points, False))
        results["raw"].append(run_naive(points, True))
        results["background"].append(run_fitwatch(points, True))
        results["synchronous"].append(run_fitwatch(points, False))
    us = lambda seconds: 1e6 * seconds / n  # noqa: E731
    median = {k: (statistics.median(us(l) for l, _ in r), statistics.median(us(t) for _, t in r))
              for k, r in results.items()}
    naive = min(median["stdout"][0], median["raw"][0])  # the faster naive way is the baseline
    print("Python %s, %d evaluations x %d rounds, medians, stdout on /dev/null"
          % (sys.version.split()[0], n, rounds), file=report)
    print("| per evaluation | calling thread | until written | vs faster naive |", file=report)
    print("|---|---|---|---|", file=report)
    worst = 0.0
    for name, label in (("stdout", "naive: dict + json.dumps + sys.stdout.write + flush"),
                        ("raw", "naive: dict + json.dumps + os.write(1)"),
                        ("background", "Monitor.observe(), background writer (default)"),
                        ("synchronous", "Monitor.observe(), background_writer=False")):
        loop, total = median[name]
        if name in ("background", "synchronous"):
            worst = max(worst, loop / naive, total / naive)
        print("| %s | %.2f us | %.2f us | %.2f |" % (label, loop, total, loop / naive), file=report)
    verdict = "OK" if worst < 0.5 else "FAILED"
    print("target: fitwatch < 0.5 x naive in every column; worst ratio %.2f: %s" % (worst, verdict),
          file=report)
    report.flush()
    return 0 if worst < 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
