"""The chord benchmark's Celery side: a chord of N no-op tasks whose body counts them, on the Redis
broker and result backend (Celery's native Redis chord counting, no chord_unlock polling).

    python3 celery_chord_app.py <broker-url> <n> <runs>
Starts one worker (its default prefork pool, 2 processes), waits for it to answer a ping, then per
run prints "GO <run>" and waits for a line on stdin (the harness reads Redis's command counts), runs
the chord, prints {"ms": …} as JSON and waits for a line again. Stops the worker at the end.
"""
import json
import os
import subprocess
import sys
import time

from celery import Celery, chord

BROKER = os.environ.get('BENCH_BROKER', 'redis://127.0.0.1:6379/0')
app = Celery('celery_chord_app', broker=BROKER, backend=BROKER)
app.conf.task_default_queue = 'bench_chord'
app.conf.worker_hijack_root_logger = False
app.conf.result_expires = 600


@app.task(name='bench.noop')
def noop():
    return None


@app.task(name='bench.count')
def count(values):
    return len(values)


def main():
    broker, n, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    env = dict(os.environ, BENCH_BROKER=broker)
    worker = subprocess.Popen(
        [sys.executable, '-m', 'celery', '-A', 'celery_chord_app', 'worker', '-c', '2', '-Q', 'bench_chord',
         '--without-gossip', '--without-mingle', '--without-heartbeat', '-l', 'WARNING'],
        env=env, cwd=os.path.dirname(os.path.abspath(__file__)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not app.control.ping(timeout=0.5):
            if time.time() > deadline:
                raise SystemExit('celery worker did not answer ping within 60 s')
        for run in range(runs):
            print(f'GO {run}', flush=True)
            sys.stdin.readline()
            t0 = time.perf_counter()
            result = chord(noop.s() for _ in range(n))(count.s())
            value = result.get(timeout=600)
            ms = (time.perf_counter() - t0) * 1000
            if value != n:
                raise SystemExit(f'chord body counted {value}, expected {n}')
            print(json.dumps({'ms': ms}), flush=True)
            sys.stdin.readline()
    finally:
        worker.terminate()
        worker.wait(30)


if __name__ == '__main__':
    main()
