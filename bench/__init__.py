"""`frontdesk bench`: the console's speed at a given cache size, each figure beside a same-run baseline.

Every measurement runs against a synthetic cache made by the demo generator (one extra
conversation holds a long thread) and is paired with a baseline measured in the same run,
so the ratio holds on a noisy machine:

- cold start: a real `frontdesk` console process on a pseudo-terminal, from spawn to the
  first frame that shows the conversation list, with the large cache vs an empty one;
  the peak RSS of that process (also after a search built its index) is the memory figure;
- keypress latency: key event to the end of the next frame, moving in the list (within
  the page, and where each move scrolls the list) and paging the long thread, vs a bare
  Textual app of the same size whose key handler repaints one line. Both apps run under
  the same probe driver, which receives each frame as the bytes a terminal would (Textual
  renders them), so that work is counted too. The same keys as Pilot presses; a held-down
  key (presses on a key-repeat schedule, not waiting for the screen); and, for reference,
  the bare app's ScrollView scrolled one line a key;
- live arrival: an inbound message handed to `desk.ingest` until a frame shows it, at two
  rates;
- ingest: messages persisted per second in batches, and one single write into a cache of
  100 conversations vs one of N;
- search: `Desk.search` over the large cache (the first search builds the index);
- email: the first sync of a mailbox of N plain mails from a private Dovecot on loopback
  (written into its Maildir before it starts), headless and in a console process: how long
  until the first conversation is stored / drawn, and until all are stored. Needs the
  `dovecot` binary and the source checkout's tests/email_servers.py; skipped with a note
  otherwise.

The functions take sizes, so tests run them small; `plan.main` prints a table or JSON.
One module per figure family: `cache` (the synthetic cache, ingest), `startup` (cold start,
memory), `frames` (the probe keys and live share), `keys`, `live`, `search`, `mail`,
`webhooks` (signed webhook bursts at the receiver, sent by `webhook_sender`), `report`
(figures, table, JSON) and `plan` (the whole run). The apps come from `frontdesk.launch`
and the collector settings from `frontdesk.runtime`, as the CLI's; the bench never imports
the CLI. Only the standard library is imported at module level; the
rest is imported where it is used.
"""
