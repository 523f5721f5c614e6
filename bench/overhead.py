#!/usr/bin/env python3
"""What fitwatch costs a real training loop: the Fashion-MNIST example with
fitwatch doing everything it can (the per-epoch monitor: detector, EMF line,
best-weight copy; plus the training loss of every step: a .item(), a put and
a flushed EMF line per step, --log-steps) against the same training handing
nothing to fitwatch (--no-fitwatch). Target: wall time within 1 %.

Each round runs: without, with, without again. The second "without" is a
control: its ratio to the first is what noise alone does to a ratio here.
Also printed: minor page faults (a count, far less noisy than time) and the
time spent inside fitwatch calls, measured by the example itself.

One libtorch thread: on 2 shared cores, two intra-op threads plus OpenBLAS's
own make run-to-run noise of tens of percent (measured: 41 % spread).

usage: overhead.py EXAMPLE_BINARY [ROUNDS]
"""
import os
import re
import statistics
import subprocess
import sys
import time


def timed(args):
    start = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        sys.exit("%s failed:\n%s" % (" ".join(args), err))
    m = re.search(r"training took ([0-9.]+) s; fitwatch: ([0-9.]+) ms in per-epoch observe\(\).*?, "
                  r"([0-9.]+) ms in per-step logging", err)
    inside_ms = float(m.group(2)) + float(m.group(3))
    return {"wall": elapsed, "faults": usage.ru_minflt, "inside_ms": inside_ms,
            "share": 100 * inside_ms / 1000 / float(m.group(1))}


def median(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    example = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    base = [example, "--preset", "overfit", "--no-stop", "--epochs", "15", "--threads", "1"]
    without, with_fw, control = [], [], []
    for _ in range(rounds):
        without.append(timed(base + ["--no-fitwatch"]))
        with_fw.append(timed(base + ["--log-steps"]))
        control.append(timed(base + ["--no-fitwatch"]))
    a, b, c = median(without, "wall"), median(with_fw, "wall"), median(control, "wall")
    print("training overhead (Fashion-MNIST overfit preset, 15 epochs, 480 steps, one libtorch thread, "
          "median of %d rounds):" % rounds)
    print("  wall time: without fitwatch %.3f s, with fitwatch (every epoch and every step) %.3f s: "
          "ratio %.4f (%+.2f %%; target within 1 %%)" % (a, b, b / a, 100 * (b / a - 1)))
    print("  noise: the same run without fitwatch, repeated: ratio %.4f (%+.2f %%)" % (c / a, 100 * (c / a - 1)))
    fa, fb = median(without, "faults"), median(with_fw, "faults")
    print("  minor page faults: %d without, %d with (%+.2f %%)" % (fa, fb, 100 * (fb / fa - 1)))
    print("  measured inside the run: %.3f ms of the training thread in fitwatch calls (%.4f %% of it), "
          ".item() and best-weight copies included" % (median(with_fw, "inside_ms"), median(with_fw, "share")))


if __name__ == "__main__":
    main()
