"""The versioned JSON Schema of a report, and validation with messages a person can act on.

A report JSON names its format in ``"schema": "jupyter-ops.report/<N>"``. This version writes
format :data:`FORMAT_VERSION` and reads every format up to it (older formats lack optional
fields only). Each format's schema ships in ``jupyter_ops/report/schemas/report-<N>.schema.json``
and every read validates against it, so a tampered or truncated file is refused with the field
and the section that are wrong, never a traceback from deep inside a renderer.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from ..errors import OpsInputError

__all__ = ["FORMAT_VERSION", "SCHEMA_ID", "report_schema", "validate_report", "format_version"]

#: the report format this version writes (bump on any incompatible change, add a schema file)
FORMAT_VERSION = 2
SCHEMA_ID = f"jupyter-ops.report/{FORMAT_VERSION}"
_ID = re.compile(r"^jupyter-ops\.report/(\d+)$")


@cache
def report_schema(version: int = FORMAT_VERSION) -> dict[str, Any]:
    """The JSON Schema of report format ``version`` (format 1 is validated by format 2's)."""
    version = max(int(version), 2)
    text = resources.files(__package__).joinpath(f"schemas/report-{version}.schema.json")
    return json.loads(text.read_text(encoding="utf-8"))


def format_version(data: Any, where: str = "the file") -> int:
    """The format number of a report JSON document; clear errors for other documents."""
    if not isinstance(data, dict):
        raise OpsInputError(f"{where} is not a jupyter-ops report: expected a JSON object, got "
                            f"a JSON {_json_type(data)}")
    m = _ID.match(str(data.get("schema", "")))
    if not m:
        raise OpsInputError(f"{where} is not a jupyter-ops report (field 'schema' is "
                            f"{data.get('schema')!r}, expected {SCHEMA_ID!r})")
    version = int(m.group(1))
    if version > FORMAT_VERSION:
        from .._version import __version__

        raise OpsInputError(
            f"{where} is report format {version}, newer than this jupyter-ops {__version__} "
            f"reads (up to {FORMAT_VERSION}); upgrade jupyter-ops to read it")
    if version < 1:
        raise OpsInputError(f"{where}: unknown report format {version}")
    return version


def validate_report(data: Any, where: str = "the file") -> int:
    """Validate a report JSON document; return its format number.

    Raises
    ------
    OpsInputError
        Naming the first wrong field, the section it is in (number and title) and what was
        expected, e.g. ``section 4 ('Incidents'): field content.rows[2] must be an array``.
    """
    import jsonschema

    version = format_version(data, where)
    validator = _validator(version)
    errors = list(validator.iter_errors(data))
    if not errors:
        return version
    error = jsonschema.exceptions.best_match(errors)
    raise OpsInputError(f"{where} is not a valid report (format {version}): "
                        f"{_describe(error, data)}; the file was changed or cut short, "
                        "re-save the report from its notebook or re-run the command")


@cache
def _validator(version: int) -> Any:
    import jsonschema

    schema = report_schema(version)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def _describe(error: Any, data: dict[str, Any]) -> str:
    path = list(error.absolute_path)
    where = ""
    if len(path) >= 2 and path[0] == "sections" and isinstance(path[1], int):
        i = path[1]
        section = data["sections"][i] if i < len(data.get("sections", [])) else {}
        title = section.get("title") if isinstance(section, dict) else None
        if not title and isinstance(section, dict) and isinstance(section.get("content"), str):
            title = section["content"].strip().lstrip("#").strip().split("\n", 1)[0][:40]
        kind = section.get("kind") if isinstance(section, dict) else None
        where = f"section {i + 1}" + (f" ({kind} {title!r})" if title else f" ({kind})" if kind else "")
        path = path[2:]
    field = _field(path) or "(the section itself)" if where else _field(path) or "(top level)"
    message = _message(error)
    return f"{where + ': ' if where else ''}field {field} {message}"


def _field(path: list[Any]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _message(error: Any) -> str:
    v = error.validator
    if v == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        return f"is missing {', '.join(repr(m) for m in missing) or 'a required field'}"
    if v == "type":
        want = error.validator_value
        want = " or ".join(want) if isinstance(want, list) else want
        return f"must be {_article(want)} {want}, not {_article(_json_type(error.instance))} {_json_type(error.instance)}"
    if v == "enum":
        return f"is {_short(error.instance)}, expected one of {', '.join(map(repr, error.validator_value))}"
    if v == "not" and isinstance(error.instance, dict) and "url" in error.instance:
        return ("loads data from a URL (data.url); report charts carry their data inline, "
                "a report never fetches anything")
    if v == "additionalProperties":
        return f"has unexpected content: {error.message.split('(', 1)[-1].rstrip(')')}"
    if v == "pattern":
        return f"is {_short(error.instance)}, which is not the expected form"
    if v == "minimum":
        return f"is {_short(error.instance)}, below {error.validator_value}"
    return error.message[:200]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _article(word: str) -> str:
    return "an" if str(word)[:1] in "aeiou" else "a"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number" if isinstance(value, float) else "integer"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
