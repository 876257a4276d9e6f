"""A fake Chatwoot on loopback: the Application API's routes and the ActionCable `/cable`
websocket in one aiohttp app, recording each request, with controls for the bad days
(revoked token, 429, 5xx, a request left unanswered, sockets dropped).

Run it for a person to try the console against: `python -m frontdesk.bench.chatwoot_fake
--port 3300 --token T --seed 200` prints the URL and logs each request on one line.
"""

from frontdesk.bench.chatwoot_fake.server import FakeChatwoot, Recorded

__all__ = ["FakeChatwoot", "Recorded"]
