"""A desk under ingest and reply load, meant to be killed with SIGKILL by tests/system/test_crash.py.

Usage: python crash_worker.py DATA_DIR CHANNEL_LOG ACK_LOG SEED

The simulated channel numbers its messages m1, m2, … and resumes after the committed
cursor; its `send` appends each request to CHANNEL_LOG (what the customer would
receive) before answering. Every reply the desk accepted is appended to ACK_LOG once
`desk.reply` returned — the agent saw it accepted, so it is owed. The journal size that
triggers a checkpoint is drawn from the seed, mostly small, so kills also land in the
middle of checkpoints.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from datetime import datetime, timezone

from frontdesk.backends.base import Backend, TransientError
from frontdesk.desk import Desk
from frontdesk.model import ContactRef, Inbound, SendResult
from frontdesk.store import Store
from frontdesk.store import checkpoints as checkpoints_module

THREADS = 40


def append_durably(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


class SimulatedChannel(Backend):
    kind = "sms"

    def __init__(self, name, channel_log, rng, cursor):
        super().__init__(name, cursor=cursor)
        self.channel_log = channel_log
        self.rng = rng

    async def run(self, sink):
        n = int(self.cursor or 0)
        while True:
            size = self.rng.randint(1, 25)
            events = []
            for _ in range(size):
                n += 1
                thread = f"+8190{n % THREADS:04d}"
                events.append(
                    Inbound(
                        f"m{n}",
                        thread,
                        ContactRef(thread, f"customer {n % THREADS}"),
                        f"message {n}",
                        created_at=datetime.now(timezone.utc),
                    )
                )
            await sink.ingest(self.name, events, cursor=str(n))
            await asyncio.sleep(self.rng.uniform(0, 0.01))

    async def send(self, outgoing):
        if self.rng.random() < 0.1:
            raise TransientError("simulated 503")
        append_durably(self.channel_log, str(outgoing.message_id))
        await asyncio.sleep(self.rng.uniform(0, 0.005))
        return SendResult(f"s{outgoing.message_id}")


async def agent(desk: Desk, ack_log: str, rng: random.Random) -> None:
    while True:
        conversations = await desk.conversations()
        if conversations:
            conv = rng.choice(conversations)
            message = await desk.reply(conv.id, f"reply {rng.random():.6f}")
            append_durably(ack_log, f"{conv.id} {message.id}")
            if rng.random() < 0.3:
                await desk.note(conv.id, "internal note")
        await asyncio.sleep(rng.uniform(0, 0.01))


async def main(data_dir: str, channel_log: str, ack_log: str, seed: int) -> None:
    rng = random.Random(seed)
    # most runs checkpoint often, so that kills land in checkpoints too, not only in commits
    checkpoints_module.CHECKPOINT_BYTES = rng.choice(
        [2_000, 20_000, 200_000, checkpoints_module.CHECKPOINT_BYTES]
    )
    with Store.open(data_dir) as store:
        channel = SimulatedChannel("sim", channel_log, rng, store.cursor("sim"))
        desk = Desk(store, {"sim": channel}, agent="crash")
        await desk.start()
        print("ready", flush=True)
        await agent(desk, ack_log, rng)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
