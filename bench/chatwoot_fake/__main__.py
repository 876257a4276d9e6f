"""`python -m frontdesk.bench.chatwoot_fake`: the fake Chatwoot for a person to try the
console against, logging each request it receives on one line, until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import sys

from frontdesk.bench.chatwoot_fake.seed import CUSTOMER_LINES
from frontdesk.bench.chatwoot_fake.server import FakeChatwoot

SETUP = """For the console, in its config.toml:
[desk]
kind = "chatwoot"
url = "{url}"
account_id = {account_id}
and the token in FRONTDESK_SECRET_CHATWOOT_API_ACCESS_TOKEN (or the keyring: chatwoot/api_access_token).
Each request received follows, one a line.
"""


async def _chatter(fake: FakeChatwoot, every: float, rng: random.Random) -> None:
    """A customer writes in a random open conversation every `every` seconds (0: never)."""
    while every > 0:
        await asyncio.sleep(every)
        open_ids = [c.id for c in fake.account.conversations.values() if c.status == "open"]
        if open_ids:
            await fake.customer_says(rng.choice(open_ids), rng.choice(CUSTOMER_LINES))


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeChatwoot(args.token, args.account_id, log=lambda line: print(line, flush=True))
    fake.seed(args.seed, args.messages, args.rng_seed)
    fake.deliver_after = args.deliver or None
    url = await fake.start(args.host, args.port)
    print(f"fake Chatwoot at {url} (account {args.account_id}, agent 1 Aiko Tanaka; Ctrl-C stops)")
    print(SETUP.format(url=url, account_id=args.account_id), flush=True)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    chatter = asyncio.ensure_future(_chatter(fake, args.chatter, random.Random(args.rng_seed)))
    try:
        await stopping.wait()
    finally:
        chatter.cancel()
        await fake.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m frontdesk.bench.chatwoot_fake")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3300)
    parser.add_argument("--token", default="fake-token", help="agent 1's api_access_token")
    parser.add_argument("--account-id", type=int, default=1)
    parser.add_argument("--seed", type=int, default=200, help="conversations to make up")
    parser.add_argument("--messages", type=int, default=4, help="messages in each, about")
    parser.add_argument("--rng-seed", type=int, default=0)
    parser.add_argument("--chatter", type=float, default=0.0, help="a customer writes every N s")
    parser.add_argument(
        "--deliver",
        type=float,
        default=2.0,
        help="replies delivered, then read, N s apart (0: never)",
    )
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
