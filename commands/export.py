"""`frontdesk export`: every conversation in the cache as JSON lines on stdout."""

from __future__ import annotations

import argparse
import sys

from frontdesk.desk_setup import chatwoot_refusal, data_dir, load_config
from frontdesk.errors import CliError, report_cache_problems


def cmd_export(args: argparse.Namespace) -> int:
    from frontdesk.store import Store
    from frontdesk.store.records import contact_to_record, conversation_to_record, message_to_record
    from frontdesk.store.storage import to_json

    refusal = chatwoot_refusal(load_config(args, check_theme=False), "export")
    if refusal is not None:
        raise CliError(refusal)

    store = Store.open(data_dir(args), readonly=True)
    out = sys.stdout
    for conv in sorted(store.conversations(), key=lambda c: c.id):
        snap = store.snapshot(conv.id)
        if snap is None:
            continue
        conv, contact, messages = snap
        line = {
            "conversation": {"id": conv.id, **conversation_to_record(conv)},
            "contact": {"id": contact.id, **contact_to_record(contact)} if contact else None,
            "messages": [{"id": m.id, **message_to_record(m)} for m in messages],
        }
        out.write(to_json(line) + "\n")
    out.flush()
    return report_cache_problems(store)
