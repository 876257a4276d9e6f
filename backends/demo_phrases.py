"""The demo's data table: names, places, topics and the phrase pools its people write."""

from __future__ import annotations

# ---- phrase pools -----------------------------------------------------------------------------
# Each line is (text, attachment) where attachment is None or a key of ATTACHMENTS.
# Placeholders: {order} {track} {amount} {plan} {orders} {call} {agent} {mention} {team}.

JA_FAMILIES = (
    ("山田", "yamada"),
    ("佐藤", "sato"),
    ("鈴木", "suzuki"),
    ("高橋", "takahashi"),
    ("田中", "tanaka"),
    ("伊藤", "ito"),
    ("渡辺", "watanabe"),
    ("中村", "nakamura"),
    ("小林", "kobayashi"),
    ("加藤", "kato"),
    ("吉田", "yoshida"),
    ("山本", "yamamoto"),
    ("松本", "matsumoto"),
    ("井上", "inoue"),
    ("木村", "kimura"),
    ("林", "hayashi"),
    ("清水", "shimizu"),
    ("森", "mori"),
    ("池田", "ikeda"),
    ("橋本", "hashimoto"),
)
JA_GIVENS = (
    ("花子", "hanako"),
    ("健", "ken"),
    ("陽菜", "hina"),
    ("翔太", "shota"),
    ("さくら", "sakura"),
    ("大輝", "daiki"),
    ("ゆい", "yui"),
    ("蓮", "ren"),
    ("美咲", "misaki"),
    ("悠斗", "yuto"),
    ("あおい", "aoi"),
    ("拓海", "takumi"),
    ("恵", "megumi"),
    ("直樹", "naoki"),
    ("ひかり", "hikari"),
    ("健太", "kenta"),
)
JA_EMOJI = ("🌸", "🍓", "🐱", "☕", "🎀", "⭐")
EN_FIRSTS = (
    "Mia",
    "Olivia",
    "Liam",
    "Noah",
    "Emma",
    "Ava",
    "Lucas",
    "Ethan",
    "Sophia",
    "Harper",
    "Jack",
    "Zoë",
    "Daniel",
    "Grace",
    "Leo",
    "José",
    "Amara",
    "Priya",
    "Mateo",
    "Hannah",
)
EN_LASTS = (
    "Johnson",
    "Smith",
    "García",
    "Nguyen",
    "Patel",
    "Kim",
    "Brown",
    "Wilson",
    "O'Connor",
    "Martínez",
    "Lee",
    "Anderson",
    "Müller",
    "Dubois",
    "Rossi",
    "Okafor",
)
EN_EMOJI = ("🌸", "⚡", "🐶", "🌊", "🎸", "✨")
DOMAINS = {
    "ja": ("example.jp", "example.co.jp", "example.ne.jp"),
    "en": ("example.com", "example.org", "example.net"),
}
CITIES = {
    "ja": ("Tokyo", "Osaka", "Yokohama", "Fukuoka", "Sapporo", "Kyoto"),
    "en": ("San Francisco", "New York", "London", "Austin", "Toronto", "Sydney"),
}
PLANS = ("Free", "Plus", "Pro", "Business")
CONTACT_NOTES = {
    "ja": (
        "日本語での対応を希望。",
        "Prefers replies in Japanese; polite form.",
        "Long-time customer since 2019.",
        "Calls the phone line when email is slow — answer quickly.",
    ),
    "en": (
        "Prefers email follow-ups.",
        "Long-time customer since 2019.",
        "Sensitive about billing — double-check amounts.",
        "Usually replies in the evening (PT).",
    ),
}

# channel weights per language: (email, whatsapp, messenger, sms, telegram, line)
KIND_WEIGHTS = {"ja": (30, 10, 8, 10, 5, 37), "en": (30, 25, 15, 15, 13, 2)}

TOPICS = ("refund", "shipping", "login", "billing", "broken", "address", "cancel")
TOPIC_WEIGHTS = (16, 20, 14, 14, 12, 10, 14)
TOPIC_LABELS = {
    "refund": ("billing", "refund"),
    "shipping": ("shipping", "delay"),
    "login": ("account", "bug"),
    "billing": ("billing", "invoice"),
    "broken": ("shipping", "damaged"),
    "address": ("shipping", "address"),
    "cancel": ("billing", "churn-risk"),
}
ESCALATION = {
    "refund": ("finance", "refund stuck in the payment processor"),
    "shipping": ("tier2", "carrier claim needed"),
    "login": ("tier2", "2FA reset needs identity verification"),
    "billing": ("finance", "possible double-charge bug"),
    "broken": ("tier2", "third damaged delivery this month"),
    "address": ("tier2", "parcel already with the carrier"),
    "cancel": ("finance", "pro-rated refund requested"),
}

ATTACHMENTS = {
    "photo": ("IMG_{n}.jpg", "image/jpeg", 800_000, 4_500_000),
    "box": ("IMG_{n}.jpg", "image/jpeg", 700_000, 3_800_000),
    "screenshot": ("Screenshot_{n}.png", "image/png", 120_000, 900_000),
    "invoice": ("invoice-{n}.pdf", "application/pdf", 60_000, 220_000),
}


def _lines(*items: str | tuple[str, str]) -> tuple[tuple[str, str | None], ...]:
    return tuple(item if isinstance(item, tuple) else (item, None) for item in items)


PHRASES: dict[str, dict[str, dict[str, tuple[tuple[str, str | None], ...]]]] = {
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
            "close": _lines(
                "The refund of {amount} has been processed ✅ Let us know if there's anything else!"
            ),
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
                (
                    "Login keeps saying 'invalid code' even though I type it right.\nTried 5 times now.\nScreenshot attached.",
                    "screenshot",
                ),
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
                (
                    "Hi, my order #{order} arrived today and the mug is cracked 😞 Photo attached.",
                    "photo",
                ),
                (
                    "The lamp from order #{order} doesn't turn on and the box was crushed.\nSee the photo.\nCan I get a replacement?",
                    "photo",
                ),
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
            "close": _lines(
                "The replacement for #{order} has been delivered 📦 Sorry again for the trouble!"
            ),
        },
        "address": {
            "subject": _lines(
                "Change delivery address for #{order}", "Wrong address on order #{order}"
            ),
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
            "close": _lines(
                "Your subscription is cancelled and you won't be charged again. Thanks for being with us 💙"
            ),
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
            "close": _lines(
                "{amount}の返金処理が完了しました✅ 他にご不明な点がございましたらお気軽にご連絡ください。"
            ),
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
            "subject": _lines(
                "ログインできません（2段階認証コードが届かない）", "アカウントにログインできない"
            ),
            "open": _lines(
                "アカウントにログインできません。2段階認証のコードがSMSで届きません😩",
                "スマホを機種変更したら認証アプリのコードがなくなってしまいました。どうすればログインできますか？",
                (
                    "正しく入力しているのに「コードが無効です」と表示されます。\n5回試しました。\nスクリーンショットを添付します。",
                    "screenshot",
                ),
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
            "close": _lines(
                "ログインできてよかったです🔐 新しいバックアップコードの保存をお忘れなく。"
            ),
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
            "subject": _lines(
                "商品が破損していました（注文 #{order}）", "破損品の交換について #{order}"
            ),
            "open": _lines(
                (
                    "本日、注文 #{order} が届きましたが、マグカップが割れていました😞 写真を添付します。",
                    "photo",
                ),
                (
                    "注文 #{order} のランプの電源が入りません。箱もつぶれていました。\n写真を送ります。\n交換していただけますか？",
                    "photo",
                ),
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
            "close": _lines(
                "#{order} の交換品の配達が完了しました📦 ご迷惑をおかけし申し訳ございませんでした。"
            ),
        },
        "address": {
            "subject": _lines(
                "配送先住所の変更（注文 #{order}）", "注文 #{order} の住所が間違っています"
            ),
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
            "close": _lines(
                "解約手続きが完了しました。今後請求が発生することはございません。ご利用ありがとうございました💙"
            ),
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

NOTES = (
    "Customer is on the {plan} plan, {orders} orders so far.",
    "Checked with the warehouse: #{order} left on Tuesday.",
    "Possible duplicate of an older ticket — same order number.",
    "Offered a 10% coupon as goodwill.",
    "Macro 'refund-policy' sent; waiting for the customer.",
    "Called the carrier, ticket CX-{orders}1 opened.",
)
MENTION_NOTES = (
    "@{mention} can you double-check #{order} in Stripe?",
    "@{mention} this one needs your eyes — second contact about the same issue.",
    "@{mention} FYI, VIP customer, please reply today.",
)
FAILURES = {
    "email": "550 5.1.1 <{to}>: mailbox unavailable",
    "whatsapp": "131026 Message undeliverable: the receiver cannot receive this message",
    "messenger": "(#551) This person isn't available right now",
    "sms": "30003 Unreachable destination handset",
    "telegram": "403 Forbidden: bot was blocked by the user",
    "line": "400 The user hasn't added the account as a friend",
}
SIGNATURES = {
    "en": "\n\n{agent}\nExample Support",
    "ja": "\n\n{agent}\nエグザンプル サポートチーム",
}
