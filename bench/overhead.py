#!/usr/bin/env python3
"""What fitwatch costs a real training loop: the Fashion-MNIST example with
fitwatch logging the training loss of every step (--log-steps: a .item()
and a flushed EMF line per step) against the same run logging only its
per-epoch line; wall time, median of RUNS alternated runs, output to
/dev/null. Target: within 1 %.

usage: overhead.py EXAMPLE_BINARY [RUNS]
"""
import statistics
import subprocess
import sys
import time


def timed(args):
    start = time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main():
    example = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    base = [example, "--preset", "overfit", "--no-stop", "--epochs", "15", "--threads", "2"]
    plain, steps = [], []
    for _ in range(runs):
        plain.append(timed(base))
        steps.append(timed(base + ["--log-steps"]))
    p, s = statistics.median(plain), statistics.median(steps)
    lines = 15 * 32  # 2000 examples / batch 64 = 32 steps per epoch
    print("training overhead (Fashion-MNIST overfit preset, 15 epochs, %d steps, median of %d):" % (lines, runs))
    print("  epoch lines only %.3f s, plus a line every step %.3f s: ratio %.4f (%+.2f %%; target within 1 %%)"
          % (p, s, s / p, 100 * (s / p - 1)))


if __name__ == "__main__":
    main()
