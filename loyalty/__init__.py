"""The loyalty service: purchases in, points, tiers, discounts and priority support out."""
import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from loyalty import (api, auth, config, errors, event_commands, extensions, health, jobs, keys, limits, logs,
                     metrics, panel, programme, reconcile, webhooks, worker)
from loyalty.dashboard import views as dashboard
from loyalty.imports import command as import_command
from loyalty.outbox import commands as outbox_commands
from loyalty.programmes import commands as programme_commands
from loyalty.reports import command as report_command
from loyalty.webhooks.intake import Intake


def create_app(test_config=None):
    """Build the Flask app: configuration from the environment, then `test_config` on top."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(config.from_environ(os.environ, app.instance_path))
    if test_config:
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    app.json.sort_keys = False      # keys as written: reports list tiers in the programme's order
    app.wsgi_app = Intake(app, app.wsgi_app)        # signed webhooks recorded below Flask; the rest to it
    hops = app.config["LOYALTY_TRUSTED_PROXIES"]
    if hops:    # the client's address, scheme and host as the proxies in front saw them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    programme.init_app(app)
    extensions.init_app(app)
    with app.app_context():     # the stored versions; the file's first publication when due
        try:
            programme.connect(app, extensions.db.engine).reload()
        finally:
            extensions.db.engine.dispose()      # no connection opened here outlives a fork or a refusal
    errors.init_app(app)
    logs.init_app(app)
    extensions.api.register_blueprint(health.blp)
    health.init_app(app)
    extensions.api.register_blueprint(webhooks.blp)
    api.init_app(app, extensions.api)
    panel.init_app(app)         # before the limits: it answers the panel's CORS preflights
    limits.init_app(app, api.BLUEPRINTS)
    reconcile.init_app(app)
    keys.init_app(app)
    auth.init_app(app)
    jobs.init_app(app)
    worker.init_app(app)
    event_commands.init_app(app)
    import_command.init_app(app)
    outbox_commands.init_app(app)
    report_command.init_app(app)
    programme_commands.init_app(app)
    dashboard.init_app(app)
    metrics.init_app(app)
    return app
