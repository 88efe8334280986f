"""The beat benchmark's Celery side: 100 entries (BENCH_BEAT_ENTRIES) sending a no-op every second, and a
scheduler that records, for each send, how late it is against the entry's due time (last run + interval):
RPUSH bench:celery-beat:lag <ms>.

    python3 -m celery -A celery_beat_app beat -S celery_beat_app:LagScheduler -s <file>
"""
import os
import time

import redis
from celery import Celery
from celery.beat import PersistentScheduler

BROKER = os.environ['BENCH_BROKER']
N = int(os.environ.get('BENCH_BEAT_ENTRIES', '100'))
app = Celery('celery_beat_app', broker=BROKER)
app.conf.beat_schedule = {'e%d' % i: {'task': 'bench.noop', 'schedule': 1.0, 'options': {'queue': 'bench-celery-beat'}} for i in range(N)}
app.conf.beat_max_loop_interval = 1
_r = redis.Redis.from_url(BROKER)


@app.task(name='bench.noop')
def noop():
    return None


class LagScheduler(PersistentScheduler):
    def apply_entry(self, entry, producer=None):
        # Due when the interval after the last run ends; the first run of an entry has no due time.
        due = entry.last_run_at.timestamp() + entry.schedule.run_every.total_seconds() if entry.total_run_count else None
        result = super().apply_entry(entry, producer=producer)
        if due is not None:
            _r.rpush('bench:celery-beat:lag', (time.time() - due) * 1000)  # after the message was sent
        return result
