"""The demo backend: a seeded, simulated support workspace with live customers and no network.

Two parts:

- `generate_workspace(seed, …)` builds a deterministic world of contacts, conversations and
  messages (English and Japanese customers on email, WhatsApp, Messenger, SMS, Telegram
  and LINE). It is pure: same seed and same `now` give identical objects, and `now` only
  shifts timestamps (every random draw is independent of it).
- `DemoBackend` simulates one channel kind of that world: customers of its open/pending
  conversations write now and then (`run`), and replies get receipts and an answer
  (`send`).

How the desk matches live events to the seeded history: the workspace sets
`conversation.channel` to the channel *kind* ("whatsapp"), so a demo channel instance must
be named after its kind (see `demo_channels`). Inbound events carry the conversation's
`thread_key` (the address for chat channels, a Message-ID-like root for email) and the
contact's address on that channel, both unique per channel in the generated world.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import unicodedata
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from frontdesk.backends.base import (
    Backend,
    ConfigError,
    PermanentError,
    SecretSource,
    Sink,
    WindowRule,
    integer,
    number,
    setting_problem,
)
from frontdesk.model import (
    Attachment,
    ChannelStatus,
    Contact,
    ContactRef,
    Conversation,
    Delivery,
    DeliveryUpdate,
    Direction,
    EventKind,
    Identity,
    Inbound,
    Message,
    MessageKind,
    Outgoing,
    Priority,
    SendResult,
    Status,
    Typing,
    utcnow,
)

log = logging.getLogger(__name__)

KINDS: tuple[str, ...] = ("email", "whatsapp", "messenger", "sms", "telegram", "line")
#: kinds whose channel only accepts free replies for 24 h after the customer's last message
WINDOW_KINDS = frozenset({"whatsapp", "messenger", "line"})
#: kinds that report when the customer read a message
READ_RECEIPT_KINDS = frozenset({"whatsapp", "messenger", "telegram", "line"})
WINDOW = timedelta(hours=24)
PREVIEW_CHARS = 200  # as the desk cuts previews
HISTORY_DAYS = 14
_DAY = 86_400.0
#: the fixed clock the backend uses to regenerate its world: live behaviour never depends on it
_EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)


WINDOW_RULES: dict[str, WindowRule] = {
    "whatsapp": WindowRule(
        WINDOW, "template required",
        "only an approved message template can go out now (WhatsApp Manager), "
        "or wait for the customer to write again",
    ),
    "messenger": WindowRule(
        WINDOW, "the customer must write first",
        "Messenger takes nothing 7 days after the customer's last message; wait for them to write "
        "again, or reach them on another channel",
        tag="HUMAN_AGENT", tag_span=timedelta(days=7),
    ),
    "line": WindowRule(
        WINDOW, "the customer must write first",
        "wait for the customer to write again, or reach them on another channel",
    ),
}
"""The messaging-window rule of each simulated kind that has one."""


def window_for(kind: str) -> timedelta | None:
    """The messaging window of a channel kind (24 h for WhatsApp, Messenger, LINE)."""
    return WINDOW if kind in WINDOW_KINDS else None


# ---- phrase pools -----------------------------------------------------------------------------
# Each line is (text, attachment) where attachment is None or a key of _ATTACHMENTS.
# Placeholders: {order} {track} {amount} {plan} {orders} {call} {agent} {mention} {team}.

_JA_FAMILIES = (
    ("山田", "yamada"), ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"),
    ("伊藤", "ito"), ("渡辺", "watanabe"), ("中村", "nakamura"), ("小林", "kobayashi"), ("加藤", "kato"),
    ("吉田", "yoshida"), ("山本", "yamamoto"), ("松本", "matsumoto"), ("井上", "inoue"), ("木村", "kimura"),
    ("林", "hayashi"), ("清水", "shimizu"), ("森", "mori"), ("池田", "ikeda"), ("橋本", "hashimoto"),
)
_JA_GIVENS = (
    ("花子", "hanako"), ("健", "ken"), ("陽菜", "hina"), ("翔太", "shota"), ("さくら", "sakura"),
    ("大輝", "daiki"), ("ゆい", "yui"), ("蓮", "ren"), ("美咲", "misaki"), ("悠斗", "yuto"),
    ("あおい", "aoi"), ("拓海", "takumi"), ("恵", "megumi"), ("直樹", "naoki"), ("ひかり", "hikari"),
    ("健太", "kenta"),
)
_JA_EMOJI = ("🌸", "🍓", "🐱", "☕", "🎀", "⭐")
_EN_FIRSTS = (
    "Mia", "Olivia", "Liam", "Noah", "Emma", "Ava", "Lucas", "Ethan", "Sophia", "Harper",
    "Jack", "Zoë", "Daniel", "Grace", "Leo", "José", "Amara", "Priya", "Mateo", "Hannah",
)
_EN_LASTS = (
    "Johnson", "Smith", "García", "Nguyen", "Patel", "Kim", "Brown", "Wilson", "O'Connor", "Martínez",
    "Lee", "Anderson", "Müller", "Dubois", "Rossi", "Okafor",
)
_EN_EMOJI = ("🌸", "⚡", "🐶", "🌊", "🎸", "✨")
_DOMAINS = {"ja": ("example.jp", "example.co.jp", "example.ne.jp"), "en": ("example.com", "example.org", "example.net")}
_CITIES = {"ja": ("Tokyo", "Osaka", "Yokohama", "Fukuoka", "Sapporo", "Kyoto"),
           "en": ("San Francisco", "New York", "London", "Austin", "Toronto", "Sydney")}
_PLANS = ("Free", "Plus", "Pro", "Business")
_CONTACT_NOTES = {
    "ja": ("日本語での対応を希望。", "Prefers replies in Japanese; polite form.", "Long-time customer since 2019.",
           "Calls the phone line when email is slow — answer quickly."),
    "en": ("Prefers email follow-ups.", "Long-time customer since 2019.", "Sensitive about billing — double-check amounts.",
           "Usually replies in the evening (PT)."),
}

# channel weights per language: (email, whatsapp, messenger, sms, telegram, line)
_KIND_WEIGHTS = {"ja": (30, 10, 8, 10, 5, 37), "en": (30, 25, 15, 15, 13, 2)}

_TOPICS = ("refund", "shipping", "login", "billing", "broken", "address", "cancel")
_TOPIC_WEIGHTS = (16, 20, 14, 14, 12, 10, 14)
_TOPIC_LABELS = {
    "refund": ("billing", "refund"),
    "shipping": ("shipping", "delay"),
    "login": ("account", "bug"),
    "billing": ("billing", "invoice"),
    "broken": ("shipping", "damaged"),
    "address": ("shipping", "address"),
    "cancel": ("billing", "churn-risk"),
}
_ESCALATION = {
    "refund": ("finance", "refund stuck in the payment processor"),
    "shipping": ("tier2", "carrier claim needed"),
    "login": ("tier2", "2FA reset needs identity verification"),
    "billing": ("finance", "possible double-charge bug"),
    "broken": ("tier2", "third damaged delivery this month"),
    "address": ("tier2", "parcel already with the carrier"),
    "cancel": ("finance", "pro-rated refund requested"),
}

_ATTACHMENTS = {
    "photo": ("IMG_{n}.jpg", "image/jpeg", 800_000, 4_500_000),
    "box": ("IMG_{n}.jpg", "image/jpeg", 700_000, 3_800_000),
    "screenshot": ("Screenshot_{n}.png", "image/png", 120_000, 900_000),
    "invoice": ("invoice-{n}.pdf", "application/pdf", 60_000, 220_000),
}


def _lines(*items: str | tuple[str, str]) -> tuple[tuple[str, str | None], ...]:
    return tuple(item if isinstance(item, tuple) else (item, None) for item in items)


_PHRASES: dict[str, dict[str, dict[str, tuple[tuple[str, str | None], ...]]]] = {
    "en": {
        "refund": {
            "subject": _lines("Refund for order #{order}", "Refund request — order #{order}"),
            "open": _lines(
                "Hi, I returned order #{order} two weeks ago but haven't seen the refund yet. Can you check?",
                "Hello! I'd like a refund for order #{order}. The jacket doesn't fit and I already sent it back.",
                "I was charged for order #{order} but I cancelled it the same day 😕\nCould you refund it please?",
            ),
            "follow": _lines(
                "I paid by credit card, the one ending in 4242.",
                "I sent it back with the prepaid label on Monday.",
                "How long does the refund usually take?",
                "Ok thanks. Will I get an email when it's done?",
            ),
            "agent": _lines(
                "Thanks for reaching out, {call}! I'm checking order #{order} now.",
                "The return arrived at our warehouse. I've issued a refund of {amount} — it should show on your statement within 5–7 business days.",
                "Could you confirm the last 4 digits of the card you used?",
                "I can see the refund is approved; your bank just needs a few more days to post it.",
            ),
            "close": _lines("The refund of {amount} has been processed ✅ Let us know if there's anything else!"),
        },
        "shipping": {
            "subject": _lines("Where is my order #{order}?", "Order #{order} still not delivered"),
            "open": _lines(
                "Hi, my order #{order} was supposed to arrive on Friday and it still hasn't come. Tracking hasn't updated in 4 days 📦",
                "Hello, any news about order #{order}? It says 'in transit' since last week.",
                "Where is my package?? Order #{order}.\nI paid for express shipping.",
            ),
            "follow": _lines(
                "The tracking number is {track}.",
                "I need it before the weekend, it's a birthday present 🎁",
                "Still nothing today…",
                "The carrier's website says 'exception'. What does that mean?",
            ),
            "agent": _lines(
                "Sorry for the wait, {call}! Let me look into #{order}.",
                "I've contacted the carrier: your parcel ({track}) was held at the regional hub and is moving again. New estimate: 2 days.",
                "If it doesn't arrive by Thursday we'll send a replacement at no cost.",
                "I've refunded the express shipping fee for the delay.",
            ),
            "close": _lines("Great news — the carrier shows #{order} as delivered 🎉 Enjoy!"),
        },
        "login": {
            "subject": _lines("Can't log in — 2FA code not arriving", "Locked out of my account"),
            "open": _lines(
                "I can't log in to my account. The 2FA code never arrives on my phone 😩",
                "Hi, I got a new phone and now my authenticator app doesn't have the code anymore. How do I get back in?",
                ("Login keeps saying 'invalid code' even though I type it right.\nTried 5 times now.\nScreenshot attached.", "screenshot"),
            ),
            "follow": _lines(
                "I tried again, still nothing.",
                "My account email is the same one I'm writing from.",
                "Yes, the clock on my phone is set automatically.",
                ("Here's what I see:", "screenshot"),
            ),
            "agent": _lines(
                "Sorry about that, {call}! For security I'll need to verify your identity first. Can you confirm the email on the account?",
                "I've reset two-factor authentication on your account. Please log in and set it up again from Settings → Security.",
                "Could you check that your phone's time is set automatically? Codes fail when the clock drifts.",
                "Thanks! Identity confirmed. I'm resetting your 2FA now.",
            ),
            "close": _lines("Glad you're back in! 🔐 Don't forget to save your new backup codes."),
        },
        "billing": {
            "subject": _lines("Charged twice this month", "Invoice with company name"),
            "open": _lines(
                "Hi, I was charged twice for my {plan} subscription this month ({amount} x2). Can you fix this?",
                "Can I get an invoice with my company name on it? Need it for expenses.",
                "Why did my bill go up? I didn't change anything 🤔",
            ),
            "follow": _lines(
                "Company name is Example Trading LLC.",
                "The statement line says 'EXAMPLE*SUB {amount}'.",
                "Thanks, that makes sense.",
                "Can you send it to my work email too?",
            ),
            "agent": _lines(
                "Thanks {call}, I can see the duplicate charge of {amount}. I've refunded the second one.",
                ("I've attached the updated invoice with your company details.", "invoice"),
                "The price change was announced last month — you keep the old price until your next renewal.",
                "Could you tell me the exact company name and address for the invoice?",
            ),
            "close": _lines("All sorted — the duplicate charge has been refunded 👍"),
        },
        "broken": {
            "subject": _lines("Item arrived broken — order #{order}", "Damaged delivery #{order}"),
            "open": _lines(
                ("Hi, my order #{order} arrived today and the mug is cracked 😞 Photo attached.", "photo"),
                ("The lamp from order #{order} doesn't turn on and the box was crushed.\nSee the photo.\nCan I get a replacement?", "photo"),
            ),
            "follow": _lines(
                ("Here's another photo of the box.", "box"),
                ("", "photo"),
                "A replacement is fine, no need for a refund.",
                "Do I need to send the broken one back?",
            ),
            "agent": _lines(
                "I'm so sorry, {call}! Thanks for the photo — that definitely shouldn't happen.",
                "I've sent a replacement for #{order}, no need to return the broken one. Tracking: {track}.",
                "Would you prefer a replacement or a full refund?",
                "I've filed a damage report with the carrier.",
            ),
            "close": _lines("The replacement for #{order} has been delivered 📦 Sorry again for the trouble!"),
        },
        "address": {
            "subject": _lines("Change delivery address for #{order}", "Wrong address on order #{order}"),
            "open": _lines(
                "Hi! I just placed order #{order} but I moved last week 🙈 Can you change the delivery address?",
                "Please update my shipping address for #{order} to:\n221 Example Street, Apt 4\nSan Francisco, CA 94107",
            ),
            "follow": _lines(
                "The new address is 221 Example Street, Apt 4, San Francisco, CA 94107.",
                "Thank you so much!",
                "Has it shipped already?",
            ),
            "agent": _lines(
                "No problem, {call}! What's the new address?",
                "Done — order #{order} will ship to the new address.",
                "#{order} already left our warehouse, but I've asked the carrier to redirect it.",
            ),
            "close": _lines("The address on #{order} is updated ✅"),
        },
        "cancel": {
            "subject": _lines("Cancel my subscription", "Cancellation before renewal"),
            "open": _lines(
                "Hi, please cancel my {plan} subscription. I don't use it anymore.",
                "How do I cancel? I can't find the button anywhere 😤",
                "I want to cancel before the next renewal on the 1st.",
            ),
            "follow": _lines(
                "I'm just not using it enough.",
                "Will I lose my data?",
                "No thanks, please just cancel it.",
            ),
            "agent": _lines(
                "Sorry to see you go, {call}. Can I ask what made you decide to cancel?",
                "You can keep using {plan} until the end of the billing period, and your data stays available for 30 days.",
                "Would a 3-month pause help instead? Happy to set that up.",
            ),
            "close": _lines("Your subscription is cancelled and you won't be charged again. Thanks for being with us 💙"),
        },
        "nudge": {
            "": _lines(
                "Any update on this?",
                "Hello? 👋",
                "Just checking in — is there any news?",
                "Sorry, one more thing: can you also send me the receipt?",
                "ok",
                "Thanks, I'll wait 🙏",
                "Is anyone there?",
                "I tried that but it didn't work 😕",
            ),
        },
        "answer": {
            "": _lines(
                "Thank you! That worked 🙏",
                "Perfect, thanks a lot!",
                "Great, thanks for the quick reply 😊",
                "Ok, I'll try that and let you know.",
                "Hmm, it still doesn't work…",
                "Got it 👍",
            ),
        },
    },
    "ja": {
        "refund": {
            "subject": _lines("注文 #{order} の返金について", "返金のお願い（注文 #{order}）"),
            "open": _lines(
                "注文番号 #{order} の商品を2週間前に返品したのですが、まだ返金されていません。確認していただけますか？",
                "注文 #{order} のジャケットがサイズが合わなかったので返品しました。返金をお願いします。",
                "#{order} の注文をキャンセルしたのに請求されています😢\n返金をお願いします。",
            ),
            "follow": _lines(
                "クレジットカード（末尾4242）で支払いました。",
                "月曜日に着払いラベルで発送しました。",
                "返金にはどのくらい時間がかかりますか？",
                "わかりました。完了したらメールで連絡がありますか？",
            ),
            "agent": _lines(
                "{call}、お問い合わせありがとうございます。ご注文 #{order} を確認いたします。",
                "返品商品の到着を確認しました。{amount}の返金手続きを行いました。5〜7営業日以内にご利用明細に反映されます。",
                "お支払いに使用されたカードの下4桁を教えていただけますか？",
                "返金は承認済みです。カード会社での反映まで数日お待ちください。",
            ),
            "close": _lines("{amount}の返金処理が完了しました✅ 他にご不明な点がございましたらお気軽にご連絡ください。"),
        },
        "shipping": {
            "subject": _lines("注文 #{order} がまだ届きません", "配送状況の確認（注文 #{order}）"),
            "open": _lines(
                "注文 #{order} が金曜日に届く予定でしたが、まだ届いていません。追跡情報も4日間更新されていません📦",
                "#{order} の配送状況を教えてください。先週から「輸送中」のままです。",
                "荷物はどこですか？注文 #{order} です。\n速達料金を払ったのですが…",
            ),
            "follow": _lines(
                "追跡番号は {track} です。",
                "週末までに必要なんです。誕生日プレゼントなので🎁",
                "今日もまだ届いていません…",
                "配送業者のサイトに「調査中」と出ています。どういう意味ですか？",
            ),
            "agent": _lines(
                "{call}、お待たせして申し訳ございません。#{order} の状況を確認いたします。",
                "配送業者に確認したところ、お荷物（{track}）は配送センターで保留されていましたが、現在は輸送中です。2日ほどで到着する見込みです。",
                "木曜日までに届かない場合は、無料で代替品をお送りいたします。",
                "遅延のお詫びとして、速達料金を返金いたしました。",
            ),
            "close": _lines("配送業者の情報で #{order} の配達完了を確認しました🎉"),
        },
        "login": {
            "subject": _lines("ログインできません（2段階認証コードが届かない）", "アカウントにログインできない"),
            "open": _lines(
                "アカウントにログインできません。2段階認証のコードがSMSで届きません😩",
                "スマホを機種変更したら認証アプリのコードがなくなってしまいました。どうすればログインできますか？",
                ("正しく入力しているのに「コードが無効です」と表示されます。\n5回試しました。\nスクリーンショットを添付します。", "screenshot"),
            ),
            "follow": _lines(
                "もう一度試しましたが、やはりダメでした。",
                "アカウントのメールアドレスはこの連絡先と同じです。",
                "はい、スマホの時刻は自動設定になっています。",
                ("この画面が出ます。", "screenshot"),
            ),
            "agent": _lines(
                "{call}、ご不便をおかけして申し訳ございません。セキュリティのため、ご本人確認をさせてください。アカウントのメールアドレスを教えていただけますか？",
                "2段階認証をリセットしました。ログイン後、設定 → セキュリティから再設定してください。",
                "スマホの時刻が自動設定になっているかご確認いただけますか？時刻がずれているとコードが無効になります。",
                "ご本人確認ができました。2段階認証をリセットいたします。",
            ),
            "close": _lines("ログインできてよかったです🔐 新しいバックアップコードの保存をお忘れなく。"),
        },
        "billing": {
            "subject": _lines("今月2回請求されています", "会社名入りの領収書について"),
            "open": _lines(
                "今月、{plan}プランの料金が2回請求されています（{amount}×2）。確認をお願いします。",
                "会社名入りの領収書を発行していただけますか？経費精算に必要です。",
                "請求額が上がっているのはなぜですか？何も変更していません🤔",
            ),
            "follow": _lines(
                "会社名は「株式会社エグザンプル商事」です。",
                "明細には「EXAMPLE*SUB {amount}」と記載されています。",
                "なるほど、わかりました。",
                "会社のメールアドレスにも送っていただけますか？",
            ),
            "agent": _lines(
                "{call}、ご連絡ありがとうございます。{amount}の二重請求を確認しましたので、1件分を返金いたしました。",
                ("会社名を記載した請求書を添付いたします。", "invoice"),
                "先月お知らせした料金改定によるものです。次回更新日までは旧料金が適用されます。",
                "請求書に記載する正式な会社名とご住所を教えていただけますか？",
            ),
            "close": _lines("二重請求分の返金が完了しました👍"),
        },
        "broken": {
            "subject": _lines("商品が破損していました（注文 #{order}）", "破損品の交換について #{order}"),
            "open": _lines(
                ("本日、注文 #{order} が届きましたが、マグカップが割れていました😞 写真を添付します。", "photo"),
                ("注文 #{order} のランプの電源が入りません。箱もつぶれていました。\n写真を送ります。\n交換していただけますか？", "photo"),
            ),
            "follow": _lines(
                ("箱の写真も送ります。", "box"),
                ("", "photo"),
                "返金ではなく交換で大丈夫です。",
                "壊れた商品は返送する必要がありますか？",
            ),
            "agent": _lines(
                "{call}、大変申し訳ございません。写真をお送りいただきありがとうございます。",
                "#{order} の交換品を発送いたしました。破損品の返送は不要です。追跡番号：{track}",
                "交換と全額返金、どちらをご希望ですか？",
                "配送業者に破損の報告をいたしました。",
            ),
            "close": _lines("#{order} の交換品の配達が完了しました📦 ご迷惑をおかけし申し訳ございませんでした。"),
        },
        "address": {
            "subject": _lines("配送先住所の変更（注文 #{order}）", "注文 #{order} の住所が間違っています"),
            "open": _lines(
                "先ほど注文 #{order} をしたのですが、先週引っ越したので配送先を変更できますか🙈",
                "#{order} の配送先住所を以下に変更してください。\n〒150-0001\n東京都渋谷区神宮前1-2-3 サンプルマンション405",
            ),
            "follow": _lines(
                "新しい住所は〒150-0001 東京都渋谷区神宮前1-2-3 サンプルマンション405です。",
                "ありがとうございます！",
                "もう発送されてしまいましたか？",
            ),
            "agent": _lines(
                "{call}、承知いたしました。新しいご住所を教えていただけますか？",
                "ご注文 #{order} の配送先を新しいご住所に変更いたしました。",
                "#{order} はすでに出荷済みですが、配送業者に転送を依頼いたしました。",
            ),
            "close": _lines("#{order} の配送先変更が完了しました✅"),
        },
        "cancel": {
            "subject": _lines("サブスクリプションの解約", "更新前に解約したい"),
            "open": _lines(
                "{plan}プランを解約したいです。最近使っていないので。",
                "解約ボタンが見つかりません😤 どうやって解約すればいいですか？",
                "1日の更新日までに解約したいです。",
            ),
            "follow": _lines(
                "あまり使わなくなってしまって。",
                "データは消えてしまいますか？",
                "いえ、解約だけお願いします。",
            ),
            "agent": _lines(
                "{call}、ご連絡ありがとうございます。差し支えなければ、解約の理由をお聞かせいただけますか？",
                "請求期間の終了まで{plan}プランをご利用いただけます。データは30日間保存されます。",
                "解約の代わりに3か月の一時停止も可能です。いかがでしょうか？",
            ),
            "close": _lines("解約手続きが完了しました。今後請求が発生することはございません。ご利用ありがとうございました💙"),
        },
        "nudge": {
            "": _lines(
                "その後いかがでしょうか？",
                "すみません、確認していただけましたか？🙏",
                "追加で質問です。領収書も送っていただけますか？",
                "了解です",
                "お待ちしています🙏",
                "試してみましたが、うまくいきませんでした😕",
                "もしもし？",
            ),
        },
        "answer": {
            "": _lines(
                "ありがとうございます！助かりました",
                "承知しました。試してみます。",
                "早速のご対応ありがとうございます😊",
                "まだうまくいかないようです…",
                "了解しました！",
            ),
        },
    },
}

_NOTES = (
    "Customer is on the {plan} plan, {orders} orders so far.",
    "Checked with the warehouse: #{order} left on Tuesday.",
    "Possible duplicate of an older ticket — same order number.",
    "Offered a 10% coupon as goodwill.",
    "Macro 'refund-policy' sent; waiting for the customer.",
    "Called the carrier, ticket CX-{orders}1 opened.",
)
_MENTION_NOTES = (
    "@{mention} can you double-check #{order} in Stripe?",
    "@{mention} this one needs your eyes — second contact about the same issue.",
    "@{mention} FYI, VIP customer, please reply today.",
)
_FAILURES = {
    "email": "550 5.1.1 <{to}>: mailbox unavailable",
    "whatsapp": "131026 Message undeliverable: the receiver cannot receive this message",
    "messenger": "(#551) This person isn't available right now",
    "sms": "30003 Unreachable destination handset",
    "telegram": "403 Forbidden: bot was blocked by the user",
    "line": "400 The user hasn't added the account as a friend",
}
_SIGNATURES = {"en": "\n\n{agent}\nExample Support", "ja": "\n\n{agent}\nエグザンプル サポートチーム"}


# ---- the workspace ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiveThread:
    """What the simulator needs to write into one conversation as its customer."""

    conversation_id: int
    channel: str
    thread_key: str
    contact_id: int
    name: str
    language: str
    address: str
    status: Status
    subject: str = ""
    topic: str = ""

    def sender(self) -> ContactRef:
        is_email = "@" in self.address and self.channel == "email"
        return ContactRef(
            address=self.address,
            name=self.name,
            language=self.language,
            email=self.address if is_email else "",
            phone=self.address if self.address.startswith("+") else "",
        )


@dataclass(slots=True)
class Workspace:
    """A generated world; `live` holds the open/pending threads the simulator writes into."""

    contacts: list[Contact]
    conversations: list[Conversation]
    messages: list[Message]
    live: list[LiveThread] = field(default_factory=list)


@dataclass(slots=True)
class _Person:
    contact: Contact
    call: str  # how agents address them: "Mia", "山田様"
    first: str
    plan: str
    orders: int
    vip: bool
    email: str  # their address, also for a later email thread when they have no email identity
    identities: list[Identity]


@dataclass(slots=True)
class _Draft:
    """One conversation before ids are handed out."""

    person: _Person
    kind: str
    address: str
    thread_key: str
    topic: str
    size: int
    age: float = 0.0
    status: Status = Status.OPEN
    assignee: str | None = None
    handler: str = ""
    agents: Sequence[str] = ()
    team: str | None = None
    failed: bool = False
    labels: list[str] = field(default_factory=list)
    priority: Priority = Priority.NONE
    snoozed_until: datetime | None = None
    subject: str = ""
    messages: list[Message] = field(default_factory=list)


def _perm(n: int, modulus: int, offset: int) -> int:
    """A bijection of ints mod `modulus` (10**k): unique numbers per contact id."""
    return (n * 2_654_435_761 + offset) % modulus


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in folded if ch.isascii() and ch.isalnum()).lower()


def _make_person(rng: random.Random, cid: int, language: str, offsets: tuple[int, ...], used_emails: set[str]) -> _Person:
    if language == "ja":
        (family, family_r), (given, given_r) = rng.choice(_JA_FAMILIES), rng.choice(_JA_GIVENS)
        style = rng.random()
        if style < 0.72:
            name, call = f"{family} {given}", f"{family}様"
        elif style < 0.84:
            name, call = f"{family}{given}", f"{family}様"
        else:
            name, call = f"{given}{rng.choice(_JA_EMOJI)}", f"{given}様"
        local = rng.choice((f"{given_r}.{family_r}", f"{family_r}.{given_r}", f"{given_r}{cid % 100:02d}"))
        first = family
    else:
        given, family = rng.choice(_EN_FIRSTS), rng.choice(_EN_LASTS)
        style = rng.random()
        if style < 0.75:
            name = f"{given} {family}"
        elif style < 0.87:
            name = f"{given} {rng.choice(_EN_EMOJI)}"
        else:
            name = f"{given} {family[0]}."
        call = first = given
        g, f = _ascii(given), _ascii(family)
        local = rng.choice((f"{g}.{f}", f"{g}{f[0]}", f"{g[0]}{f}"))
    email = f"{local}@{rng.choice(_DOMAINS[language])}"
    if email in used_emails:
        email = f"{local}{cid}@{email.split('@', 1)[1]}"
    used_emails.add(email)
    plan = rng.choices(_PLANS, (30, 30, 28, 12))[0]
    orders = rng.randint(1, 40)
    contact = Contact(id=cid, name=name, language=language)
    person = _Person(contact, call, first, plan, orders, vip=plan == "Business" and orders >= 15,
                     email=email, identities=[])
    person.contact.notes = rng.choice(_CONTACT_NOTES[language]) if rng.random() < 0.25 else ""
    if rng.random() < 0.75:
        attributes = {"plan": plan, "orders": str(orders), "customer_since": f"{rng.randint(2018, 2024)}-{rng.randint(1, 12):02d}"}
        if rng.random() < 0.5:
            attributes["city"] = rng.choice(_CITIES[language])
        if person.vip:
            attributes["tier"] = "VIP"
        person.contact.attributes = attributes
    phone = _phone(rng, cid, language, offsets[0])

    def address(kind: str) -> str:
        match kind:
            case "email":
                return email
            case "whatsapp" | "sms":
                return phone
            case "telegram":
                return str(5_000_000_000 + _perm(cid, 10**9, offsets[1]))
            case "line":
                return f"U{rng.getrandbits(128):032x}"
            case _:  # messenger page-scoped id
                return str(7_000_000_000_000_000 + _perm(cid, 10**15, offsets[2]))

    kinds = _identity_kinds(rng, cid, language)
    for kind in kinds:
        _add_identity(person, kind, address(kind))
    person.contact.emails = [email] if "email" in kinds else []
    return person


def _phone(rng: random.Random, cid: int, language: str, offset: int) -> str:
    if language == "ja":
        return f"+81{rng.choice(('90', '80', '70'))}{_perm(cid, 10**8, offset):08d}"
    return f"+1{rng.choice(('415', '628', '212', '646', '312'))}{_perm(cid, 10**7, offset):07d}"


def _identity_kinds(rng: random.Random, cid: int, language: str) -> list[str]:
    """1–2 distinct channel kinds; the first six contacts cover every kind once."""
    weights = _KIND_WEIGHTS[language]
    first = KINDS[cid - 1] if cid <= len(KINDS) else rng.choices(KINDS, weights)[0]
    kinds = [first]
    if rng.random() < 0.45:
        second = rng.choices(KINDS, weights)[0]
        if second != first:
            kinds.append(second)
    return kinds


def _add_identity(person: _Person, kind: str, address: str) -> None:
    person.identities.append(Identity(kind, address))
    person.contact.identities.append(Identity(kind, address))
    if kind in ("whatsapp", "sms") and address not in person.contact.phones:
        person.contact.phones.append(address)


def _make_people(seed: int, count: int) -> list[_Person]:
    rng = random.Random(f"{seed}:contacts")
    offsets = (rng.randrange(10**8), rng.randrange(10**9), rng.randrange(10**15))
    used: set[str] = set()
    people = []
    for i in range(count):
        language = ("ja", "en")[i] if i < 2 else ("ja" if rng.random() < 0.5 else "en")
        people.append(_make_person(rng, i + 1, language, offsets, used))
    return people


def _allocate(rng: random.Random, people: list[_Person], count: int) -> list[tuple[_Person, str, str]]:
    """(person, kind, address) per conversation; a chat address carries one conversation only.

    Each contact first gets a conversation on its primary channel, then second channels
    are used, then extra email threads (which may repeat: each has its own root).
    """
    slots = [(p, p.identities[0].channel, p.identities[0].address) for p in people[:count]]
    seconds = [(p, i.channel, i.address) for p in people for i in p.identities[1:]]
    rng.shuffle(seconds)
    slots += seconds[: count - len(slots)]
    while len(slots) < count:
        person = rng.choice(people)
        email = next((i.address for i in person.identities if i.channel == "email"), None)
        if email is None:
            email = person.email
            _add_identity(person, "email", email)
            person.contact.emails.append(email)
        slots.append((person, "email", email))
    rng.shuffle(slots)
    return slots


def _sizes(rng: random.Random, count: int, total: int | None) -> list[int]:
    """Messages per conversation: 3–15 by default, or exactly `total` spread unevenly."""
    if total is None:
        return [int(rng.triangular(3, 16, 5)) for _ in range(count)]
    if total < count:
        raise ValueError(f"messages={total} is fewer than conversations={count} (each needs one)")
    weights = [rng.triangular(0.3, 4.0, 0.8) for _ in range(count)]
    scale = (total - count) / (sum(weights) or 1.0)
    sizes = [1 + int(w * scale) for w in weights]
    for i in rng.sample(range(count), total - sum(sizes)):  # what flooring left over: < count
        sizes[i] += 1
    return sizes


def _ages(rng: random.Random, count: int) -> list[float]:
    """Seconds before `now` of each conversation's last message: mostly recent, a few minutes old."""
    ages = sorted(HISTORY_DAYS * _DAY * rng.random() ** 2 + 60 for _ in range(count))
    for i in range(min(3, count)):
        ages[i] = 120 + i * 600 + rng.random() * 300
    return ages


def _statuses(rng: random.Random, count: int) -> list[Status]:
    """Statuses by quota, youngest conversations mostly open, oldest mostly resolved."""
    if count < 4:
        return [Status.OPEN] * count
    resolved, pending, snoozed = round(0.3 * count), round(0.15 * count), max(1, round(0.07 * count))
    pool = [Status.RESOLVED] * resolved + [Status.PENDING] * pending + [Status.SNOOZED] * snoozed
    pool += [Status.OPEN] * (count - len(pool))
    bias = {Status.OPEN: 0.0, Status.PENDING: 0.3, Status.SNOOZED: 0.35, Status.RESOLVED: 0.7}
    return sorted(pool, key=lambda s: bias[s] + rng.random())


_PRIORITY_ORDER = [Priority.NONE, Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.URGENT]


def _decorate(rng: random.Random, drafts: list[_Draft], agents: Sequence[str], now: datetime) -> None:
    """Status, assignee, labels, priority, escalation and failures (drafts sorted young → old)."""
    for draft, status in zip(drafts, _statuses(rng, len(drafts))):
        draft.status = status if draft.size >= 3 else Status.OPEN
        assigned = draft.status in (Status.RESOLVED, Status.SNOOZED) or rng.random() < 0.6
        draft.assignee = rng.choice(agents) if assigned and agents else None
        draft.handler = draft.assignee or (rng.choice(agents) if agents else "Agent")
        draft.agents = agents
        main, extra = _TOPIC_LABELS[draft.topic]
        draft.labels = [main] + ([extra] if rng.random() < 0.5 else []) + (["vip"] if draft.person.vip else [])
        draft.priority = rng.choices(
            (Priority.NONE, Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.URGENT), (55, 10, 20, 10, 5)
        )[0]
        if draft.person.vip and draft.priority in (Priority.NONE, Priority.LOW):
            draft.priority = Priority.HIGH
        if draft.status is Status.SNOOZED:
            draft.snoozed_until = (now + timedelta(seconds=rng.uniform(3600, 3 * _DAY))).replace(second=0, microsecond=0)
    active = [d for d in drafts if d.status in (Status.OPEN, Status.PENDING)]
    escalate = [d for d in active if d.assignee and d.size >= 6]
    for draft in escalate[1 :: 4][: max(2, len(drafts) // 30) if len(drafts) >= 10 else 0]:
        draft.team = _ESCALATION[draft.topic][0]
        draft.priority = max(draft.priority, Priority.HIGH, key=_PRIORITY_ORDER.index)
    failing = [d for d in active if d.size >= 3 and d.team is None]
    for draft in failing[2 :: 5][: 1 + len(drafts) // 50 if len(drafts) >= 5 else 0]:
        draft.failed, draft.status = True, Status.OPEN


def _plan(rng: random.Random, d: _Draft) -> list[str]:
    """The roles of a thread, oldest first: in/out/close/failed/note/esc_note and activities."""
    if d.failed:
        tail = ["failed"]
    elif d.status is Status.RESOLVED:
        tail = ["close", "resolved"]
    elif d.status is Status.SNOOZED:
        tail = ["out", "snoozed"]
    elif d.status is Status.PENDING:
        tail = ["out", "pending"] if rng.random() < 0.5 else ["out"]
    else:
        tail = ["in"] * rng.choices((0, 1, 2, 3), (20, 48, 24, 8))[0]
    # in the order they are dropped when the thread is too short for all of them (last first)
    events = [["esc_note", "escalated"]] if d.team else []
    events += [["assigned"]] if d.assignee else []
    events += [["labelled"]] if d.labels and rng.random() < 0.6 else []
    events += [["priority"]] if d.priority in (Priority.HIGH, Priority.URGENT) else []
    while events and 1 + len(tail) + sum(map(len, events)) > d.size:
        events.pop()
    del tail[max(0, d.size - 1) :]
    middle = _chatter(rng, d.size - 1 - len(tail) - sum(map(len, events)))
    for group in events:
        if group != ["assigned"]:
            at = rng.randint(0, len(middle))
            middle[at:at] = group
    if ["assigned"] in events:
        middle.insert(0, "assigned")  # right after the customer's first message
    return ["in", *middle, *tail]


def _chatter(rng: random.Random, count: int) -> list[str]:
    """Back-and-forth after the customer's first message."""
    roles, prev = [], "in"
    for _ in range(count):
        r = rng.random()
        if prev == "in":
            role = "out" if r < 0.8 else "in" if r < 0.92 else "note"
        elif prev == "out":
            role = "in" if r < 0.85 else "out" if r < 0.93 else "note"
        else:
            role = "out" if r < 0.6 else "in"
        roles.append(role)
        prev = role
    return roles


_ACTIVITY = {
    "assigned": EventKind.ASSIGNED,
    "labelled": EventKind.LABELLED,
    "priority": EventKind.PRIORITY,
    "escalated": EventKind.ESCALATED,
    "resolved": EventKind.STATUS,
    "pending": EventKind.STATUS,
    "snoozed": EventKind.SNOOZED,
}


def _numbers(rng: random.Random, lang: str) -> dict[str, Any]:
    """Order number, tracking number and amount in the customer's locale."""
    return {
        "order": rng.randint(10_000, 99_999),
        "track": f"{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
        if lang == "ja" else f"1Z{rng.randint(10**15, 10**16 - 1)}",
        "amount": f"{rng.choice((1480, 2980, 4980, 9800, 12800)):,}円" if lang == "ja"
        else f"${rng.choice((12, 19, 29, 49, 89, 129))}.{rng.choice(('00', '50', '99'))}",
        "plan": "Pro",
    }


def _gap(rng: random.Random, role: str, prev: str) -> float:
    """Seconds between the previous message and this one."""
    if role in _ACTIVITY:
        return 5 + rng.random() * 300
    if role in ("note", "esc_note"):
        return 60 + rng.random() * 2400
    if role == "in":
        return 15 + rng.random() * 360 if prev == "in" else 300 + rng.random() * 8 * 3600
    return 60 + rng.random() * 900 if prev in ("out", "close") else 120 + rng.random() * 3 * 3600


def _attachment(rng: random.Random, key: str, order: int) -> Attachment:
    pattern, mime, low, high = _ATTACHMENTS[key]
    name = pattern.format(n=order if key == "invoice" else rng.randint(1000, 9999))
    return Attachment(name=name, mime=mime, size=rng.randint(low, high), ref=f"demo:{name}")


def _build_thread(rng: random.Random, d: _Draft, now: datetime) -> None:
    """Fill `d.messages` (ids 0 for now) and its subject, with times ending `d.age` before `now`."""
    roles = _plan(rng, d)
    lang, kind, person = d.person.contact.language, d.kind, d.person
    phrases = _PHRASES[lang]
    topic = phrases[d.topic]
    ctx = _numbers(rng, lang)
    order = ctx["order"]
    ctx |= {
        "plan": person.plan,
        "orders": person.orders,
        "call": person.call,
        "agent": d.handler,
        "team": d.team or "",
        "mention": next((a for a in d.agents if a != d.handler), d.handler),
    }
    if kind == "email":
        d.subject = rng.choice(topic["subject"])[0].format_map(ctx)
    gaps, prev = [], ""
    for role in roles:
        gaps.append(_gap(rng, role, prev) if prev else 0.0)
        prev = role
    span, room = sum(gaps), HISTORY_DAYS * _DAY + _DAY - d.age
    scale = room / span if span > room else 1.0
    at = now - timedelta(seconds=d.age + span * scale)
    sign = _SIGNATURES[lang] if kind == "email" else ""
    outs = 0
    for i, role in enumerate(roles):
        at += timedelta(seconds=gaps[i] * scale)
        if role == "in":
            text, att = rng.choice(_customer_pool(rng, phrases, d.topic, roles[i - 1] if i else ""))
            body = text.format_map(ctx)
            if kind == "email" and body:
                body += f"\n\n{person.first}"
            msg = Message(0, 0, Direction.IN, body, author=person.contact.name, created_at=at)
            if att:
                msg.attachments = [_attachment(rng, att, order)]
                if not body:
                    msg.kind = MessageKind.ATTACHMENT
        elif role in ("out", "close", "failed"):
            pool = topic["close"] if role == "close" else topic["agent"][:1] if outs == 0 else topic["agent"][1:]
            text, att = rng.choice(pool)
            outs += 1
            msg = Message(0, 0, Direction.OUT, text.format_map(ctx) + sign.format_map(ctx), author=d.handler, created_at=at)
            if att:
                msg.attachments = [_attachment(rng, att, order)]
            msg.delivery = Delivery.READ if kind in READ_RECEIPT_KINDS else Delivery.DELIVERED
            if role == "failed":
                msg.delivery = Delivery.FAILED
                msg.delivery_reason = _FAILURES[kind].format(to=d.address)
            elif i >= len(roles) - 2 and msg.delivery is Delivery.READ and rng.random() < 0.5:
                msg.delivery = Delivery.DELIVERED
        elif role in ("note", "esc_note"):
            msg = _note(rng, role, d, ctx, at)
        else:
            msg = _activity(rng, role, d, at)
        d.messages.append(msg)


def _customer_pool(rng: random.Random, phrases: Mapping[str, Any], topic: str, prev: str) -> Sequence[tuple[str, str | None]]:
    """The opener, an answer to the agent, or a nudge after being left waiting."""
    if not prev:
        return phrases[topic]["open"]
    r = rng.random()
    if prev in ("out", "close", "failed"):
        return phrases[topic]["follow"] if r < 0.85 else phrases["answer"][""]
    return phrases[topic]["follow"] if r < 0.4 else phrases["nudge"][""]


def _note(rng: random.Random, role: str, d: _Draft, ctx: Mapping[str, Any], at: datetime) -> Message:
    mentions: list[str] = []
    if role == "esc_note":
        body = f"Escalated to {d.team}: {_ESCALATION[d.topic][1]}"
    elif rng.random() < 0.3:
        body, mentions = rng.choice(_MENTION_NOTES).format_map(ctx), [str(ctx["mention"])]
    else:
        body = rng.choice(_NOTES).format_map(ctx)
    return Message(0, 0, Direction.OUT, body, private=True, author=d.handler, created_at=at, mentions=mentions)


def _activity(rng: random.Random, role: str, d: _Draft, at: datetime) -> Message:
    actor = d.handler
    match role:
        case "assigned":
            actor = rng.choice((*d.agents, d.assignee or actor))
            text = f"assigned this to {'themself' if actor == d.assignee else d.assignee}"
        case "labelled":
            text = f"label added {', '.join(d.labels)}"
        case "priority":
            text = f"set priority to {d.priority.value}"
        case "escalated":
            text = f"escalated this to {d.team}"
        case "resolved":
            text = "resolved this"
        case "pending":
            text = "marked this pending"
        case _:  # snoozed
            until = d.snoozed_until or at
            text = f"snoozed this until {until:%a %d %b %H:%M} UTC"
    return Message(
        0, 0, Direction.OUT, f"{actor} {text}", kind=MessageKind.ACTIVITY, private=True,
        author=actor, created_at=at, event=_ACTIVITY[role],
    )


def _preview(message: Message) -> str:
    first = next((line for line in message.body.splitlines() if line.strip()), "")
    if not first and message.attachments:
        first = "📎 " + message.attachments[0].name
    return first[:PREVIEW_CHARS]


def _summarize(conv: Conversation, messages: Sequence[Message]) -> None:
    """Derive the conversation's counters and times from its messages (as the desk keeps them)."""
    conv.message_count = len(messages)
    conv.created_at = messages[0].created_at
    conv.last_activity_at = messages[-1].created_at
    content = [m for m in messages if m.kind is not MessageKind.ACTIVITY]
    conv.preview = next((p for p in map(_preview, reversed(content)) if p), "")
    public_out = [m for m in messages if m.direction is Direction.OUT and not m.private]
    conv.first_reply_at = public_out[0].created_at if public_out else None
    answered = public_out[-1].created_at if public_out else None
    inbound = [m for m in messages if m.direction is Direction.IN]
    waiting = [m for m in inbound if answered is None or m.created_at > answered]
    conv.waiting_since = waiting[0].created_at if waiting else None
    conv.unread = len(waiting) if conv.status is Status.OPEN else 0
    window = window_for(conv.channel)
    conv.window_expires_at = inbound[-1].created_at + window if window and inbound else None


def _default_contacts(conversations: int) -> int:
    return max(1, round(conversations * 2 / 3)) if conversations else 0


def generate_workspace(
    seed: int = 1,
    conversations: int = 60,
    contacts: int | None = None,
    messages: int | None = None,
    now: datetime | None = None,
    agents: Sequence[str] = ("Aiko", "Ben", "Chloé"),
) -> Workspace:
    """A deterministic demo workspace; only timestamps depend on `now` (default: the current time).

    `contacts` defaults to two thirds of `conversations`; `messages` (a total, at least one
    per conversation) defaults to 3–15 per conversation. Ids run 1..n for each type;
    conversation ids follow creation time and message ids are chronological within a
    conversation.
    """
    now = now or utcnow()
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    n_contacts = _default_contacts(conversations) if contacts is None else contacts
    if conversations < 0 or n_contacts < 0 or (conversations and not n_contacts):
        raise ValueError("conversations and contacts must be positive (a conversation needs a contact)")
    people = _make_people(seed, n_contacts)
    rng = random.Random(f"{seed}:conversations")
    slots = _allocate(rng, people, conversations)
    sizes = _sizes(rng, conversations, messages)
    ages = _ages(rng, conversations)
    drafts = []
    for i, ((person, kind, address), size, age) in enumerate(zip(slots, sizes, ages)):
        topic = rng.choices(_TOPICS, _TOPIC_WEIGHTS)[0]
        key = f"<{rng.getrandbits(48):012x}.{i + 1}@example.com>" if kind == "email" else address
        drafts.append(_Draft(person, kind, address, key, topic, size, age))
    _decorate(rng, drafts, agents, now)
    for draft in drafts:
        _build_thread(rng, draft, now)
    return _assemble(drafts, people)


def _assemble(drafts: list[_Draft], people: list[_Person]) -> Workspace:
    """Hand out ids in creation order and derive each conversation's fields."""
    drafts.sort(key=lambda d: d.messages[0].created_at)
    conversations, messages, live = [], [], []
    next_id = 1
    for conv_id, d in enumerate(drafts, start=1):
        for m in d.messages:
            m.id, m.conversation_id = next_id, conv_id
            if not m.private:
                m.external_id = f"{d.kind}-{'hist' if m.direction is Direction.IN else 'out'}-{next_id}"
            next_id += 1
        conv = Conversation(
            id=conv_id, channel=d.kind, contact_id=d.person.contact.id, thread_key=d.thread_key,
            status=d.status, snoozed_until=d.snoozed_until, priority=d.priority, assignee=d.assignee,
            team=d.team, labels=d.labels, subject=d.subject,
        )
        _summarize(conv, d.messages)
        conversations.append(conv)
        messages += d.messages
        if d.status in (Status.OPEN, Status.PENDING):
            live.append(_thread_of(conv, d.person.contact, d.address, d.topic))
    return Workspace([p.contact for p in people], conversations, messages, live)


def _thread_of(conv: Conversation, contact: Contact, address: str, topic: str = "") -> LiveThread:
    return LiveThread(
        conversation_id=conv.id, channel=conv.channel, thread_key=conv.thread_key, contact_id=contact.id,
        name=contact.name, language=contact.language, address=address, status=conv.status,
        subject=conv.subject, topic=topic,
    )


def threads_of(workspace: Workspace) -> list[LiveThread]:
    """Every conversation of a workspace as a LiveThread (the live ones and the rest)."""
    contacts = {c.id: c for c in workspace.contacts}
    topics = {t.conversation_id: t.topic for t in workspace.live}
    found = []
    for conv in workspace.conversations:
        contact = contacts[conv.contact_id]
        address = next(i.address for i in contact.identities if i.channel == conv.channel)
        found.append(_thread_of(conv, contact, address, topics.get(conv.id, "")))
    return found


@functools.lru_cache(maxsize=8)
def _catalog(seed: int, conversations: int) -> tuple[LiveThread, ...]:
    """All threads of the seeded world; a fixed clock, since only timestamps depend on it."""
    return tuple(threads_of(generate_workspace(seed, conversations, now=_EPOCH)))


# ---- live lines -------------------------------------------------------------------------------


def follow_up_line(rng: random.Random, thread: LiveThread) -> str:
    """Something the customer writes on their own, in their language."""
    phrases = _PHRASES.get(thread.language, _PHRASES["en"])
    pool = phrases["nudge"][""]
    if thread.topic in phrases and rng.random() < 0.4:
        pool = tuple(line for line in phrases[thread.topic]["follow"] if line[0])
    return rng.choice(pool)[0].format_map(_numbers(rng, thread.language))


def answer_line(rng: random.Random, language: str) -> str:
    """The customer's answer to an agent's reply."""
    return rng.choice(_PHRASES.get(language, _PHRASES["en"])["answer"][""])[0]


def _guess_language(text: str) -> str:
    return "ja" if any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text) else "en"


# ---- the backend ------------------------------------------------------------------------------

LIVE_INTERVAL = 120.0
"""Mean seconds between one channel's unprompted customer messages: the six channels of the
demo write about three a minute between them, a busy but human shift (at 12 s they wrote ~25
a minute and the bell never stopped). Answers to the agent's replies come within seconds."""


class DemoBackend(Backend):
    """One simulated channel of the demo world: live customers, receipts and answers.

    Settings: `kind` (the channel kind it simulates; defaults to the instance name when
    that is a kind), `seed`, `live` (unsolicited customer messages on/off), `interval`
    (mean seconds between them), `speed` (multiplier on every delay), `conversations`
    (size of the seeded world it shares with the desk, default 60).

    `messaging_window` stays None at class level because one class serves every kind;
    WhatsApp, Messenger and LINE instances put the 24 h window on each Inbound
    (`window_expires_at`) instead, and `window` gives it per instance.
    """

    kind: ClassVar[str] = "demo"
    polling: ClassVar[bool] = True
    supports_attachments: ClassVar[bool] = True
    supports_typing: ClassVar[bool] = True
    supports_read_receipts: ClassVar[bool] = True
    messaging_window: ClassVar[timedelta | None] = None
    idempotent_send: ClassVar[bool] = True
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "kind": str, "seed": integer(-(2**63), 2**63 - 1), "live": bool, "interval": number(0.01, 86400, "seconds"),
        "speed": number(0.0001, 1000), "conversations": integer(0, 100_000),
    }

    def __init__(
        self,
        name: str,
        settings: Mapping[str, Any] | None = None,
        secrets: SecretSource | None = None,
        cursor: str | None = None,
    ) -> None:
        super().__init__(name, settings, secrets, cursor)
        s = self.settings
        for key, kind in self.settings_schema.items():
            if s.get(key) is not None and (problem := setting_problem(s[key], kind)):
                raise ConfigError(f"channel {name!r}: setting {key} {problem}")
        self._kind = str(s.get("kind") or (name if name in KINDS else ""))
        if self._kind not in KINDS:
            raise ConfigError(f"channel {name!r}: setting 'kind' must be one of {', '.join(KINDS)}")
        self.seed = int(s.get("seed", 1))
        self.live = bool(s.get("live", True))
        self.interval = float(s.get("interval", LIVE_INTERVAL))
        self.speed = float(s.get("speed", 1.0))
        self.world_size = int(s.get("conversations", 60))
        if self.interval <= 0 or self.speed <= 0:
            raise ConfigError(f"channel {name!r}: 'interval' and 'speed' must be greater than 0")
        self._counter = _parse_cursor(cursor)
        self._sink: Sink | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._sent: set[str] = set()
        self._lock = asyncio.Lock()

    @property
    def channel_kind(self) -> str:
        return self._kind

    @property
    def window(self) -> timedelta | None:
        return window_for(self._kind)

    @property
    def window_rule(self) -> WindowRule | None:
        """The rule of the simulated kind, as the real channels apply it."""
        return WINDOW_RULES.get(self._kind)

    # -- the world this instance simulates

    def threads(self) -> list[LiveThread]:
        """Every seeded conversation of this kind."""
        return [t for t in _catalog(self.seed, self.world_size) if t.channel == self._kind]

    def live_threads(self) -> list[LiveThread]:
        """The open/pending conversations whose customers write live, by conversation id."""
        return [t for t in self.threads() if t.status in (Status.OPEN, Status.PENDING)]

    def _thread_for(self, outgoing: Outgoing) -> LiveThread:
        for thread in self.threads():
            if thread.thread_key == outgoing.thread_key:
                return thread
        address = outgoing.to or outgoing.thread_key
        return LiveThread(0, self._kind, outgoing.thread_key, 0, "", _guess_language(outgoing.body), address,
                          Status.OPEN, subject=outgoing.subject)

    # -- reading

    async def run(self, sink: Sink) -> None:
        """Simulate customers until cancelled: a pause, Typing, then an Inbound."""
        self._sink = sink
        await sink.ingest(self.name, [ChannelStatus("ok", f"simulated {self._kind}")])
        targets = self.live_threads() or self.threads()
        if not self.live or not targets:
            await asyncio.Event().wait()
        rng = random.Random(f"{self.seed}:{self._kind}:live:{self._counter}")
        while True:
            await self._sleep(self._pause(rng))
            thread = rng.choice(targets)
            await sink.ingest(self.name, [Typing(thread.thread_key)])
            await self._sleep(rng.uniform(1.0, 3.0))
            await self._deliver(sink, thread, follow_up_line(rng, thread))

    async def fetch_once(self, sink: Sink) -> None:
        """A simulation holds nothing to fetch: report the channel healthy and return."""
        await sink.ingest(self.name, [ChannelStatus("ok", f"simulated {self._kind}")])

    def _pause(self, rng: random.Random) -> float:
        return min(max(rng.expovariate(1.0 / self.interval), 0.2 * self.interval), 4.0 * self.interval)

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds * self.speed)

    async def _deliver(self, sink: Sink, thread: LiveThread, body: str) -> None:
        """Ingest one customer message with the next counter as external id and cursor."""
        async with self._lock:
            self._counter += 1
            counter = self._counter
            now = utcnow()
            event = Inbound(
                external_id=f"{self._kind}-in-{counter}",
                thread_key=thread.thread_key,
                sender=thread.sender(),
                body=body,
                created_at=now,
                subject=f"Re: {thread.subject}" if thread.subject else "",
                window_expires_at=now + self.window if self.window else None,
            )
            await sink.ingest(self.name, [event], cursor=str(counter))
            self.cursor = str(counter)

    # -- sending

    async def fetch_attachment(self, ref: str) -> bytes:
        """A simulated file: a short text naming it (the demo world has no real files)."""
        if not ref.startswith("demo:"):
            raise PermanentError("not a demo attachment")
        return f"frontdesk demo attachment: {ref.removeprefix('demo:')}\n".encode()

    async def send(self, outgoing: Outgoing) -> SendResult:
        """Accept the reply; receipts and the customer's answer follow in the background."""
        if not (outgoing.to or outgoing.thread_key):
            raise PermanentError("no recipient: the conversation has no address on this channel")
        external_id = f"{self._kind}-out-{outgoing.message_id}"
        if self._sink is not None and external_id not in self._sent:
            self._sent.add(external_id)
            self._spawn(self._after_send(self._sink, outgoing, external_id))
        return SendResult(external_id=external_id, delivery=Delivery.SENT)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("demo %s: simulated receipt failed: %s", self.name, task.exception())

    async def _after_send(self, sink: Sink, outgoing: Outgoing, external_id: str) -> None:
        """DELIVERED at ~1 s, READ at ~3 s (chat kinds), the customer answers at ~4–8 s."""
        rng = random.Random(f"{self.seed}:{self._kind}:answer:{outgoing.message_id}")
        await self._sleep(1.0)
        await sink.ingest(self.name, [DeliveryUpdate(external_id, Delivery.DELIVERED)])
        await self._sleep(2.0)
        if self._kind in READ_RECEIPT_KINDS:
            await sink.ingest(self.name, [DeliveryUpdate(external_id, Delivery.READ)])
        thread = self._thread_for(outgoing)
        await self._sleep(rng.uniform(1.0, 3.0))
        await sink.ingest(self.name, [Typing(thread.thread_key)])
        await self._sleep(rng.uniform(1.0, 2.0))
        await self._deliver(sink, thread, answer_line(rng, thread.language))

    async def close(self) -> None:
        """Stop pending receipts and answers."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._sink = None


def _parse_cursor(cursor: str | None) -> int:
    try:
        return max(0, int(cursor or 0))
    except ValueError:
        log.warning("demo: ignoring unreadable cursor %r", cursor)
        return 0


def demo_channels(seed: int = 1, *, live: bool = True, interval: float = LIVE_INTERVAL, speed: float = 1.0,
                  conversations: int = 60, cursors: Mapping[str, str | None] | None = None) -> dict[str, DemoBackend]:
    """One DemoBackend per kind, each named after its kind as the generated workspace expects."""
    settings = {"seed": seed, "live": live, "interval": interval, "speed": speed, "conversations": conversations}
    return {
        kind: DemoBackend(kind, {**settings, "kind": kind}, cursor=(cursors or {}).get(kind))
        for kind in KINDS
    }


__all__ = [
    "KINDS", "DemoBackend", "LiveThread", "Workspace", "answer_line", "demo_channels",
    "follow_up_line", "generate_workspace", "threads_of", "window_for",
]

