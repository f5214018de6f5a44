"""The operator CLI creates a new deployment's first community and admin, who can then log in."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_bootstrap_cli_creates_a_community_whose_admin_logs_in(deployment):
    svc = deployment.service("community", workers=False)
    config = svc.config
    env = {**os.environ, "MONGO_URL": config.mongo_url, "MONGO_DB": config.mongo_db,
           "KAFKA_BOOTSTRAP": config.kafka_bootstrap, "TOPIC_PREFIX": config.topic_prefix,
           "COMMUNITY_BOOTSTRAP_ADMIN_PASSWORD": "24681357"}
    argv = [sys.executable, "-m", "services.community.cli", "bootstrap", "--code", "plum-court",
            "--name", "梅园社区", "--admin-phone", "13700000001"]
    made = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr[-2000:]
    ids = json.loads(made.stdout.strip().splitlines()[-1])

    login = svc.http.post("/v1/auth/login", json={"community_code": "plum-court", "phone": "13700000001",
                                                  "password": "24681357"})
    assert login.status_code == 200
    assert login.json["member_id"] == ids["admin_member_id"] and "admin" in login.json["roles"]
    assert svc.db.outbox.count_documents({"type": {"$in": ["CommunityCreated", "MemberJoined"]}}) == 2

    again = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and again.stderr.strip() == ("error: 社区代码 plum-court 已被占用。 "
                                                                 "Community code 'plum-court' is taken.")
    assert "Traceback" not in again.stderr
    assert svc.db.communities.count_documents({}) == 1
