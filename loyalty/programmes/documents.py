"""A programme document as submitted (TOML or JSON text) and as compared: the parsed
document in canonical JSON (sorted keys, dates as ISO text), whose SHA-256 tells two
versions apart whatever format or spacing they were written in."""
import hashlib
import json
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rules import Programme, ProgrammeError, parse_programme
from rules.loading import DEFAULT_PATH

FORMATS = ("toml", "json")


@dataclass(frozen=True)
class Document:
    format: str
    source: str
    data: dict
    programme: Programme

    @property
    def canonical(self):
        return canonical(self.data)

    @property
    def digest(self):
        return hashlib.sha256(self.canonical.encode()).hexdigest()


def canonical(data):
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=lambda value: value.isoformat() if isinstance(value, date) else str(value))


def guess_format(text):
    """JSON when the text starts as a JSON object does; TOML otherwise."""
    return "json" if text.lstrip().startswith("{") else "toml"


def parse(text, fmt=None):
    """The document in `text`; ProgrammeError listing every problem by place otherwise."""
    fmt = fmt or guess_format(text)
    if fmt not in FORMATS:
        raise ProgrammeError([f"(document): format must be toml or json, not {fmt!r}"])
    try:
        data = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise ProgrammeError([f"(document): not valid {fmt.upper()}: {error}"]) from None
    except RecursionError:
        raise ProgrammeError(["(document): nested too deeply to be a programme"]) from None
    return Document(fmt, text, data, parse_programme(data))


def read_file(path):
    """The document in a file (the shipped default when `path` is None)."""
    path = Path(path) if path else DEFAULT_PATH
    return parse(path.read_text(encoding="utf-8"), "json" if path.suffix.lower() == ".json" else "toml")


def stored(document_json):
    """The programme of a stored canonical document."""
    return parse_programme(json.loads(document_json))


def _flatten(value, place, out):
    if isinstance(value, dict):
        for key in sorted(value):
            _flatten(value[key], f"{place}.{key}" if place else key, out)
    elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        for index, item in enumerate(value):
            _flatten(item, f"{place}[{index}]", out)
    else:
        out[place] = value
    return out


def diff(old_json, new_json):
    """Every place whose value differs between two canonical documents, in document order:
    [{"place", "old", "new"}] (absent: None)."""
    old, new = _flatten(json.loads(old_json), "", {}), _flatten(json.loads(new_json), "", {})
    return [{"place": place, "old": old.get(place), "new": new.get(place)}
            for place in sorted(old.keys() | new.keys()) if old.get(place) != new.get(place)]
