"""`frontdesk rules test FILE.json`: what the rules would do on a sample, and one-line errors."""

from __future__ import annotations

import json
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk import cli
from frontdesk.desk.automation.rule_sample import SampleError, parse_sample

CONFIG = """
[agent]
name = "aiko"

[[channels]]
name = "wa"
backend = "whatsapp"
phone_number_id = "1"

[[rules]]
name = "Refunds"
event = "message_created"
conditions = [{ attribute = "content", operator = "contains", values = ["refund", "返金"] }]
actions = [
  { action = "assign_agent", params = ["ben"] },
  { action = "add_label", params = ["refund"] },
]

[[rules]]
name = "Night"
event = "message_created"
match = "all"
conditions = [
  { attribute = "business_hours", operator = "equal_to", values = ["outside"] },
  { attribute = "channel", operator = "equal_to", values = ["whatsapp"] },
]
actions = [{ action = "send_canned_reply", params = ["away"] }]

[[rules]]
name = "Closed"
event = "conversation_resolved"
actions = [{ action = "add_label", params = ["done"] }]
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    return path


def run(config, tmp_path, sample, capsys) -> tuple[int, str, str]:
    path = tmp_path / "sample.json"
    path.write_text(sample if isinstance(sample, str) else json.dumps(sample), encoding="utf-8")
    code = cli.main(["--config", str(config), "rules", "test", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_it_prints_what_each_rule_of_the_event_would_do(config, tmp_path, capsys):
    sample = {
        "event": "message_created",
        "channel": "wa",
        "text": "返金してください",
        "language": "ja",
        "at": "2027-01-04T20:00:00+09:00",
        "business_hours": "outside",
    }
    code, out, err = run(config, tmp_path, sample, capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"rules:  {config}: 3 active, 2 on message_created"
    assert lines[1] == "sample: message_created on wa at 2027-01-04T20:00:00+09:00"
    assert lines[2] == (
        f'would run ({config}:10): rule Refunds: assign_agent "ben", add_label "refund" '
        '(because content contains "返金")'
    )
    assert lines[3].startswith(f'would run ({config}:19): rule Night: send_canned_reply "away"')
    assert lines[4:] == ["2 rules would act; nothing was done"]


def test_business_hours_default_to_inside_and_the_kind_comes_from_the_config(
    config, tmp_path, capsys
):
    code, out, _ = run(config, tmp_path, {"event": "message_created", "channel": "wa"}, capsys)
    assert code == 0
    assert f"does not hold ({config}:10): rule Refunds" in out
    assert f"does not hold ({config}:19): rule Night" in out
    assert out.endswith("0 rules would act; nothing was done\n")


@pytest.mark.parametrize(
    ("sample", "says"),
    [
        ("{not json", "sample.json:1: not JSON text"),
        ("[1, 2]", "sample.json: must be one JSON object"),
        ({"event": "message_sent", "channel": "wa"}, "event must be one of message_created"),
        ({"event": "message_created"}, "needs event and channel"),
        ({"event": "message_created", "channel": "wa", "colour": 1}, "colour is not a key"),
        ({"event": "message_created", "channel": "wa", "labels": "vip"}, "labels must be a list"),
        ({"event": "message_created", "channel": "wa", "at": "tomorrow"}, "at must be an ISO time"),
        ({"event": "message_created", "channel": "wa", "at": "2027-01-04T20:00"}, "UTC offset"),
    ],
)
def test_a_bad_sample_is_one_line_and_a_usage_exit(config, tmp_path, capsys, sample, says):
    code, out, err = run(config, tmp_path, sample, capsys)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and says in err, err


def test_a_missing_sample_is_one_line(config, tmp_path, capsys):
    code = cli.main(["--config", str(config), "rules", "test", str(tmp_path / "gone.json")])
    err = capsys.readouterr().err
    assert code == 2 and "gone.json: cannot read the sample event" in err


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(["event", "channel", "text", "labels", "contact", "at", "x"]),
                    inner,
                    max_size=6,
                )
            ),
            max_leaves=12,
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_any_file_is_facts_or_one_line_sample_error(data):
    try:
        parse_sample(data, "s.json")
    except SampleError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("s.json")


def test_doctor_names_the_line_of_each_rule_naming_what_the_setup_lacks(tmp_path, capsys):
    from frontdesk.config import load_config
    from frontdesk.doctor import check_rules

    path = tmp_path / "config.toml"
    path.write_text(
        textwrap.dedent(CONFIG)
        + textwrap.dedent(
            """
            [escalation]
            targets = ["billing"]

            [[rules]]
            name = "Sales"
            event = "conversation_created"
            conditions = [{ attribute = "channel", operator = "equal_to", values = ["telegram"] }]
            actions = [
              { action = "assign_team", params = ["sales"] },
              { action = "add_label", params = ["sales"] },
            ]
            """
        ),
        encoding="utf-8",
    )
    (tmp_path / "canned.toml").write_text(
        '[[replies]]\nshortcode = "refund-ack"\ntitle = "t"\nbody = "b"\n', encoding="utf-8"
    )
    problems = check_rules(load_config(path))
    assert problems == [
        f"{path}:15: rule 'Refunds': assign_agent \"ben\" names an agent the config does not "
        "know (aiko); add them to [agent] agents or [team.agents], or fix the name",
        f"{path}:27: rule 'Night': send_canned_reply \"away\" names no canned reply in "
        f"{tmp_path / 'canned.toml'}; add /away there or fix the shortcode",
        f"{path}:42: rule 'Sales': assign_team \"sales\" names a team not in [escalation] "
        "targets (billing); add it there or fix the name",
        f"{path}:40: rule 'Sales': names channel 'telegram', which no [[channels]] block has "
        "(names and backends: wa, whatsapp); fix the value",
    ]
    assert "rules:  4 in" in capsys.readouterr().out
