"""Rules simulation jobs against real MongoDB and Kafka: an admin submits proposed rules, the community service's
scheduler role claims the job, writes its progress up to 100 and stores the side-by-side figures — identical for
the same seed; refusals store nothing; a job whose worker died is claimed again, or failed clearly."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from shared.testing import bearer, wait_until
from services.community import scheduler, simulations

OPERATOR = {"X-Operator-Key": "dev-operator-key"}
PROBLEM = "application/problem+json"
SMALL = {"households": 400, "grids": 2}
TIGHTER = {"caps": {"per_activity": None, "per_day": 60, "per_year": 400}}


def _community(http, code: str, phone: str) -> dict:
    made = http.post("/v1/communities", headers=OPERATOR, json={
        "code": code, "name": "模拟社区", "point_value_fen": 10,
        "admin": {"display_name": "周主任", "phone": phone, "password": "135790"}})
    assert made.status_code == 201, made.json
    login = http.post("/v1/auth/login", json={"community_code": code, "phone": phone, "password": "135790"})
    return {"cid": made.json["community"]["community_id"], "admin": bearer(login.json["token"])}


@pytest.fixture(scope="module")
def world(module_deployment):
    svc = module_deployment.service("community")
    http = svc.http
    home, other = _community(http, "simtown", "13800000301"), _community(http, "othertown", "13800000302")
    assert http.post(f"/v1/communities/{home['cid']}/members", headers=home["admin"], json={
        "display_name": "李阿姨", "phone": "13900000311", "password": "864200"}).status_code == 201
    login = http.post("/v1/auth/login", json={"community_code": "simtown", "phone": "13900000311",
                                              "password": "864200"})
    return {"svc": svc, "http": http, **home, "other": other, "resident": bearer(login.json["token"])}


@pytest.fixture
def worker(world):
    """The community service's scheduler role, running in a thread as `python -m shared.worker community
    scheduler` runs it."""
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run, args=(world["svc"].runtime, None, stop), daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=60)


def _url(world, tail: str = "") -> str:
    return f"/v1/communities/{world['cid']}/points-rules/simulations{tail}"


def _submit(world, **body):
    return world["http"].post(_url(world), headers=world["admin"], json=body)


def _finished(world, job_id: str, seen: list) -> dict:
    def done():
        got = world["http"].get(_url(world, f"/{job_id}"), headers=world["admin"])
        assert got.status_code == 200, got.json
        seen.append(got.json["progress"])
        return got.json if got.json["status"] in (simulations.DONE, simulations.FAILED) else None
    return wait_until(done, timeout=240, interval=0.05, message="the simulation to finish")


def test_a_simulation_runs_on_the_worker_with_progress_and_the_same_seed_gives_the_same_figures(world, worker):
    first = _submit(world, seed=42, proposed_rules=TIGHTER, community=SMALL)
    assert first.status_code == 202, first.json
    job = first.json
    assert first.headers["Location"].endswith(f"/points-rules/simulations/{job['job_id']}")
    assert (job["status"], job["progress"], job["attempts"]) == ("queued", 0, 0)
    assert (job["current_version"], job["proposed_version"], job["proposed_draft"]) == (0, 1, True)
    assert job["params"]["households"] == 400 and job["params"]["point_value_fen"] == 10  # the community's value
    stored = world["svc"].db.simulations.find_one({"_id": job["job_id"]})
    assert stored["proposed"]["rules"]["caps"] == {"per_activity": None, "per_day": 60, "per_year": 400}
    assert stored["current"]["rules"]["caps"]["per_year"] == 1000 and stored["requested_by"]

    seen: list[int] = []
    done = _finished(world, job["job_id"], seen)
    assert done["status"] == "done" and done["progress"] == 100 and done["attempts"] == 1, done
    assert seen == sorted(seen) and seen[-1] == 100
    result = done["result"]
    assert result["members"] == 400 and result["params"]["seed"] == 42
    current, proposed = result["current"], result["proposed"]
    assert (current["rule_version"], proposed["rule_version"]) == (0, 1)
    assert current["totals"]["issued"] > proposed["totals"]["issued"] > 0
    assert result["difference"]["issued"] == proposed["totals"]["issued"] - current["totals"]["issued"]
    assert len(current["monthly"]) == 12 and {r["grid"] for r in current["participation"]} == {"G001", "G002"}
    assert current["coverage"]["liability_fen"] == current["totals"]["outstanding"] * 10
    assert proposed["awards"]["cap_cuts"]["cap_per_year"]["count"] > 0
    assert set(current["expiring"]) == {"30", "90"} and current["concentration"]["gini"]

    again = _submit(world, seed=42, proposed_rules=TIGHTER, community=SMALL).json
    other = _submit(world, seed=43, proposed_rules=TIGHTER, community=SMALL).json
    again_done, other_done = _finished(world, again["job_id"], []), _finished(world, other["job_id"], [])
    assert again_done["result"] == result
    assert other_done["result"]["current"]["totals"] != current["totals"]


def test_a_stored_version_can_be_the_proposal(world, worker):
    http = world["http"]
    later = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
    published = http.post(f"/v1/communities/{world['cid']}/points-rules", headers=world["admin"],
                          json={"rules": {"expiry": {"mode": "rolling", "months": 3}}, "effective_from": later})
    assert published.status_code == 201, published.json
    version = published.json["version"]
    job = _submit(world, seed=7, proposed_version=version, community=SMALL)
    assert job.status_code == 202 and job.json["proposed_draft"] is False
    done = _finished(world, job.json["job_id"], [])
    assert done["status"] == "done"
    assert done["result"]["proposed"]["totals"]["expired"] > 0 == done["result"]["current"]["totals"]["expired"]


@pytest.mark.parametrize("body, status, code", [
    ({"seed": 1}, 422, "validation_failed"),                                          # no proposal
    ({"seed": 1, "proposed_version": 0, "proposed_rules": {}}, 422, "validation_failed"),  # two
    ({"proposed_version": 0}, 422, "validation_failed"),                              # no seed
    ({"seed": 1, "proposed_rules": {"caps": {"per_activity": 50, "per_day": 10}}}, 422, "rules_caps_inconsistent"),
    ({"seed": 1, "proposed_version": 0, "community": {"households": 0}}, 422, "simulation_bad_parameters"),
    ({"seed": 1, "proposed_version": 0, "community": {"ratings": {"5": 0}}}, 422, "simulation_bad_parameters"),
    ({"seed": 1, "proposed_version": 0, "community": {"colour": "red"}}, 422, "validation_failed"),
    ({"seed": 1, "proposed_version": 99}, 404, "unknown_rules_version"),
    ({"seed": 1, "proposed_version": 0, "current_version": 99}, 404, "unknown_rules_version"),
])
def test_refusals_store_nothing(world, body, status, code):
    before = world["svc"].db.simulations.count_documents({})
    refused = _submit(world, **body)
    assert (refused.status_code, refused.mimetype, refused.json["code"]) == (status, PROBLEM, code), refused.json
    assert world["svc"].db.simulations.count_documents({}) == before


def test_only_the_communitys_admins_simulate_and_read(world):
    http = world["http"]
    before = world["svc"].db.simulations.count_documents({})
    body = {"seed": 1, "proposed_version": 0}
    assert http.post(_url(world), headers=world["resident"], json=body).json["code"] == "other_community"
    assert http.post(_url(world), headers=world["other"]["admin"], json=body).status_code == 403
    assert world["svc"].db.simulations.count_documents({}) == before
    job = _submit(world, seed=1, proposed_version=0, community=SMALL).json
    assert http.get(_url(world, f"/{job['job_id']}"), headers=world["resident"]).status_code == 403
    theirs = f"/v1/communities/{world['other']['cid']}/points-rules/simulations/{job['job_id']}"
    missing = http.get(theirs, headers=world["other"]["admin"])  # another community's job does not exist there
    assert (missing.status_code, missing.json["code"]) == (404, "unknown_simulation")
    world["svc"].db.simulations.delete_one({"_id": job["job_id"]})


def test_a_job_whose_worker_died_is_run_again_or_failed_clearly(world):
    db, http = world["svc"].db, world["http"]
    lapsed = datetime.now(timezone.utc) - timedelta(minutes=5)
    resumed = _submit(world, seed=5, proposed_version=0, community=SMALL).json["job_id"]
    given_up = _submit(world, seed=6, proposed_version=0, community=SMALL).json["job_id"]
    alive = _submit(world, seed=8, proposed_version=0, community=SMALL).json["job_id"]
    # a worker claimed each and died mid-run (its lease lapsed); the third's worker is alive
    db.simulations.update_one({"_id": resumed}, {"$set": {"status": "running", "claimed_by": "dead", "progress": 37,
                                                          "lease_until": lapsed, "attempts": 1}})
    db.simulations.update_one({"_id": given_up}, {"$set": {"status": "running", "claimed_by": "dead", "progress": 9,
                                                           "lease_until": lapsed,
                                                           "attempts": simulations.MAX_ATTEMPTS}})
    db.simulations.update_one({"_id": alive}, {"$set": {"status": "running", "claimed_by": "busy", "progress": 50,
                                                        "lease_until": datetime.now(timezone.utc) + timedelta(hours=1),
                                                        "attempts": 1}})
    assert scheduler.run_pending(db, "test-worker") == 1
    got = http.get(_url(world, f"/{resumed}"), headers=world["admin"]).json
    assert (got["status"], got["progress"], got["attempts"]) == ("done", 100, 2) and got["result"]["current"]
    failed = http.get(_url(world, f"/{given_up}"), headers=world["admin"]).json
    assert failed["status"] == "failed" and failed["error"]["code"] == "simulation_worker_lost"
    assert "result" not in failed
    untouched = db.simulations.find_one({"_id": alive})
    assert (untouched["status"], untouched["claimed_by"], untouched["progress"]) == ("running", "busy", 50)
    db.simulations.delete_one({"_id": alive})


def test_a_worker_that_lost_its_job_stops_writing(world):
    db = world["svc"].db
    job_id = _submit(world, seed=9, proposed_version=0, community=SMALL).json["job_id"]
    job = scheduler.claim(db, "slow-worker")
    assert job["_id"] == job_id
    db.simulations.update_one({"_id": job_id}, {"$set": {"claimed_by": "faster-worker"}})  # taken over
    with pytest.raises(scheduler.LostJob):
        scheduler.execute(db, job, "slow-worker")
    stored = db.simulations.find_one({"_id": job_id})
    assert (stored["status"], stored["claimed_by"], stored.get("result")) == ("running", "faster-worker", None)
    db.simulations.delete_one({"_id": job_id})
