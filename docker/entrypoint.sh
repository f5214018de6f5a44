#!/bin/sh
# Runs one role of the service this image was built for ($SERVICE): web | relay | consumer | scheduler | topics.
# Anything else is run as given (e.g. `python -m services.demo`).
set -eu
role="${1:-web}"
case "$role" in
  web)
    # In a container the web role must listen on every interface; shared.webserver defaults to 127.0.0.1.
    # The HTTP server (WEB_SERVER: gunicorn, or granian for the ledger) comes from shared.config.WEB_ENV.
    export BIND="${BIND:-0.0.0.0:${PORT:-8000}}"
    exec python -m shared.webserver "$SERVICE"
    ;;
  relay|consumer|scheduler)
    exec python -m shared.worker "$SERVICE" "$role"
    ;;
  topics)
    # Idempotent: creates the event topics and their dead-letter twins that are missing.
    exec python -c 'import os; from shared.kafka_bus import ensure_topics; print("created:", ensure_topics(os.environ["KAFKA_BOOTSTRAP"], os.environ.get("TOPIC_PREFIX", "")) or "nothing")'
    ;;
  *)
    exec "$@"
    ;;
esac
