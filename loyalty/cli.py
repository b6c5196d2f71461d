"""The `loyalty` console script: the Flask CLI of this app (`loyalty db upgrade`, `loyalty run`...)."""
from flask.cli import FlaskGroup


def main():
    from loyalty import create_app

    FlaskGroup(create_app=create_app, help="The loyalty service's command line.")()
