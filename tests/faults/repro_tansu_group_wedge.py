"""Reproduction (not a test; run it by hand): the bundled broker's consumer-group coordinator
(Tansu 0.6.0) wedges for good when a member leaves the group (a graceful close sends LeaveGroup)
while a rebalance is still pending, e.g. a service restarted twice within a few seconds after
a crash:

  A consumes, then dies (SIGKILL: no LeaveGroup; the broker expires it after the 6 s session)
  B starts, its JoinGroup waits for A to expire, and B is closed gracefully ~8 s later
  C starts: JoinGroup answers "Generation 2" again and again, every SyncGroup fails with
    REBALANCE_IN_PROGRESS, and C (and any later member, and the group's committed offsets)
    never consumes again until the broker restarts.

    .venv/bin/python tests/faults/repro_tansu_group_wedge.py            # C consumes 0 of 3 in 40 s
    .venv/bin/python tests/faults/repro_tansu_group_wedge.py --static   # group_instance_id: C consumes

With static membership (`group_instance_id`, KIP-345) kafka-python never sends LeaveGroup and a
restarted instance takes its own place, so the wedge does not happen. The services use the same
consumer settings as here (shared/consumer.py); the fault tests kill processes with SIGKILL, never
SIGTERM, around restarts for this reason.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kafka import KafkaConsumer, KafkaProducer  # noqa: E402
from kafka.structs import OffsetAndMetadata  # noqa: E402

from youfu.broker import start_broker, stop_process  # noqa: E402

STATIC = "--static" in sys.argv
SETTINGS = dict(group_id="vouchers", client_id="youfu-vouchers", enable_auto_commit=False, auto_offset_reset="earliest",
                session_timeout_ms=6000, heartbeat_interval_ms=1000, max_poll_records=200, fetch_max_wait_ms=25,
                request_timeout_ms=7000, reconnect_backoff_max_ms=1000,
                **({"group_instance_id": "vouchers-0"} if STATIC else {}))
MEMBER_A = f"""
import sys
from kafka import KafkaConsumer
from kafka.structs import OffsetAndMetadata
c = KafkaConsumer("youfu.orders", bootstrap_servers=sys.argv[1], **{SETTINGS!r})
while True:
    for tp, recs in c.poll(300).items():
        c.commit({{tp: OffsetAndMetadata(recs[-1].offset + 1, "", -1)}})
"""


def consume(consumer: KafkaConsumer, want: int, limit_s: float) -> int:
    got, deadline = 0, time.monotonic() + limit_s
    while got < want and time.monotonic() < deadline:
        for tp, records in consumer.poll(300).items():
            got += len(records)
            consumer.commit({tp: OffsetAndMetadata(records[-1].offset + 1, "", -1)})
    return got


def main() -> int:
    broker, bootstrap = start_broker()
    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        for i in range(5):
            producer.send("youfu.orders", key=str(i).encode(), value=b"a").get(10)
        a = subprocess.Popen([sys.executable, "-c", MEMBER_A, bootstrap])
        time.sleep(6)
        a.kill()
        a.wait()
        b = KafkaConsumer("youfu.orders", bootstrap_servers=bootstrap, **SETTINGS)
        consume(b, 1, 8)  # joining, waiting for A to expire
        b.close(autocommit=False)  # graceful: LeaveGroup while the rebalance is pending
        time.sleep(2)
        c = KafkaConsumer("youfu.orders", bootstrap_servers=bootstrap, **SETTINGS)
        for i in range(3):
            producer.send("youfu.orders", key=str(i).encode(), value=b"c").get(10)
        got = consume(c, 3, 40)
        c.close(autocommit=False)
        print(f"{'static' if STATIC else 'dynamic'} membership: C consumed {got} of 3 new records in 40 s"
              + ("" if got else "  ← the group is wedged"))
        return 0 if got else 1
    finally:
        stop_process(broker)


if __name__ == "__main__":
    raise SystemExit(main())
