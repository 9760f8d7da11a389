"""Celery 5 peer of the benchmark (scenario 8), started by Tasks.Benchmarks (Scenarios/CeleryPeer.cs).

The worker:   BENCH_CELERY_BROKER=amqp://... BENCH_CELERY_BACKEND=db+postgresql://... \
              python3 -m celery -A bench_celery worker --pool=prefork --concurrency=N -Q bench
One run:      python3 bench_celery.py run TASKS PRODUCERS
              sends TASKS no-op tasks from PRODUCERS processes at once, waits until every result is stored, and
              prints {"tasks": n, "seconds": s, "tasksPerSecond": r}: first send to the last stored result.
"""
import json
import multiprocessing
import os
import sys
import time
from datetime import datetime, timezone

from celery import Celery

app = Celery("bench_celery", broker=os.environ["BENCH_CELERY_BROKER"], backend=os.environ["BENCH_CELERY_BACKEND"])
app.conf.update(
    task_acks_late=True,  # acknowledged after the task ran, as ours are after the outcome is committed
    task_default_queue="bench",
    task_serializer="json",
    result_serializer="json",
    broker_transport_options={"confirm_publish": True},  # a send returns once the broker has the message, as ours
    result_expires=None,  # no periodic cleanup task in the middle of a run
    worker_hijack_root_logger=False,
)


@app.task(name="bench.noop")
def noop():
    return None


def _produce(count):
    for _ in range(count):
        noop.apply_async()


def _stored(session_factory):
    from sqlalchemy import text
    with session_factory() as s:
        row = s.execute(text("SELECT count(*), max(date_done) FROM celery_taskmeta WHERE status = 'SUCCESS'")).one()
        return row[0], row[1]


def run(tasks, producers):
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import sessionmaker
    app.backend.ResultSession().close()  # creates the backend's tables when missing
    engine = create_engine(os.environ["BENCH_CELERY_BACKEND"][len("db+"):])
    with engine.begin() as c:
        c.execute(text("DELETE FROM celery_taskmeta"))
    session_factory = sessionmaker(bind=engine)
    shares = [tasks // producers + (1 if i < tasks % producers else 0) for i in range(producers)]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(producers) as pool:
        first = datetime.now(timezone.utc).replace(tzinfo=None)  # Celery stores date_done as naive UTC
        pool.map(_produce, shares, chunksize=1)
    deadline = time.monotonic() + 600
    while True:
        done, last = _stored(session_factory)
        if done >= tasks:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"Celery stored {done} of {tasks} results")
        time.sleep(0.05)
    seconds = (last - first).total_seconds()
    print(json.dumps({"tasks": tasks, "seconds": seconds, "tasksPerSecond": tasks / seconds}))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "run":
        run(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit(__doc__)
