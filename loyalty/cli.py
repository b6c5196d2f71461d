"""The `loyalty` console script: the Flask CLI of this app (`loyalty db upgrade`, `loyalty run`...).

A user's mistake ends with exit code 2 and one line per problem saying what and where,
never a traceback or a screen of usage text: an unusable programme file (whatever command,
even `--help`, needed the app) and any bad option or argument.
"""
import sys

import click
from flask.cli import FlaskGroup

USER_ERROR = 2      # click's exit code for usage errors


class UserError(click.ClickException):
    """A mistake of the command's user: printed as `Error: <message>` on one line, exit code 2."""

    exit_code = USER_ERROR


def _one_line(error):
    """A click usage error (usage, hint, blank line, message) as one UserError line; a
    command run without the arguments it needs still shows its help."""
    if isinstance(error, click.exceptions.NoArgsIsHelpError):
        return error
    where = error.ctx.command_path if error.ctx is not None else None
    return UserError(f"{where}: {error.format_message()}" if where else error.format_message())


class LoyaltyGroup(FlaskGroup):
    """Flask's CLI group, reporting usage errors of any command in one line."""

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as error:
            raise _one_line(error) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise _one_line(error) from None


def create_app_or_exit():
    """The app; a programme file or an environment setting that cannot be used ends the
    command: one line per problem on stderr, exit code 2. (SystemExit, because Flask's CLI prints the traceback of any
    Exception raised while it lists the commands.)"""
    from loyalty import create_app
    from loyalty.programme import ProgrammeFileError

    try:
        return create_app()
    except ProgrammeFileError as error:
        for problem in error.problems:
            click.echo(f"error: programme {error.path}: {problem}", err=True)
        sys.exit(USER_ERROR)
    except ValueError as error:         # a setting of the environment that cannot be used
        click.echo(f"error: configuration: {error}", err=True)
        sys.exit(USER_ERROR)


def main():
    LoyaltyGroup(create_app=create_app_or_exit, help="The loyalty service's command line.")()
