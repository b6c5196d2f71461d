"""The programme the service runs: loaded and validated once, when the app is created."""
from flask import current_app

from rules import load_programme


def init_app(app):
    app.extensions["loyalty.programme"] = load_programme(app.config.get("LOYALTY_PROGRAMME"))


def current_programme():
    return current_app.extensions["loyalty.programme"]
