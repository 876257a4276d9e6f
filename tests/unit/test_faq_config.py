"""`[[faq]]` and `[bot]` in the config: entries, the bot's channels and handoff, one-line errors."""

from __future__ import annotations


import pytest

from frontdesk.config import BotConfig, FaqConfig, load_config
from config_files import write, error


def test_no_faq_means_the_bot_is_off(tmp_path):
    faq = load_config(write(tmp_path, '[agent]\nname = "Aiko"\n')).faq
    assert faq == FaqConfig() and not faq.on


def test_entries_and_the_bot(tmp_path):
    path = write(
        tmp_path,
        """
        [bot]
        channels = ["line", "wa"]
        handoff_words = ["スタッフ", " "]
        misses = 3
        fallback_reply = "/faq-sorry"

        [[faq]]
        keywords = ["配送状況", "where is my order"]
        reply = "faq-shipping"

        [[faq]]
        name = "Refunds"
        keywords = ["refund", "返金"]
        reply = "faq-refund"
        channels = ["line"]
        language = "JA"
        """,
    )
    faq = load_config(path).faq
    assert faq.on
    assert faq.bot == BotConfig(("line", "wa"), ("スタッフ",), 3, "faq-sorry", line=1)
    first, second = faq.entries
    assert (first.name, first.reply, first.keywords, first.line) == (
        "faq-shipping",
        "faq-shipping",
        ("配送状況", "where is my order"),
        7,
    )
    assert (second.name, second.channels, second.language) == ("Refunds", ("line",), "ja")


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ('[[faq]]\nkeywords = ["x"]\n', ":1: faq[0] ", "has no reply"),
        ('[[faq]]\nreply = "faq-x"\n', ":1: faq[0].keywords ", "at least one word"),
        ('[[faq]]\nreply = "faq x"\nkeywords = ["x"]\n', ":2: faq[0].reply ", "no spaces"),
        (
            '[[faq]]\nreply = "a"\nkeywords = ["x"]\nanswer = 1\n',
            ":4: faq[0].answer ",
            "not a known",
        ),
        ("[bot]\nmisses = 0\n", ":2: bot.misses ", "from 1 to 10"),
        ('[bot]\nchannels = ["LINE!"]\n', ":2: bot.channels ", "not a channel name"),
        ('[bot]\nchanels = ["line"]\n', ":2: bot.chanels ", "did you mean"),
        ('faq = "x"\n', ":1: faq ", "list of [[faq]]"),
    ],
)
def test_mistakes_are_one_line_naming_file_line_and_key(tmp_path, text, where, says):
    message = error(write(tmp_path, text))
    assert where in message and says in message.lower(), message


def test_doctor_names_a_missing_or_unfillable_answer_and_an_unknown_channel(tmp_path, capsys):
    from frontdesk.doctor import check_faq

    (tmp_path / "canned.toml").write_text(
        '[[replies]]\nshortcode = "faq-ok"\ntitle = "ok"\nbody = "Tracking is in your mail."\n\n'
        '[[replies]]\nshortcode = "faq-ask"\ntitle = "ask"\nbody = "Order {ask:order number}"\n',
        encoding="utf-8",
    )
    path = write(
        tmp_path,
        """
        [[channels]]
        name = "line"
        backend = "demo"

        [bot]
        channels = ["line", "wa"]

        [[faq]]
        keywords = ["tracking"]
        reply = "faq-ok"

        [[faq]]
        keywords = ["refund"]
        reply = "faq-gone"

        [[faq]]
        keywords = ["order"]
        reply = "faq-ask"
        """,
    )
    problems = check_faq(load_config(path), tmp_path / "canned.toml")
    assert problems == [
        f"{path}:5: bot.channels names 'wa', which is no [[channels]] block; "
        "add the channel or remove the name",
        f"{path}:12: faq[1].reply /faq-gone is not a canned reply in {tmp_path / 'canned.toml'}; "
        "add it there or name an existing shortcode",
        f"{path}:16: faq[2].reply /faq-ask asks the agent for {{ask:order number}}, which the bot "
        "cannot fill in; answer with a reply without {ask:…}",
    ]
    assert "faq bot: on for line, wa, 3 entries" in capsys.readouterr().out


def test_doctor_finds_the_shipped_faq_answers(tmp_path):
    from frontdesk.desk.automation.demo_faq import with_demo_faq
    from frontdesk.doctor import check_faq

    cfg = load_config(write(tmp_path, '[[channels]]\nname = "line"\nbackend = "demo"\n'))
    cfg = with_demo_faq(cfg)
    assert check_faq(cfg, tmp_path / "canned.toml") == []  # no file: the shipped examples
