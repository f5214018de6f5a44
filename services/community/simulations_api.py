"""HTTP API of rules simulations (规则模拟): an admin submits proposed points rules and a synthetic community; a
worker of the community service runs it (`scheduler.py`); the admin polls the job for progress and figures."""
from __future__ import annotations

from shared.auth import require_community
from shared.mongo import utcnow
from shared.schemas import problem_responses
from shared.web import ServiceBlueprint as Blueprint, current_bus, current_db
from services.community import commands, schemas, simulations, views

blp = Blueprint("points_rules_simulations", __name__, url_prefix="/v1",
                description="规则模拟 Rules simulations: a synthetic year under proposed vs current rules (admins)")
BASE = "/communities/<community_id>/points-rules/simulations"


@blp.post(BASE)
@blp.arguments(schemas.SimulationRequestSchema())
@blp.response(202, schemas.SimulationJobSchema)
@problem_responses(blp, {"404": "no such rules version",
                         "422": "inconsistent proposed rules or simulation parameters"})
def submit(body, community_id):
    """Queue a simulation (admins): the proposed rules (a version, or a draft) against the current ones over a
    synthetic year of the community; answers at once with the job to poll."""
    admin = require_community(community_id, "admin")
    job = current_bus().handle(commands.RequestSimulation(
        community_id, {**body["community"], "seed": body["seed"]}, body.get("proposed_version"), body.get("proposed_rules"),
        body.get("current_version"), admin.member_id, utcnow()))
    return simulations.view(job), 202, {"Location": f"/v1/communities/{community_id}/points-rules/simulations/"
                                                    f"{job['_id']}"}


@blp.get(f"{BASE}/<job_id>")
@blp.response(200, schemas.SimulationJobSchema)
@problem_responses(blp, {"404": "no such simulation in this community"})
def status(community_id, job_id):
    """A simulation's status and progress (0-100); once done, the figures side by side (admins)."""
    require_community(community_id, "admin")
    return views.simulation(current_db(), community_id, job_id)
