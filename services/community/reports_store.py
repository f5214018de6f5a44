"""Storage of grid work: reports (`grid_reports`), their photos (GridFS bucket `report_photos` in the community
database), duty assignments (`duty_assignments`) and verifications (`duty_verifications`).

GridFS refuses multi-document transactions, so a photo is written before the report's transaction and removed
again if that transaction fails (`PhotoStore.save` / `discard`); the report document names it by id. A process
that dies between the two leaves a photo no report names: the scheduler sweeps those (`sweep_orphans`)."""
from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime, timedelta
from typing import Iterator

import gridfs
from bson import ObjectId
from bson.errors import InvalidId

from shared.errors import Conflict, NotFound, Problem
from shared.uow import Tx
from services.community.photos import strip_metadata
from services.community.reports import PHOTO_ORPHAN_GRACE, DutyAssignment, GridReport, orphan_photos

REPORTS, ASSIGNMENTS, VERIFICATIONS, BUCKET = "grid_reports", "duty_assignments", "duty_verifications", "report_photos"
_REPORT_FIELDS = {f.name for f in fields(GridReport)}
_ASSIGNMENT_FIELDS = {f.name for f in fields(DutyAssignment)}


def unknown_report(report_id: str) -> NotFound:
    return NotFound(f"没有这条随手拍。 No report {report_id}.", code="unknown_report")


class PhotoStore:
    """Report photos in GridFS (outside any transaction: GridFS does not support them)."""

    def __init__(self, db):
        self.db = db
        self.bucket = gridfs.GridFSBucket(db, bucket_name=BUCKET)

    def save(self, data: bytes, media_type: str, community_id: str, reporter_id: str) -> str:
        file_id = self.bucket.upload_from_stream(
            "photo", data, metadata={"content_type": media_type, "community_id": community_id,
                                     "reporter_id": reporter_id})
        return str(file_id)

    def discard(self, photo_id: str) -> None:
        try:
            self.bucket.delete(ObjectId(photo_id))
        except gridfs.errors.NoFile:
            pass

    def sweep_orphans(self, now: datetime, grace: timedelta = PHOTO_ORPHAN_GRACE, batch: int = 500) -> int:
        """Remove the photos uploaded before `now - grace` that no report references, oldest first, `batch` at a
        time; how many were removed. Idempotent and safe to run from several schedulers: a photo already gone is
        skipped."""
        files, reports, removed, cutoff = self.db[f"{BUCKET}.files"], self.db[REPORTS], 0, now - grace
        older = {"uploadDate": {"$lt": cutoff}}
        while True:
            docs = list(files.find(older, {"uploadDate": 1}).sort([("uploadDate", 1), ("_id", 1)]).limit(batch))
            if not docs:
                return removed
            at, last = docs[-1]["uploadDate"], docs[-1]["_id"]  # the next batch starts after this one
            older = {"uploadDate": {"$lt": cutoff}, "$or": [{"uploadDate": {"$gt": at}},
                                                            {"uploadDate": at, "_id": {"$gt": last}}]}
            uploaded = {str(d["_id"]): d["uploadDate"] for d in docs}
            referenced = {d["photo_id"] for d in reports.find({"photo_id": {"$in": list(uploaded)}}, {"photo_id": 1})}
            for photo_id in orphan_photos(uploaded, referenced, now, grace):
                self.discard(photo_id)
                removed += 1

    def strip_stored(self, batch: int = 100) -> dict:
        """Strip the metadata of the photos stored before uploads were stripped (`photos.strip_metadata`): each
        report's photo that changes is written anew, the report pointed at it (only if it still names the old
        one), then the old one removed. A crash midway leaves at most one unnamed photo (the sweep removes it);
        running it again rewrites nothing more. Counts: checked, rewritten, unreadable (left as they are)."""
        reports, counts, after = self.db[REPORTS], {"checked": 0, "rewritten": 0, "unreadable": 0}, ""
        while docs := list(reports.find({"_id": {"$gt": after}}, {"photo_id": 1, "photo_type": 1, "community_id": 1,
                                                                  "reporter_id": 1}).sort("_id", 1).limit(batch)):
            after = docs[-1]["_id"]
            for doc in docs:
                counts["checked"] += 1
                try:
                    data = b"".join(self.chunks(doc["photo_id"]))
                    clean = strip_metadata(data, doc["photo_type"])
                except Problem:
                    counts["unreadable"] += 1
                    continue
                if clean == data:
                    continue
                new_id = self.save(clean, doc["photo_type"], doc["community_id"], doc["reporter_id"])
                moved = reports.update_one({"_id": doc["_id"], "photo_id": doc["photo_id"]},
                                           {"$set": {"photo_id": new_id, "photo_bytes": len(clean)}})
                self.discard(doc["photo_id"] if moved.matched_count else new_id)
                counts["rewritten"] += moved.matched_count
        return counts

    def chunks(self, photo_id: str) -> Iterator[bytes]:
        """The photo's bytes, chunk by chunk."""
        try:
            stream = self.bucket.open_download_stream(ObjectId(photo_id))
        except (gridfs.errors.NoFile, InvalidId):
            raise NotFound("照片不存在。 The photo is gone.", code="unknown_photo") from None
        with stream:
            while chunk := stream.readchunk():
                yield chunk


def to_report(doc: dict) -> GridReport:
    return GridReport(**{k: v for k, v in doc.items() if k in _REPORT_FIELDS})


def to_assignment(doc: dict, periods=()) -> DutyAssignment:
    return DutyAssignment(**{k: v for k, v in doc.items() if k in _ASSIGNMENT_FIELDS and k != "verified_periods"},
                          verified_periods=tuple(periods))


class ReportRepository:
    """Reports and duties through one transaction."""

    def __init__(self, tx: Tx):
        self.tx = tx

    def add(self, report: GridReport) -> None:
        self.tx[REPORTS].insert_one({"_id": report.report_id, **asdict(report)})

    def get(self, community_id: str, report_id: str) -> GridReport:
        doc = self.tx[REPORTS].find_one({"_id": report_id, "community_id": community_id})
        if doc is None:
            raise unknown_report(report_id)
        return to_report(doc)

    def save_decision(self, report: GridReport) -> None:
        """Store a decision on a report that was open (a concurrent decision makes this match nothing)."""
        result = self.tx[REPORTS].update_one(
            {"_id": report.report_id, "status": "open"},
            {"$set": {k: getattr(report, k) for k in ("status", "major_hazard", "decided_at", "decided_by",
                                                       "reason")}})
        if result.matched_count != 1:
            raise Conflict("这条随手拍刚被处理。 This report was just decided.", code="report_decided")

    def assignment(self, community_id: str, assignment_id: str) -> DutyAssignment | None:
        doc = self.tx[ASSIGNMENTS].find_one({"_id": assignment_id, "community_id": community_id})
        return to_assignment(doc) if doc else None

    def save_assignment(self, assignment: DutyAssignment) -> None:
        doc = {k: v for k, v in asdict(assignment).items() if k != "verified_periods"}
        self.tx[ASSIGNMENTS].replace_one({"_id": assignment.assignment_id}, {"_id": assignment.assignment_id, **doc},
                                         upsert=True)

    def verification(self, verification_id: str) -> dict | None:
        return self.tx[VERIFICATIONS].find_one({"_id": verification_id})

    def add_verification(self, doc: dict) -> None:
        self.tx[VERIFICATIONS].insert_one({"_id": doc["verification_id"], **doc})
