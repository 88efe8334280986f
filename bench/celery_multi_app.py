"""The multi benchmark's Celery side: the same four-node layout and sleeping task as bench/multi-app.mjs,
and the measurement itself (one Python process, so Python's start-up is not counted per probe).

    python3 celery_multi_app.py <broker-url> <dir>   → prints {"startMs": …, "stopLagMs": …} as JSON
"""
import json
import os
import subprocess
import sys
import time

import redis
from celery import Celery

BROKER = os.environ.get('BENCH_BROKER', 'redis://127.0.0.1:6379/3')
app = Celery('celery_multi_app', broker=BROKER)
app.conf.task_routes = {'bench.sleep': {'queue': 'q_schedule'}}
app.conf.worker_hijack_root_logger = False
NODES = ['capture', 'analyze', 'download', 'schedule']


@app.task(name='bench.sleep')
def bench_sleep(ms, key):
    r = redis.Redis.from_url(BROKER)
    r.set(key + ':start', int(time.time() * 1000))
    time.sleep(ms / 1000)
    r.set(key + ':end', int(time.time() * 1000))
    return 'ok'


def multi(command, directory, extra=()):
    line = [sys.executable, '-m', 'celery', '-A', 'celery_multi_app', 'multi', command, *NODES,
            '-c:1', '1', '-c:2', '2', '-c:3', '4', '-c:4', '1',
            '-Q:1', 'q_pcap', '-Q:2', 'q_analyze', '-Q:3', 'q_download', '-Q:4', 'q_schedule',
            '--pidfile=%s/%%n.pid' % directory, '--logfile=%s/%%n%%I.log' % directory, *extra]
    env = dict(os.environ, BENCH_BROKER=BROKER, PYTHONPATH=os.path.dirname(os.path.abspath(__file__)))
    subprocess.run(line, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


def measure(directory):
    r = redis.Redis.from_url(BROKER)
    t0 = time.time()
    multi('start', directory)
    deadline = t0 + 60
    while len(app.control.ping(timeout=0.1) or []) < len(NODES):
        if time.time() > deadline:
            raise SystemExit('celery nodes did not all answer ping within 60 s')
    start_ms = (time.time() - t0) * 1000
    key = 'bench:celery:%d' % int(t0 * 1000)
    bench_sleep.delay(1000, key)
    while not r.get(key + ':start'):
        if time.time() > deadline + 60:
            raise SystemExit('the task did not start')
        time.sleep(0.005)
    multi('stopwait', directory)
    returned = time.time() * 1000
    end = int(r.get(key + ':end') or 0)
    return {'startMs': start_ms, 'stopLagMs': returned - end if end else None}


if __name__ == '__main__':
    BROKER = sys.argv[1]
    app.conf.broker_url = BROKER
    print(json.dumps(measure(sys.argv[2])))
