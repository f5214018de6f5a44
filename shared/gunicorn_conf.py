"""gunicorn settings for every service's web role (`gunicorn -c shared/gunicorn_conf.py 'services.X.app:create_app()'`)."""
import json
import os
import sys

import gunicorn.util

from shared.webserver import bind_of

bind = bind_of(os.environ)  # the one rule for every web server (shared/webserver.py)
# Threads rather than processes by default: small community servers are memory-bound, and the
# handlers spend their time waiting on MongoDB.
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
# No preload: each worker builds its own MongoDB client after the fork (pymongo is not fork-safe).
preload_app = False
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "0"))
# gunicorn 27 opens a control socket at ~/.gunicorn/gunicorn.ctl by default: one path for every
# service under `make run`. We do not use it.
control_socket_disable = True


def _write_problem(sock, status_int, reason, mesg):
    """gunicorn's answer to a request it cannot parse (400 bad request line, 414 URI too long, 431 header fields
    too large…), as application/problem+json like every other error instead of gunicorn's text/html page.

    gunicorn writes these before any WSGI application runs, from `Worker.handle_error` through
    `gunicorn.util.write_error` (its only caller); replacing that function is the hook gunicorn leaves."""
    reason = reason or "Bad Request"
    body = json.dumps({"type": f"https://timebank.example/problems/{status_int}", "title": reason,
                        "status": int(status_int), "detail": f"服务器无法解析该请求。 The request could not be parsed: {mesg or reason}",
                        "code": "unparsable_request" if int(status_int) < 500 else "internal_error"},
                       ensure_ascii=True).encode()
    head = (f"HTTP/1.1 {int(status_int)} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n").encode("latin-1")
    gunicorn.util.write_nonblock(sock, head + body)


gunicorn.util.write_error = _write_problem


def on_starting(server):
    """Before any socket is bound: refuse to serve other machines with a development secret (shared.config)."""
    from shared.config import check_secrets, Config, InsecureConfig
    app = getattr(server.app, "app_uri", None) or server.cfg.wsgi_app or ""
    service = app.split(".")[1] if app.startswith("services.") else os.environ.get("SERVICE", "")
    if not service:
        return
    try:
        check_secrets(Config.from_env(service), list(server.cfg.bind))
    except InsecureConfig as exc:
        server.log.error(str(exc))
        sys.exit(3)  # gunicorn's own code for "cannot boot"
