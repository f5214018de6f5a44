"""Operator CLI: `python -m services.community.cli bootstrap` creates a community and its first admin;
`python -m services.community.cli strip-photos` strips the metadata (EXIF GPS…) of 随手拍 photos stored before
uploads were stripped, and prints the counts."""
from __future__ import annotations

import argparse
import getpass
import json
import os
import sys

from shared.config import Config
from shared.errors import Problem
from shared.runtime import build_runtime
from services.community import commands
from services.community.bootstrap import bootstrap
from services.community.reports_store import PhotoStore


def main(argv=None) -> None:
    """Create a community with its first admin; values from flags or COMMUNITY_BOOTSTRAP_* variables."""
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    boot = sub.add_parser("bootstrap", help="create a community and its first admin")
    boot.add_argument("--code", default=env("COMMUNITY_BOOTSTRAP_CODE"))
    boot.add_argument("--name", default=env("COMMUNITY_BOOTSTRAP_NAME"))
    boot.add_argument("--point-value-fen", type=int, default=int(env("COMMUNITY_BOOTSTRAP_POINT_VALUE_FEN", "10")))
    boot.add_argument("--admin-name", default=env("COMMUNITY_BOOTSTRAP_ADMIN_NAME", "Admin"))
    boot.add_argument("--admin-phone", default=env("COMMUNITY_BOOTSTRAP_ADMIN_PHONE"))
    sub.add_parser("strip-photos", help="strip the metadata of report photos stored before uploads were stripped")
    args = parser.parse_args(argv)
    if args.command == "strip-photos":
        runtime = build_runtime(Config.from_env("community"))
        try:
            print(json.dumps(PhotoStore(runtime.db).strip_stored()))
        finally:
            runtime.close()
        return
    missing = [n for n in ("code", "name", "admin_phone") if not getattr(args, n)]
    if missing:
        parser.error(f"missing: {', '.join('--' + m.replace('_', '-') for m in missing)}")
    secret = env("COMMUNITY_BOOTSTRAP_ADMIN_PASSWORD") or getpass.getpass("Admin PIN or password: ")
    runtime = build_runtime(Config.from_env("community"))
    try:
        result = bootstrap(runtime).handle(commands.CreateCommunity(
            code=args.code, name=args.name, point_value_fen=args.point_value_fen, settings={},
            admin={"display_name": args.admin_name, "phone": args.admin_phone, "password": secret}))
    except Problem as problem:
        sys.exit(f"error: {problem.detail or problem.title}")
    finally:
        runtime.close()
    print(json.dumps({"community_id": result["community"]["community_id"],
                      "admin_member_id": result["admin_member_id"]}))


if __name__ == "__main__":
    main()
