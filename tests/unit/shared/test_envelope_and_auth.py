"""Shared library pieces that need no infrastructure: envelope, tokens, problems, config."""
import json

import jwt
import pytest
from marshmallow import ValidationError

from shared.auth import Principal, decode_token, issue_token
from shared.config import Config
from shared.envelope import new_event, parse_event
from shared.errors import Conflict, Unauthorized


def test_event_round_trips_through_kafka_bytes():
    event = new_event("MemberJoined", {"member_id": "m_1"}, key="m_1", producer="community", community_id="c_1")
    again = parse_event(event.to_json())
    assert again == event
    assert set(json.loads(event.to_json())) == {"id", "type", "version", "occurred_at", "producer", "community_id",
                                                "correlation_id", "causation_id", "key", "payload"}


def test_envelope_reader_is_lenient_about_extra_fields_but_strict_about_required_ones():
    event = new_event("X", {}, key="k", producer="p").to_dict()
    assert parse_event(json.dumps({**event, "added_later": 1}).encode()).id == event["id"]
    del event["type"]
    with pytest.raises(ValidationError):
        parse_event(json.dumps(event).encode())
    with pytest.raises(ValueError):
        parse_event(b"not json")


def test_tokens_round_trip_and_reject_tampering():
    config = Config.from_env("community", env={})
    token = issue_token(config, Principal("m_1", "c_1", ("resident", "organizer"), None))
    principal = decode_token(config, token)
    assert principal.member_id == "m_1" and principal.has_role("organizer")
    with pytest.raises(Unauthorized):
        decode_token(config, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    with pytest.raises(Unauthorized):
        decode_token(config.with_(jwt_secret="another-secret-another-secret-another"), token)


def test_expired_tokens_are_refused():
    config = Config.from_env("community", env={})
    token = issue_token(config, Principal("m_1", "c_1"), ttl_seconds=-1)
    with pytest.raises(Unauthorized):
        decode_token(config, token)


def test_a_merchant_id_counts_only_for_merchant_staff():
    config = Config.from_env("community", env={})
    staff = decode_token(config, issue_token(config, Principal("m_1", "c_1", ("merchant",), "mer_1")))
    assert staff.merchant_id == "mer_1"
    # Staff who left the shop keep it on their record but lose the role: the shop is not theirs any more,
    # whether the claim is left out when signing or present in a token signed before the rule.
    left = issue_token(config, Principal("m_1", "c_1", ("resident",), "mer_1"))
    assert "mid" not in jwt.decode(left, options={"verify_signature": False})
    claims = jwt.decode(left, config.jwt_secret, algorithms=["HS256"], issuer=config.jwt_issuer)
    old = jwt.encode({**claims, "mid": "mer_1"}, config.jwt_secret, algorithm="HS256")
    assert decode_token(config, left).merchant_id is None and decode_token(config, old).merchant_id is None


def test_problem_documents():
    doc = Conflict("Already confirmed.", code="already", transfer_id="t1").to_dict()
    assert doc["status"] == 409 and doc["code"] == "already" and doc["transfer_id"] == "t1"


def test_config_reads_service_specific_settings():
    config = Config.from_env("ledger", env={"LEDGER_PENDING_TTL_DAYS": "7", "TOPIC_PREFIX": "x."})
    assert config.setting("PENDING_TTL_DAYS") == "7"
    assert config.topic("ledger.events") == "x.ledger.events"
    assert config.mongo_db == "timebank_ledger"


def test_a_verified_token_is_cached_until_it_expires(monkeypatch):
    """Verified tokens are kept for their lifetime (one signature check per token, not per request), and a kept
    token still stops working when it expires; a tampered copy is never answered from the cache."""
    import time as real_time
    from shared import auth
    config = Config.from_env("community", env={})
    token = issue_token(config, Principal("m_cache", "c_1"), ttl_seconds=60)
    calls = []
    original = jwt.decode
    monkeypatch.setattr(auth.jwt, "decode", lambda *a, **k: calls.append(1) or original(*a, **k))
    assert decode_token(config, token).member_id == "m_cache"
    assert decode_token(config, token).member_id == "m_cache"
    assert len(calls) == 1
    with pytest.raises(Unauthorized):
        decode_token(config, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    with pytest.raises(Unauthorized):  # the same token under another key is verified afresh, and fails
        decode_token(config.with_(jwt_secret="another-secret-another-secret-another"), token)
    later = real_time.time() + 61
    monkeypatch.setattr(auth.time, "time", lambda: later)
    with pytest.raises(Unauthorized):
        decode_token(config, token)
