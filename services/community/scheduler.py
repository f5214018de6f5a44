"""The community service's scheduler role: sweeps 随手拍 photos no report references (`sweep_photos`, every
COMMUNITY_PHOTO_SWEEP_INTERVAL seconds, default 600) and runs rules simulation jobs (`simulations.py`), one at a
time, oldest first. A job is claimed atomically (queued, or running with a lapsed lease: its worker died), its progress
written as it runs (renewing the lease; a worker that lost the job stops writing), its figures stored at the
end, or a coded failure."""
from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from pymongo import ReturnDocument

from shared.mongo import utcnow
from shared.worker import every
from services.community import simulations
from services.community.reports_store import PhotoStore

log = logging.getLogger(__name__)
DEFAULT_INTERVAL_SECONDS = 2
DEFAULT_PHOTO_SWEEP_SECONDS = 600


class LostJob(Exception):
    """Another worker claimed the job (this one's lease lapsed): stop running it."""


def claim(db, worker: str, now: datetime | None = None) -> dict | None:
    """Claim the oldest job that may be claimed; a job claimed too often is failed instead (and the next looked
    at). None when there is nothing to run."""
    while True:
        now = now or utcnow()
        job = db.simulations.find_one_and_update(simulations.claim_filter(now), simulations.claimed(worker, now),
                                                 sort=[("requested_at", 1)], return_document=ReturnDocument.AFTER)
        if job is None or not simulations.lost(job):
            return job
        db.simulations.update_one({"_id": job["_id"], "claimed_by": worker}, {"$set": {
            "status": simulations.FAILED, "error": simulations.WORKER_LOST, "finished_at": now}})
        log.warning("simulation given up", extra={"job_id": job["_id"], "attempts": job["attempts"]})


def _mine(job: dict, worker: str) -> dict:
    return {"_id": job["_id"], "claimed_by": worker, "status": simulations.RUNNING}


def execute(db, job: dict, worker: str) -> str:
    """Run a claimed job to the end; its final status (or raises LostJob if another worker took it over)."""
    def progress(percent: int) -> None:
        moved = db.simulations.update_one(_mine(job, worker), {"$set": {
            "progress": percent, "lease_until": utcnow() + simulations.LEASE}})
        if not moved.matched_count:
            raise LostJob(job["_id"])

    try:
        result = simulations.run(job, progress)
    except LostJob:
        raise
    except Exception as error:  # noqa: BLE001 - any failure of a run is the job's, stored with a code
        log.exception("simulation failed", extra={"job_id": job["_id"]})
        db.simulations.update_one(_mine(job, worker), {"$set": {
            "status": simulations.FAILED, "error": simulations.failure(error), "finished_at": utcnow()}})
        return simulations.FAILED
    db.simulations.update_one(_mine(job, worker), {"$set": {
        "status": simulations.DONE, "progress": 100, "result": result, "finished_at": utcnow()}})
    return simulations.DONE


def run_pending(db, worker: str) -> int:
    """Run jobs until none is left to claim; how many ran."""
    ran = 0
    while (job := claim(db, worker)) is not None:
        try:
            status = execute(db, job, worker)
            log.info("simulation finished", extra={"job_id": job["_id"], "status": status})
        except LostJob:
            log.warning("simulation taken over by another worker", extra={"job_id": job["_id"]})
        ran += 1
    return ran


def sweep_photos(db, now: datetime) -> int:
    """Remove the report photos older than the grace period (`reports.PHOTO_ORPHAN_GRACE`) that no report
    references: left by a process that died between storing a photo and committing its report."""
    removed = PhotoStore(db).sweep_orphans(now)
    if removed:
        log.info("orphan report photos removed", extra={"removed": removed})
    return removed


def run(runtime, producer, stop_event: threading.Event) -> None:
    """Every COMMUNITY_SCHEDULER_INTERVAL seconds (default 2) run the simulation jobs waiting; every
    COMMUNITY_PHOTO_SWEEP_INTERVAL seconds (default 600) sweep orphan photos."""
    interval = float(runtime.config.setting("SCHEDULER_INTERVAL", DEFAULT_INTERVAL_SECONDS))
    sweep_every = timedelta(seconds=float(runtime.config.setting("PHOTO_SWEEP_INTERVAL",
                                                                  DEFAULT_PHOTO_SWEEP_SECONDS)))
    worker = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    next_sweep = utcnow()

    def round_() -> None:
        nonlocal next_sweep
        now = utcnow()
        if now >= next_sweep:
            sweep_photos(runtime.db, now)
            next_sweep = now + sweep_every
        run_pending(runtime.db, worker)

    every(interval, round_, stop_event, "scheduler")
