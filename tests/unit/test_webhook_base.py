"""The webhook plugin API's rules: provider signatures on the raw body, Meta's subscription
check, and a profile learnt after the message fills only a name the channel had not given."""

import base64
import hashlib
import hmac
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.backends.webhook import line_signature_ok, meta_challenge, meta_signature_ok
from frontdesk.desk import Desk
from frontdesk.model import ContactProfile, ContactRef, Inbound
from frontdesk.store import Store

BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def meta_header(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def line_header(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_meta_signature_accepts_only_the_app_secrets_hmac_of_the_raw_body():
    assert meta_signature_ok("s3cret", meta_header("s3cret", BODY), BODY)
    assert not meta_signature_ok("s3cret", meta_header("other", BODY), BODY)
    assert not meta_signature_ok("s3cret", meta_header("s3cret", BODY), BODY + b" ")
    assert not meta_signature_ok("s3cret", meta_header("s3cret", BODY)[7:], BODY)  # no sha256=
    assert not meta_signature_ok("s3cret", None, BODY)
    assert not meta_signature_ok("", meta_header("", BODY), BODY)  # no secret set: refuse all


def test_line_signature_accepts_only_the_channel_secrets_base64_hmac():
    assert line_signature_ok("chan", line_header("chan", BODY), BODY)
    assert not line_signature_ok("chan", line_header("chan", BODY + b"x"), BODY)
    assert not line_signature_ok("chan", "", BODY)
    assert not line_signature_ok("chan", "ünïcode", BODY)


@given(st.binary(max_size=200), st.text(max_size=80))
def test_a_forged_signature_never_passes(body, header):
    assert not meta_signature_ok("k", header, body) or header == meta_header("k", body)
    assert not line_signature_ok("k", header, body) or header.strip() == line_header("k", body)


def test_meta_challenge_answers_only_the_right_verify_token():
    query = {"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "1158201444"}
    assert meta_challenge("tok", query) == "1158201444"
    assert meta_challenge("other", query) is None
    assert meta_challenge("tok", {**query, "hub.mode": "unsubscribe"}) is None
    assert meta_challenge("", {**query, "hub.verify_token": ""}) is None


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "data") as s:
        yield s


async def test_a_profile_names_a_contact_known_only_by_address_and_never_renames_one(store):
    desk = Desk(store, {}, agent="Aiko")
    at = datetime(2026, 12, 6, tzinfo=timezone.utc)
    await desk.ingest("line", [Inbound("m1", "U1", ContactRef("U1"), "hi", created_at=at)])
    await desk.ingest("line", [Inbound("m2", "U2", ContactRef("U2", "Ken"), "yo", created_at=at)])
    await desk.ingest("line", [ContactProfile("U1", "Mia", "ja"), ContactProfile("U2", "Kenji")])
    names = {c.thread_key: (await desk.contact(c.contact_id)) for c in await desk.conversations()}
    assert (names["U1"].name, names["U1"].language) == ("Mia", "ja")
    assert names["U2"].name == "Ken"
    await desk.ingest("line", [ContactProfile("U9", "Nobody")])  # unknown sender: ignored
