#!/bin/sh
# Runs one role of the service this image was built for ($SERVICE): web | relay | consumer | scheduler | topics.
# Anything else is run as given (e.g. `python -m services.demo`).
set -eu
role="${1:-web}"
case "$role" in
  web)
    # In a container the web role must listen on every interface; gunicorn_conf defaults to 127.0.0.1.
    export BIND="${BIND:-0.0.0.0:${PORT:-8000}}"
    # No control socket: nobody runs gunicornc inside the container, and the root filesystem is read-only.
    exec gunicorn -c python:shared.gunicorn_conf --no-control-socket "services.${SERVICE}.app:create_app()"
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
