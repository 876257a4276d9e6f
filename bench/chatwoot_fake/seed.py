"""The fake Chatwoot's people and history: the account's agents, teams, inboxes, labels and
canned replies, and `seed` for contacts and conversations that read like a support queue."""

from __future__ import annotations

import random
import struct
import zlib

from frontdesk.bench.chatwoot_fake.account import Account
from frontdesk.bench.chatwoot_fake.records import INCOMING, OUTGOING, Contact, Conversation, Inbox

AGENTS = (
    ("Aiko Tanaka", "aiko@example.com", "administrator", "online"),
    ("Ben Okafor", "ben@example.com", "agent", "busy"),
    ("Carla Mendes", "carla@example.com", "agent", "online"),
    ("Dmitri Volkov", "dmitri@example.com", "agent", "offline"),
    ("Emma Schulz", "emma@example.com", "agent", "online"),
)
TEAMS = (("Billing", (1, 3), "Invoices, refunds, plans"), ("Technical", (2, 4, 5), "Bugs, setup"))
INBOXES = (
    ("WhatsApp Support", "Channel::Whatsapp"),
    ("Support Email", "Channel::Email"),
    ("Facebook Page", "Channel::FacebookPage"),
    ("LINE Official", "Channel::Line"),
    ("Telegram Bot", "Channel::Telegram"),
    ("Website API", "Channel::Api"),
)
LABELS = (
    ("billing", "#f5a623"),
    ("bug", "#d0021b"),
    ("refund", "#7ed321"),
    ("vip", "#9013fe"),
    ("shipping", "#4a90e2"),
    ("feedback", "#50e3c2"),
)
CANNED = (
    ("hi", "Hi {{contact.name}}, thanks for reaching out! How can I help?"),
    ("refund", "I've started your refund; it shows on your statement within 5 business days."),
    ("ship", "Your order is on its way; here is the tracking link: {{tracking}}"),
    ("thanks", "Thanks for your patience, have a great day!"),
)
FIRST = (
    "Yuki Sato Haruto Ito Mei Kobayashi Liam Smith Olivia Brown Noah Jones Sofia Rossi Lucas "
    "Müller Chloé Martin Mateo García Ana Silva Ivan Petrov Zara Khan Amara Nwosu Chen Wei Priya "
    "Sharma Omar Haddad Elif Yılmaz Nora Lindqvist Tomás López"
).split()
LAST = "Sato Ito Kobayashi Smith Brown Jones Rossi Müller Martin García Silva Petrov Khan".split()
CUSTOMER_LINES = (
    "Hi, my order hasn't arrived yet. Can you check?",
    "I was charged twice this month.",
    "How do I change the email on my account?",
    "The app crashes when I open the settings page.",
    "Can I get a refund for the last invoice?",
    "Where is my package? Tracking says delivered but nothing here.",
    "Is there a discount for annual plans?",
    "I can't log in, the reset link expired.",
    "Thanks, that worked!",
    "Any update on this?",
    "注文した商品がまだ届いていません。",
    "¿Pueden ayudarme con mi factura?",
    "Bonjour, je voudrais annuler mon abonnement.",
)
AGENT_LINES = (
    "Thanks for reaching out! Let me look into this for you.",
    "I've checked your account and fixed the duplicate charge.",
    "Could you send me your order number?",
    "I've escalated this to our technical team.",
    "Your refund is on its way.",
    "Is there anything else I can help with?",
)
NOTES = (
    "Customer is on the legacy plan, check with billing first.",
    "Possible duplicate of the crash report from last week.",
    "VIP: reply within the hour.",
)
STATUS_WEIGHTS = (("open", 55), ("resolved", 30), ("pending", 8), ("snoozed", 7))
PRIORITY_WEIGHTS = ((None, 60), ("low", 10), ("medium", 15), ("high", 10), ("urgent", 5))
DAYS = 14
"""The history spans this many days before now."""
PHOTO_SHARE = 0.05
"""Of customers' messages, how many carry a photo."""


def _png(width: int = 1, height: int = 1) -> bytes:
    """A valid white PNG: what a customer's photo downloads as."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PHOTO = _png()


def setup_account(account: Account) -> None:
    """The agents (agent 1 is the profile), teams, inboxes, labels and canned replies."""
    for name, email, role, status in AGENTS:
        account.add_agent(name, email, role, status)
    for name, members, description in TEAMS:
        account.add_team(name, members, description)
    for name, channel_type in INBOXES:
        account.add_inbox(name, channel_type)
    for title, color in LABELS:
        account.add_label(title, color)
    for short_code, content in CANNED:
        account.add_canned(short_code, content)


def _contact_fields(rng: random.Random, n: int) -> dict:
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    slug = name.lower().replace(" ", ".")
    return {
        "name": name,
        "email": f"{slug}{n}@example.net",
        "phone_number": f"+81 90{rng.randrange(10**8):08d}".replace(" ", ""),
        "custom_attributes": {"plan": rng.choice(("free", "pro", "business"))},
        "additional_attributes": {
            "city": rng.choice(("Tokyo", "Osaka", "Lisbon", "Berlin", "Lagos", "Austin")),
            "company_name": rng.choice(("", "Acme", "Globex", "Initech")),
        },
    }


def _source_id(rng: random.Random, inbox: Inbox, contact: Contact) -> str:
    """What the channel calls the contact (ContactInbox#source_id)."""
    kind = inbox.channel_type
    if kind == "Channel::Whatsapp":
        return (contact.phone_number or "").lstrip("+")
    if kind == "Channel::Email":
        return contact.email or ""
    if kind == "Channel::Line":
        return "U" + "".join(rng.choice("0123456789abcdef") for _ in range(32))
    return str(rng.randrange(10**9, 10**10))


def seed(account: Account, n: int, messages: int = 4, rng_seed: int = 0) -> None:
    """Add `n` conversations with about `messages` messages each, over the last DAYS days."""
    rng = random.Random(rng_seed)
    now = account.now()
    contacts = [account.add_contact(**_contact_fields(rng, i)) for i in range(max(1, n * 3 // 4))]
    for contact in rng.sample(contacts, len(contacts) // 10):
        account.notes_by(contact, 1 + rng.randrange(len(account.agents)), rng.choice(NOTES))
    starts = sorted(now - rng.randrange(DAYS * 86400) for _ in range(n))
    inboxes = list(account.inboxes.values())
    agent_ids = list(account.agents)
    team_ids = list(account.teams)
    statuses, status_w = zip(*STATUS_WEIGHTS)
    priorities, priority_w = zip(*PRIORITY_WEIGHTS)
    for start in starts:
        inbox, contact = rng.choice(inboxes), rng.choice(contacts)
        assignee = rng.choice((None, None, 1, *agent_ids))
        conv = account.add_conversation(
            inbox.id,
            contact.id,
            at=start,
            status=rng.choices(statuses, status_w)[0],
            priority=rng.choices(priorities, priority_w)[0],
            assignee_id=assignee,
            team_id=rng.choice((None, *team_ids)),
            labels=rng.sample(list(account.labels), rng.choice((0, 0, 1, 2))),
            source_id=_source_id(rng, inbox, contact),
            additional_attributes=_conversation_attributes(rng, inbox),
        )
        _seed_thread(account, rng, conv, max(1, messages + rng.randint(-1, 1)), now)


def _conversation_attributes(rng: random.Random, inbox: Inbox) -> dict:
    if inbox.channel_type == "Channel::Email":
        return {"mail_subject": rng.choice(("Order problem", "Invoice question", "Help!"))}
    return {}


def _seed_thread(account: Account, rng: random.Random, conv: Conversation, k: int, now: int):
    at = conv.created_at
    for i in range(k):
        at = min(now, at + rng.randrange(30, 3 * 3600))
        if i % 2 == 0:
            msg = account.add_message(
                conv,
                rng.choice(CUSTOMER_LINES),
                INCOMING,
                created_at=at,
                sender_type="Contact",
                sender_id=conv.contact_id,
                source_id=f"src-{rng.randrange(10**12)}",
            )
            if rng.random() < PHOTO_SHARE:
                account.attach(msg, "photo.png", PHOTO)
            conv.waiting_since = conv.waiting_since or at
            continue
        private = rng.random() < 0.1
        account.add_message(
            conv,
            rng.choice(NOTES if private else AGENT_LINES),
            OUTGOING,
            created_at=at,
            private=private,
            sender_type="User",
            sender_id=conv.assignee_id or 1,
            status="sent" if private else rng.choice(("delivered", "read")),
        )
        if not private:
            conv.first_reply_created_at = conv.first_reply_created_at or at
            conv.waiting_since = None
    if conv.status == "snoozed":
        conv.snoozed_until = now + rng.randrange(3600, 48 * 3600)
    if conv.status == "resolved":
        conv.waiting_since = None
    if rng.random() < 0.6:
        conv.agent_last_seen_at = conv.last_activity_at
    conv.updated_at = float(conv.last_activity_at)
