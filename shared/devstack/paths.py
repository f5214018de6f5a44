"""Where the local dev stack keeps its binaries and data (everything under the git-ignored .local/)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / ".local"

KAFKA_POM = ROOT / "infra" / "kafka" / "pom.xml"
KAFKA_LOG4J = ROOT / "infra" / "kafka" / "log4j.properties"
KAFKA_LIBS = LOCAL / "kafka" / "libs"

MONGODB_HOME = LOCAL / "mongodb"
MONGOD_BIN = MONGODB_HOME / "fiftyone" / "db" / "bin" / "mongod"

DATA = LOCAL / "data"
KAFKA_DATA = DATA / "kafka"
MONGO_DATA = DATA / "mongo"
