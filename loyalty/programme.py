"""The programme the service runs: loaded and validated once, when the app is created."""
from flask import current_app

from rules import ProgrammeError, load_programme
from rules.loading import DEFAULT_PATH


class ProgrammeFileError(ProgrammeError):
    """The programme file named by LOYALTY_PROGRAMME cannot be used: its `path` and every
    problem in it (`problems`, each `place: what is wrong`), so the command line can say
    what and where in one line each, without a traceback."""

    def __init__(self, path, problems):
        super().__init__(problems)
        self.path = str(path)
        self.args = (f"programme {self.path}:\n  " + "\n  ".join(self.problems),)


def load(path):
    """The programme in `path` (the shipped default when None); ProgrammeFileError otherwise."""
    try:
        return load_programme(path)
    except ProgrammeError as error:
        raise ProgrammeFileError(path or DEFAULT_PATH, error.problems) from None
    except OSError as error:
        raise ProgrammeFileError(path, [f"(file): cannot be read: {error.strerror or error}"]) from None
    except UnicodeDecodeError:
        raise ProgrammeFileError(path, ["(file): is not UTF-8 text"]) from None


def init_app(app):
    app.extensions["loyalty.programme"] = load(app.config.get("LOYALTY_PROGRAMME"))


def current_programme():
    return current_app.extensions["loyalty.programme"]
