"""Rules simulation jobs (规则模拟): an admin asks how a proposed rule set would play out over a synthetic year of
their community, side by side with the current rules (`shared.economy.simulator`). Pure: the job's document,
its states and how a worker runs it; the scheduler (`scheduler.py`) claims and stores.

A job is `queued` when asked for, `running` once a worker has claimed it (it holds a lease it renews with every
progress write), then `done` (with the figures) or `failed` (with a coded reason). A worker that dies leaves
its lease to lapse: the next worker claims the job again and runs it from the start — the simulation is
deterministic, so the figures are the same — up to MAX_ATTEMPTS claims; after that the job fails with
`simulation_worker_lost`. Nothing here is published: the job concerns only the admin who asked."""
from __future__ import annotations

from datetime import datetime, timedelta

from shared.economy import RuleSet
from shared.economy.simulator import Params, compare
from shared.errors import NotFound, Problem
from services.community.model import new_id

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
MAX_ATTEMPTS = 3
LEASE = timedelta(seconds=60)     # a running job whose lease lapsed belongs to a worker that died


def new_job(community_id: str, by: str, at: datetime, current: RuleSet, proposed: RuleSet, draft: bool,
            params: Params) -> dict:
    """The job as stored: both rule sets whole (so the run needs no lookup and is reproducible), the parameters
    (defaults filled in), who asked and when."""
    return {"_id": new_id("sim"), "community_id": community_id, "requested_by": by, "requested_at": at,
            "status": QUEUED, "progress": 0, "attempts": 0,
            "current": {"version": current.version, "rules": current.document},
            "proposed": {"version": proposed.version, "draft": draft, "rules": proposed.document},
            "params": params.to_dict()}


def run(job: dict, progress) -> dict:
    """The side-by-side figures of a job (`progress(percent)` as it goes)."""
    current = RuleSet(job["current"]["rules"], job["current"]["version"])
    proposed = RuleSet(job["proposed"]["rules"], job["proposed"]["version"])
    return compare(Params.from_dict(job["params"]), current, proposed, progress)


def claim_filter(now: datetime) -> dict:
    """Jobs a worker may claim: queued ones, and running ones whose worker's lease has lapsed."""
    return {"$or": [{"status": QUEUED}, {"status": RUNNING, "lease_until": {"$lt": now}}]}


def claimed(worker: str, now: datetime) -> dict:
    """The update that claims a job for `worker`."""
    return {"$set": {"status": RUNNING, "claimed_by": worker, "lease_until": now + LEASE, "started_at": now,
                     "progress": 0}, "$inc": {"attempts": 1}}


def lost(job: dict) -> bool:
    """Whether a job has been claimed more often than a run may take (its workers keep dying)."""
    return job["attempts"] > MAX_ATTEMPTS


def failure(error: Exception) -> dict:
    """The coded reason stored on a failed job."""
    if isinstance(error, Problem):
        return {"code": error.code or "simulation_failed", "detail": str(error.detail)}
    return {"code": "simulation_failed", "detail": f"模拟出错：{type(error).__name__}。 The simulation failed: "
                                                   f"{type(error).__name__}."}


WORKER_LOST = {"code": "simulation_worker_lost",
               "detail": f"模拟任务的执行进程连续 {MAX_ATTEMPTS} 次中断，已放弃；请重新提交。 The workers running this "
                         f"simulation stopped {MAX_ATTEMPTS} times; it was given up: submit it again."}


def view(job: dict) -> dict:
    """What the admin sees of a job."""
    out = {"job_id": job["_id"], "community_id": job["community_id"], "status": job["status"],
           "progress": job["progress"], "requested_at": job["requested_at"], "attempts": job["attempts"],
           "current_version": job["current"]["version"], "proposed_version": job["proposed"]["version"],
           "proposed_draft": job["proposed"]["draft"], "params": job["params"]}
    for key in ("started_at", "finished_at", "error", "result"):
        if job.get(key) is not None:
            out[key] = job[key]
    return out


def unknown_job(job_id: str) -> NotFound:
    return NotFound(f"没有模拟任务 {job_id}。 No simulation {job_id}.", code="unknown_simulation")
