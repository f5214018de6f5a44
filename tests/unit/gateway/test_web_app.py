"""The web app's own checks from pytest: its Vitest units pass, and its problem catalogue covers every code the
services answer with (so no problem reaches a resident as raw English)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
WEB = ROOT / "services" / "gateway" / "web"
CODE = re.compile(r"""\bcode=["']([a-z_]+)["']""")
# Codes that reach the app some other way than `code="..."` in a service (the requests service's check-code
# refusals come from its CODE_MESSAGES keys).
OTHER_CODES = {"no_code", "code_used", "code_expired", "code_locked", "wrong_code"}


def service_codes() -> set[str]:
    codes = set(OTHER_CODES)
    for folder in (ROOT / "services", ROOT / "shared"):
        for source in folder.rglob("*.py"):
            if "demo" in source.parts:
                continue
            codes |= set(CODE.findall(source.read_text(encoding="utf-8")))
    return codes


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_problem_code_of_the_services_has_a_message(locale):
    catalogue = json.loads((WEB / "src" / "locales" / f"{locale}.json").read_text(encoding="utf-8"))
    codes = service_codes()
    assert len(codes) > 50  # the scan found the services' codes
    missing = sorted(codes - set(catalogue["problems"]))
    assert not missing, f"no {locale} message for: {missing}"


def test_the_chinese_messages_are_chinese():
    catalogue = json.loads((WEB / "src" / "locales" / "zh-CN.json").read_text(encoding="utf-8"))
    english_only = [code for code, text in catalogue["problems"].items() if not re.search(r"[\u4e00-\u9fff]", text)]
    assert not english_only


def test_vitest_units_pass():
    npm = shutil.which("npm")
    if npm is None or not (WEB / "node_modules").is_dir():
        pytest.skip("the web app's node_modules are not installed (make web)")
    run = subprocess.run([npm, "test", "--silent"], cwd=WEB, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"Tests\s+.*\d+ passed", re.sub(r"\x1b\[[0-9;]*m", "", run.stdout))
