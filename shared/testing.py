"""Test and benchmark support: run services in-process against the real Kafka and MongoDB."""
from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import struct
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Callable

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from werkzeug.serving import make_server

from shared import topics
from shared.auth import Principal, issue_token
from shared.config import Config
from shared.envelope import Event, new_event
from shared.kafka_bus import ensure_topics, make_producer
from shared.outbox import Relay
from shared.worker import build_consumer

log = logging.getLogger(__name__)


def wait_until(predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.05, message: str = ""):
    """Poll until predicate() is truthy and return its value; AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message or predicate}")
        time.sleep(interval)


class Deployment:
    """One isolated deployment inside shared infrastructure: its own topic prefix and databases."""

    def __init__(self, kafka_bootstrap: str, mongo_url: str, name: str | None = None):
        self.prefix = f"t{name or uuid.uuid4().hex[:10]}."
        self.kafka_bootstrap = kafka_bootstrap
        self.mongo_url = mongo_url
        self.services: dict[str, ServiceHarness] = {}
        self._producer: KafkaProducer | None = None
        ensure_topics(kafka_bootstrap, self.prefix)

    def config(self, service: str, **overrides) -> Config:
        """A Config for `service` pointing at this deployment's topics and databases."""
        values = dict(mongo_url=self.mongo_url, kafka_bootstrap=self.kafka_bootstrap, topic_prefix=self.prefix,
                      mongo_db=f"{self.prefix.replace('.', '_')}{service}", rate_limit_storage="memory://")
        values.update(overrides)
        return Config.from_env(service, env={}, **values)

    def service(self, name: str, workers: bool = True, **overrides) -> "ServiceHarness":
        """Start (once) the named service in-process, with its relay and consumer threads."""
        if name not in self.services:
            harness = ServiceHarness(self.config(name, **overrides))
            if workers:
                harness.start_workers()
            self.services[name] = harness
        return self.services[name]

    def token(self, member_id: str, community_id: str, *roles: str, merchant_id: str | None = None) -> str:
        """A bearer token as the community service would sign it."""
        return issue_token(self.config("community"), Principal(member_id, community_id, roles or ("resident",),
                                                                 merchant_id))

    def publish(self, topic: str, type_: str, payload: dict, key: str, event_id: str | None = None,
                occurred_at: str | None = None) -> Event:
        """Publish an event on this deployment's `topic` as its producing service would (tests stand in for it),
        stamped now or at `occurred_at` (ISO)."""
        event = new_event(type_, payload, key=key, producer=topic.split(".")[0],
                          community_id=payload.get("community_id"))
        if event_id:
            event = dataclasses.replace(event, id=event_id)
        if occurred_at:
            event = dataclasses.replace(event, occurred_at=occurred_at)
        if self._producer is None:
            self._producer = KafkaProducer(bootstrap_servers=self.kafka_bootstrap, acks="all")
        self._producer.send(self.prefix + topic, key=key.encode(), value=event.to_json()).get(timeout=30)
        return event

    def events(self, topic: str, type_: str | None = None, key: str | None = None, **payload) -> list[dict]:
        """Every event on this deployment's `topic` so far, optionally only of a type, key and payload values."""
        consumer = KafkaConsumer(bootstrap_servers=self.kafka_bootstrap, group_id=None, enable_auto_commit=False)
        try:
            name = self.prefix + topic
            partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            end = consumer.end_offsets(partitions)
            found = []
            while any(consumer.position(tp) < end[tp] for tp in partitions):
                for records in consumer.poll(timeout_ms=500).values():
                    found.extend(json.loads(r.value) for r in records)
        finally:
            consumer.close()
        return [e for e in found if (type_ is None or e["type"] == type_) and (key is None or e["key"] == key)
                and all(e["payload"].get(k) == v for k, v in payload.items())]

    def close(self) -> None:
        """Stop every service's workers and close their clients."""
        for harness in self.services.values():
            harness.close()
        self.services.clear()
        if self._producer is not None:
            self._producer.close(timeout=5)
            self._producer = None


class ServiceHarness:
    """A service's Flask app (test client) plus its relay and consumer running in threads."""

    def __init__(self, config: Config):
        self.config = config
        self.app = importlib.import_module(f"services.{config.service}.app").create_app(config)
        self.runtime = self.app.extensions["runtime"]
        self.http = self.app.test_client()
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.producer = None
        self.consumer = None
        self.failures: list[str] = []  # what killed a worker thread (each then restarted, as supervisord would)

    def start_workers(self) -> None:
        """Run the outbox relay and (if the service has one) the consumer in background threads."""
        self.producer = make_producer(self.config)
        relay = Relay(self.runtime.db, self.producer)
        self._spawn(lambda: relay.run(self.stop_event, idle_wait=0.2))
        try:
            importlib.import_module(f"services.{self.config.service}.consumers")
        except ModuleNotFoundError:
            return
        self.consumer = build_consumer(self.config.service, self.runtime, self.producer)
        self._spawn(self.consumer.run)

    def _spawn(self, target) -> None:
        thread = threading.Thread(target=self._supervised, args=(target,), daemon=True,
                                  name=f"{self.config.service}-worker")
        thread.start()
        self.threads.append(thread)

    def _supervised(self, target) -> None:
        """Run a worker loop; if it dies, log and record why and start it again a second later, as the process
        supervisor does in a deployment (a thread that died in silence once left a test waiting for events)."""
        while not self.stop_event.is_set():
            try:
                target()
                return
            except Exception as exc:  # noqa: BLE001 - recorded, logged and restarted
                log.exception("worker thread died; restarting it", extra={"service": self.config.service})
                self.failures.append(repr(exc)[:300])
                self.stop_event.wait(1.0)

    @property
    def partitions_missing(self) -> int:
        """How many partitions of its topics the consumer does not own (0 without a consumer)."""
        if self.consumer is None:
            return 0
        return max(0, len(self.consumer.topics) * topics.PARTITIONS - self.consumer.assigned)

    def consumer_state(self) -> str:
        """One line on the consumer: partitions owned of all, seconds since its last poll, worker failures."""
        if self.consumer is None:
            return f"{self.config.service}: no consumer"
        polled = self.consumer.polled_at
        since = "never polled" if polled is None else f"polled {time.monotonic() - polled:.1f}s ago"
        alive = sum(t.is_alive() for t in self.threads)
        owned = self.consumer.assigned
        return (f"{self.config.service}: {owned}/{owned + self.partitions_missing} partitions, {since}, "
                f"{alive}/{len(self.threads)} worker threads alive, failures {self.failures}")

    @property
    def db(self):
        """The service's own database (for assertions on stored state)."""
        return self.runtime.db

    def close(self) -> None:
        """Stop the workers and close clients."""
        self.stop_event.set()
        if self.consumer is not None:
            self.consumer.stop()
        for thread in self.threads:
            thread.join(timeout=10)
        if self.producer is not None:
            self.producer.close(timeout=5)
        self.runtime.close()


@contextmanager
def serve(app):
    """Serve a WSGI app on a free loopback port in a thread (real HTTP between services); yields its URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def bearer(token: str, **headers) -> dict:
    """Authorization headers for a test request."""
    return {"Authorization": f"Bearer {token}", **headers}


def openapi_response(spec: dict, operation: dict, status: int | str) -> dict:
    """An operation's documented response for `status`, following a `$ref` to the document's components (the
    shared problem responses are referenced by name)."""
    response = operation["responses"][str(status)]
    while "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response


def cross_transfer_posted(quote: dict, trust_line_id: str, agreement_id: str, transfer_id: str,
                          payer_id: str = "m_payer", payee_id: str = "m_payee") -> dict:
    """The payload of ledger.events CrossTransferPosted for a cross-community transfer priced by the exchange's
    `quote` (GET /v1/trust-lines/<id>/quote), as the ledger publishes it after posting (the contract)."""
    from datetime import datetime, timezone
    unit, payer, payee = trust_line_id.rsplit(":", 1)[1], quote["payer_community"], quote["payee_community"]
    return {
        "transfer_id": transfer_id, "community_id": payer, "trust_line_id": trust_line_id,
        "agreement_id": agreement_id, "unit": unit, "workflow": "credit",
        "payer_community": payer, "payee_community": payee, "payer_id": payer_id, "payee_id": payee_id,
        "debit_amount": quote["debit_amount"], "credit_amount": quote["credit_amount"],
        "payer_point_value_fen": quote["payer_point_value_fen"], "payee_point_value_fen": quote["payee_point_value_fen"],
        "measure": quote["measure"], "rate_version": 1,
        "debit_account": f"m:{payer}:{payer_id}:{unit}",
        "payer_clearing_account": f"p:{payer}:{payee}:{unit}",
        "payee_clearing_account": f"p:{payee}:{payer}:{unit}",
        "credit_account": f"m:{payee}:{payee_id}:{unit}",
        "posted_at": datetime.now(timezone.utc).isoformat()}


def tiny_png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG image of `width` × `height` red pixels (for tests that upload a photo)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# A resident's home as a camera writes it into EXIF: 31°14'12.34" N, 121°28'56.78" E (GPS IFD rationals), and the
# phone's name. Tests assert these bytes are gone from a stored photo.
GPS_LATITUDE = struct.pack(">6I", 31, 1, 14, 1, 1234, 100)
GPS_LONGITUDE = struct.pack(">6I", 121, 1, 28, 1, 5678, 100)
CAMERA_MAKE = b"PhoneCam GPS-7\x00"
XMP_GPS = (b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:Description "
           b"exif:GPSLatitude='31,14.2057N' exif:GPSLongitude='121,28.9463E'/></x:xmpmeta>")


def exif_with_gps(orientation: int = 6) -> bytes:
    """A big-endian EXIF TIFF block, crafted byte by byte: IFD0 with Make, Orientation and a GPS IFD pointer; the
    GPS IFD with latitude and longitude (N/E) as rationals."""
    def entry(tag: int, kind: int, count: int, value: bytes) -> bytes:
        return struct.pack(">HHI", tag, kind, count) + value.ljust(4, b"\x00")
    ifd0_at, make_at = 8, 8 + 2 + 3 * 12 + 4
    gps_at = make_at + len(CAMERA_MAKE) + (len(CAMERA_MAKE) & 1)
    lat_at = gps_at + 2 + 4 * 12 + 4
    lon_at = lat_at + len(GPS_LATITUDE)
    ifd0 = (struct.pack(">H", 3) + entry(0x010F, 2, len(CAMERA_MAKE), struct.pack(">I", make_at))
            + entry(0x0112, 3, 1, struct.pack(">H", orientation)) + entry(0x8825, 4, 1, struct.pack(">I", gps_at))
            + struct.pack(">I", 0))
    gps = (struct.pack(">H", 4) + entry(1, 2, 2, b"N\x00") + entry(2, 5, 3, struct.pack(">I", lat_at))
           + entry(3, 2, 2, b"E\x00") + entry(4, 5, 3, struct.pack(">I", lon_at)) + struct.pack(">I", 0))
    tiff = b"MM\x00\x2a" + struct.pack(">I", ifd0_at) + ifd0 + CAMERA_MAKE.ljust(gps_at - make_at, b"\x00") + gps
    return tiff + GPS_LATITUDE + GPS_LONGITUDE


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_gps(width: int = 16, height: int = 8, orientation: int = 6, base: bytes | None = None, **save) -> bytes:
    """A real JPEG (encoded by Pillow, a test-only dependency; or `base`, a JPEG without metadata) as a phone writes
    it: EXIF with a GPS position and an orientation, XMP with the position again, an IPTC block, a comment, and a
    trailer after the image."""
    if base is None:
        import io

        from PIL import Image

        image = Image.new("RGB", (width, height))
        image.putdata([(x * 15 % 256, y * 30 % 256, (x * y) % 256) for y in range(height) for x in range(width)])
        out = io.BytesIO()
        image.save(out, "JPEG", quality=90, **save)
        base = out.getvalue()
    metadata = (jpeg_segment(0xE1, b"Exif\x00\x00" + exif_with_gps(orientation)) + jpeg_segment(0xE1, XMP_GPS)
                + jpeg_segment(0xED, b"Photoshop 3.0\x00" + GPS_LATITUDE) + jpeg_segment(0xFE, CAMERA_MAKE))
    return base[:2] + metadata + base[2:] + b"trailer " + GPS_LONGITUDE


def png_with_gps(width: int = 2, height: int = 2) -> bytes:
    """`tiny_png` with an eXIf chunk holding a GPS position, and tEXt, zTXt and tIME chunks."""
    import zlib
    plain = tiny_png(width, height)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    extra = (chunk(b"eXIf", exif_with_gps()) + chunk(b"tEXt", b"Comment\x00" + CAMERA_MAKE)
             + chunk(b"zTXt", b"Raw profile\x00\x00" + zlib.compress(GPS_LONGITUDE))
             + chunk(b"tIME", struct.pack(">HBBBBB", 2026, 11, 29, 8, 0, 0)))
    ihdr_end = 8 + 25
    return plain[:ihdr_end] + extra + plain[ihdr_end:]
