"""gunicorn's settings in production: `gunicorn -c gunicorn.conf.py` (the Procfile's web
process and deploy/loyalty-web.service). The environment sets the rest:

- PORT (platforms that give one: binds 0.0.0.0:$PORT) or LOYALTY_BIND (default 127.0.0.1:8000);
- WEB_CONCURRENCY: worker processes (default 4; about two per core);
- LOYALTY_WEB_THREADS: threads per process (default 1; more when no proxy buffers slow
  clients, so a browser's idle preconnections cannot hold every worker);
- LOYALTY_LOG_LEVEL, and the service's own settings (README, "Configuration").

Each request is logged by the app as a JSON line (loyalty/logs.py), so gunicorn's access
log stays off."""
import os

from loyalty.gunicorn_conf import child_exit, post_worker_init  # noqa: F401  (gunicorn reads these hooks)

wsgi_app = "loyalty:create_app()"
bind = f"0.0.0.0:{os.environ['PORT']}" if os.environ.get("PORT") else os.environ.get("LOYALTY_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
threads = int(os.environ.get("LOYALTY_WEB_THREADS", "1"))
timeout = 30                # a request longer than this is stuck: the worker is restarted
graceful_timeout = 30       # on SIGTERM, requests in hand finish first
keepalive = 5
accesslog = None
