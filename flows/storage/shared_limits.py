"""A vendor's rate limit kept across processes and machines, in the shared PostgreSQL database.

`relevo.connectors.http.CallWindow` keeps a vendor's published limit (`rate_limit: {calls, seconds}`) in
one process. With several workers (and a CLI layoff beside them) each process kept its own window:
20 runs on 2 workers sent Hootsuite 165 calls in 10 s against 100 allowed. `SharedCallWindow` has
the same two methods, `take` and `answered`, over a table of call slots in the database every
process already shares: a call holds a slot from when it is sent until `seconds` after its answer,
counted on the database's clock so machines whose clocks differ still agree.

It is used when the ledger's database is PostgreSQL (several workers imply it). On SQLite, one
machine's processes would serialise on the file's write lock for every vendor call; there the
in-process window stays.
"""

from __future__ import annotations

import threading
import uuid
import zlib

from sqlalchemy import Column, Engine, Float, String, Table, text

from relevo.storage.db import create_tables, metadata

# A call whose process died before its answer keeps its slot this long at most.
LOST_CALL_SECONDS = 300.0

slots = Table(
    "relevo_call_slots",
    metadata,
    Column("slot", String(36), primary_key=True),
    Column("bucket", String(200), nullable=False, index=True),
    Column("sent_at", Float, nullable=False),
    Column("answered_at", Float, nullable=True),
)

NOW = "extract(epoch from clock_timestamp())"


class SharedCallWindow:
    """At most `calls` requests in any `seconds` to one vendor account, for every process together."""

    def __init__(self, engine: Engine, bucket: str, calls: int, seconds: float) -> None:
        self.engine, self.bucket, self.calls, self.seconds = engine, bucket[:200], calls, seconds
        self._lock_key = zlib.crc32(self.bucket.encode())  # one advisory lock per bucket
        self._mine = threading.local()
        create_tables(engine)

    def take(self) -> float:
        """Claim a slot now (0.0), or say how many seconds until one may be free (nothing claimed)."""
        slot = str(uuid.uuid4())
        params = {
            "bucket": self.bucket,
            "seconds": self.seconds,
            "lost": LOST_CALL_SECONDS,
            "calls": self.calls,
            "slot": slot,
            "key": self._lock_key,
        }
        with self.engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), params)
            conn.execute(
                text(
                    f"DELETE FROM relevo_call_slots WHERE bucket = :bucket AND "
                    f"coalesce(answered_at, sent_at + :lost) <= {NOW} - :seconds"
                ),
                params,
            )
            used, oldest = conn.execute(
                text(
                    f"SELECT count(*), min(answered_at) + :seconds - {NOW} FROM relevo_call_slots "
                    "WHERE bucket = :bucket"
                ),
                params,
            ).one()
            if used < self.calls:
                conn.execute(
                    text(
                        f"INSERT INTO relevo_call_slots (slot, bucket, sent_at) "
                        f"VALUES (:slot, :bucket, {NOW})"
                    ),
                    params,
                )
                self._mine.slot = slot
                return 0.0
        return max(0.01, float(oldest)) if oldest is not None else 0.05

    def answered(self) -> None:
        """This thread's claimed call is over: its slot frees `seconds` from now."""
        slot = getattr(self._mine, "slot", None)
        if slot is None:
            return
        self._mine.slot = None
        with self.engine.begin() as conn:
            conn.execute(
                text(f"UPDATE relevo_call_slots SET answered_at = {NOW} WHERE slot = :slot"), {"slot": slot}
            )
