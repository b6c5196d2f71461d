"""The WSGI entry point for gunicorn: `gunicorn wsgi:app`."""
from loyalty import create_app

app = create_app()
