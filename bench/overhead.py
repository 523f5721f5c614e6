#!/usr/bin/env python3
"""What fitwatch costs a real training loop: the Fashion-MNIST example with
fitwatch logging the training loss of every step (--log-steps: a .item()
and a flushed EMF line per step) against the same run logging only its
per-epoch line; wall time, median of RUNS alternated runs, output to
/dev/null. Target: within 1 %.

usage: overhead.py EXAMPLE_BINARY [RUNS]
"""
import re
import statistics
import subprocess
import sys
import time


def timed(args):
    start = time.perf_counter()
    r = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    elapsed = time.perf_counter() - start
    share = re.search(r"([0-9.]+) ms in per-step logging \(([0-9.]+) %\)", r.stderr)
    return elapsed, float(share.group(1)), float(share.group(2))


def main():
    example = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    base = [example, "--preset", "overfit", "--no-stop", "--epochs", "15", "--threads", "2"]
    plain, steps = [], []
    for _ in range(runs):
        plain.append(timed(base))
        steps.append(timed(base + ["--log-steps"]))
    p = statistics.median(x[0] for x in plain)
    s = statistics.median(x[0] for x in steps)
    p_min = min(x[0] for x in plain)
    s_min = min(x[0] for x in steps)
    spread = max(x[0] for x in plain) / p_min - 1
    ms = statistics.median(x[1] for x in steps)
    share = statistics.median(x[2] for x in steps)
    lines = 15 * 32  # 2000 examples / batch 64 = 32 steps per epoch
    print("training overhead (Fashion-MNIST overfit preset, 15 epochs, %d steps, median of %d):" % (lines, runs))
    print("  wall time: epoch lines only %.3f s, plus a line every step %.3f s: ratio %.4f (%+.2f %%; "
          "target within 1 %%; this machine's run-to-run noise is several %%)" % (p, s, s / p, 100 * (s / p - 1)))
    print("  fastest of each: %.3f s and %.3f s: ratio %.4f (%+.2f %%); the epoch-lines-only runs alone "
          "spread by %.1f %% (slowest / fastest), the noise any wall-time ratio here carries"
          % (p_min, s_min, s_min / p_min, 100 * (s_min / p_min - 1), 100 * spread))
    print("  measured inside the run: %.3f ms of the training thread in per-step logging (%.4f %% of it), "
          ".item() included" % (ms, share))


if __name__ == "__main__":
    main()
