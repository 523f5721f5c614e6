"""Fork safety (issue 25, H1 and M8): a process that uses fitwatch and then
forks (multiprocessing with fork or spawn, DataLoader workers) keeps
training. A SIGTERM sent to a child ends the child, never the parent; a child
that logs through the parent's logger writes its own lines, once."""
import json
import signal

import pytest

from conftest import child_env, run_python

# multiprocessing.Pool's __exit__ sends SIGTERM to its workers. Before the
# fix, each forked worker's inherited SIGTERM handler woke the parent's
# watcher, which ended the parent with 143 and nothing printed.
POOL = r"""
import multiprocessing as mp, sys, time, fitwatch
mp.set_start_method(sys.argv[1])
m = fitwatch.Monitor(job_name="j")
m.observe(1, .5, .6)
with mp.Pool(2) as p:
    print("pool", sum(p.map(abs, [-1, -2, -3])), flush=True)
    p.map_async(time.sleep, [5, 5])
    time.sleep(0.5)  # the workers are busy (alive) when __exit__ terminates them
time.sleep(0.5)  # time for a wrongly woken SIGTERM watcher to end this process
m.observe(2, .4, .7)
print("training continues", flush=True)
m.logger.close()
"""


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_pool_exit_does_not_end_the_training(method):
    r = run_python(POOL, method, timeout=120)
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert "pool 6" in r.stdout
    assert "training continues" in r.stdout
    epochs = [json.loads(l)["Epoch"] for l in r.stdout.splitlines() if l.startswith("{")]
    assert epochs == [1, 2]


# A child that sleeps; the parent sends it SIGTERM.
KILL_CHILD = r"""
import os, signal, sys, time, fitwatch
m = fitwatch.Monitor(job_name="j")
m.observe(1, .5, .6)
pid = os.fork()
if pid == 0:
    time.sleep(10)
    os._exit(0)  # lived on despite SIGTERM
time.sleep(0.2)
os.kill(pid, signal.SIGTERM)
_, status = os.waitpid(pid, 0)
time.sleep(0.5)  # time for a wrongly woken watcher to end this process
print("child", os.WTERMSIG(status) if os.WIFSIGNALED(status) else "exit %d" % os.WEXITSTATUS(status))
m.logger.close()
"""


def test_sigterm_to_a_forked_child_ends_the_child_only():
    r = run_python(KILL_CHILD, timeout=60)
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert "child %d" % signal.SIGTERM in r.stdout


# A forked child observing through the parent's monitor. Before the fix its
# lines were lost and close() waited 5 s, returned False and blamed the reader.
CHILD_LOGS = r"""
import os, sys, fitwatch
m = fitwatch.Monitor(job_name="j")
for e in range(1, 201):
    m.observe(e, 1.0 / e, 1.0 / e, who="parent")
pid = os.fork()
if pid == 0:
    for e in range(1001, 1004):
        m.observe(e, .5, .5, who="child")
    ok = m.logger.close()
    sys.stdout.flush()
    os._exit(0 if ok else 7)
_, status = os.waitpid(pid, 0)
m.observe(201, .1, .1, who="parent")
assert m.logger.close()
sys.exit(os.WEXITSTATUS(status))
"""


def test_a_forked_child_logs_its_own_lines_once():
    r = run_python(CHILD_LOGS, timeout=60)
    assert r.returncode == 0, (r.returncode, r.stderr)
    events = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    child = sorted(e["Epoch"] for e in events if e["who"] == "child")
    parent = sorted(e["Epoch"] for e in events if e["who"] == "parent")
    assert child == [1001, 1002, 1003]
    assert parent == list(range(1, 202))  # each once: the child never writes the parent's queue
    assert "stalled" not in r.stderr


# DataLoader workers are forked processes (num_workers > 0); the workers end
# when the loader is exhausted or deleted.
LOADER = r"""
import fitwatch, torch
from torch.utils.data import DataLoader, TensorDataset
m = fitwatch.Monitor(job_name="j")
data = TensorDataset(torch.arange(64, dtype=torch.float32))
for epoch in (1, 2):
    total = sum(float(b[0].sum()) for b in DataLoader(data, batch_size=8, num_workers=2))
    m.observe(epoch, 1.0 / epoch, 1.0 / epoch)
    print("epoch", epoch, total, flush=True)
assert m.logger.close()
"""


def test_dataloader_workers_keep_the_training_going():
    pytest.importorskip("torch")
    r = run_python(LOADER, timeout=300)
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert "epoch 2 2016.0" in r.stdout
    epochs = [json.loads(l)["Epoch"] for l in r.stdout.splitlines() if l.startswith("{")]
    assert epochs == [1, 2]
