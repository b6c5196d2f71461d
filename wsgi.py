"""The WSGI entry point for gunicorn: `gunicorn wsgi:app`."""
import gc

from loyalty import create_app

app = create_app()
# What the app built at start lives as long as the process: out of the collector's sight, a
# full collection (every few thousand requests) walks only what requests leave behind.
gc.freeze()
