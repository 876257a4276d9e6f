"""The cache's files are TinyDB databases: after a clean quit, TinyDB reads them read-only with Queries."""

from __future__ import annotations

import hashlib

from tinydb import Query, TinyDB

from conftest import small_workspace

from frontdesk.desk import Desk
from frontdesk.store import Store


def digest(root) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.json"))
    }


async def test_tinydb_reads_a_checkpointed_cache_with_queries(tmp_path):
    root = tmp_path / "data"
    ws = small_workspace()
    with Store.open(root) as store:
        await Desk(store, agent="Aiko").load_workspace(ws.contacts, ws.conversations, ws.messages)
    before = digest(root)

    Conv, Msg, Person = Query(), Query(), Query()
    with TinyDB(root / "conversations" / "0000.json", access_mode="r") as db:
        conversations = db.table("conversations")
        assert len(conversations) == 4
        mail = conversations.search(Conv.channel == "mail")
        assert sorted(doc.doc_id for doc in mail) == [2, 4]
        assert conversations.get(doc_id=2)["subject"] == "注文について"
        assert [doc.doc_id for doc in conversations.search(Conv.status == "resolved")] == [4]
    with TinyDB(root / "messages" / "2.json", access_mode="r") as db:
        messages = db.table("messages")
        outgoing = messages.search((Msg.direction == "out") & (Msg.delivery == "unconfirmed"))
        assert [m["body"] for m in outgoing] == ["追跡番号をお送りします。"]
        assert messages.count(Msg.conversation_id == 2) == 3
    with TinyDB(root / "contacts" / "0000.json", access_mode="r") as db:
        found = db.table("contacts").search(Person.emails.any(["mia@example.com"]))
        assert [c["name"] for c in found] == ["Mia Tanaka"]
    assert digest(root) == before  # read-only: TinyDB changed nothing
