"""Reading an import file as a stream of rows: CSV or JSON Lines, gzip or not.

The format comes from `--format`, else from the name (`.csv`, `.jsonl`, `.ndjson`, each
optionally `.gz`); gzip is recognised by its magic bytes whatever the name. Rows are read
one at a time, so memory stays flat however long the file is. Each row comes with its
line number (CSV: the physical line it starts on; the header is line 1) and either its
fields or why it cannot be read.
"""
import csv
import gzip
import io
import os
from dataclasses import dataclass

from loyalty.errors import LoyaltyError
from loyalty.inputs import loads

FORMATS = ("csv", "jsonl", "shopify")
GZIP_MAGIC = b"\x1f\x8b"


class FileError(Exception):
    """The file as a whole cannot be read (exit 1)."""


@dataclass
class Row:
    line: int
    fields: dict | None
    problem: str | None = None


def format_of(path, given=None):
    if given:
        return given
    name = path.lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    raise FileError(f"cannot tell the format of {path}: name it .csv or .jsonl, or pass --format")


class Source:
    """An open import file: its rows, its size and how far it has been read (for progress)."""

    def __init__(self, path, file_format):
        self.path, self.format = path, file_format
        try:
            self.raw = open(path, "rb")
        except OSError as error:
            raise FileError(f"cannot open {path}: {error.strerror}") from None
        self.size = os.fstat(self.raw.fileno()).st_size
        binary = gzip.GzipFile(fileobj=self.raw) if self.raw.peek(2)[:2] == GZIP_MAGIC else self.raw
        self.text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="strict", newline="")

    def position(self):
        return self.raw.tell()

    def rows(self):
        """Every row of the file, in order. A row that cannot be read is a Row with a problem;
        a file that cannot be read at all raises FileError."""
        try:
            yield from (_csv_rows(self.text) if self.format in ("csv", "shopify") else _jsonl_rows(self.text))
        except (UnicodeDecodeError, gzip.BadGzipFile, EOFError, OSError, csv.Error) as error:
            raise FileError(f"cannot read {self.path}: {type(error).__name__}: {str(error)[:200]}") from None

    def close(self):
        self.text.close()
        self.raw.close()        # a GzipFile does not close the file it reads


def _csv_rows(stream):
    reader = csv.DictReader(stream)
    if reader.fieldnames is None:
        return
    start = reader.line_num + 1
    for fields in reader:
        if None in fields:              # more cells than the header names
            yield Row(start, None, "more cells than the header has columns")
        else:
            yield Row(start, {key.strip(): (value if value != "" else None) for key, value in fields.items()
                              if key is not None})
        start = reader.line_num + 1


def _jsonl_rows(stream):
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            fields = loads(line)
        except LoyaltyError as error:
            yield Row(number, None, f"not JSON: {error.message}")
            continue
        if not isinstance(fields, dict):
            yield Row(number, None, "a line must be a JSON object")
        else:
            yield Row(number, fields)
