"""Load ``study.yaml``: safe YAML with line numbers, then the pydantic model, then the checks.

YAML rules (deliberately stricter than PyYAML's defaults):

* only plain data: ``!!python`` and other custom tags are refused (``SafeLoader``);
* a key given twice in the same mapping is an error naming both lines;
* only ``true``/``false`` are booleans: the YAML 1.1 words ``yes``, ``no``, ``on``,
  ``off`` stay text, so a category named "no" stays a category;
* every error names the file, the line and the key, and suggests the closest
  valid key for a typo.
"""

from __future__ import annotations

import hashlib
import re
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from survstudy.errors import SpecError
from survstudy.spec.model import StudySpec
from survstudy.spec.suggest import closest

__all__ = ["closest", "load_spec", "load_spec_mapping", "load_spec_text"]

_MAX_SPEC_BYTES = 2_000_000

Path_ = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are only true/false (YAML 1.2 core schema)."""

    # aliases can make a small file expand exponentially ("billion laughs"): cap the work
    budget: int = 200_000


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


def _construct(
    loader: _Loader, node: yaml.Node, path: Path_, lines: dict[Path_, int], file: str
) -> Any:
    loader.budget -= 1
    if loader.budget < 0 or len(path) > 64:
        raise SpecError(
            "the spec is too large or too deeply nested (are YAML aliases expanding?)",
            file=file,
            line=node.start_mark.line + 1,
            code="SPEC-YAML",
        )
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN_TAGS:
        raise SpecError(
            f"custom YAML tags ({node.tag}) are not allowed",
            file=file,
            line=node.start_mark.line + 1,
            code="SPEC-YAML",
        )
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves '<<' merge keys
        out: dict[Any, Any] = {}
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = _construct(loader, key_node, path, {}, file)
            if isinstance(key, list | dict):
                raise SpecError(
                    "a key must be a plain name",
                    file=file,
                    line=key_node.start_mark.line + 1,
                    code="SPEC-YAML",
                )
            line = key_node.start_mark.line + 1
            if key in seen:
                raise SpecError(
                    f"the key appears twice (first on line {seen[key]})",
                    file=file,
                    line=line,
                    key=".".join(str(p) for p in (*path, key)),
                    code="SPEC-DUPLICATE-KEY",
                    hint="YAML keeps only one of them silently; delete or rename one",
                )
            seen[key] = line
            lines[(*path, key)] = line
            out[key] = _construct(loader, value_node, (*path, key), lines, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            items.append(_construct(loader, item, (*path, i), lines, file))
        return items
    return loader.construct_object(node, deep=True)


def _parse_yaml(text: str, file: str) -> tuple[Any, dict[Path_, int]]:
    loader = _Loader(text)
    lines: dict[Path_, int] = {}
    try:
        node = loader.get_single_node()
        if node is None:
            return None, lines
        return _construct(loader, node, (), lines, file), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        if "could not determine a constructor" in str(problem):
            problem = "custom YAML tags (like !!python/...) are not allowed"
        raise SpecError(
            f"invalid YAML: {problem}", file=file, line=line, code="SPEC-YAML"
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", file=file, code="SPEC-YAML") from None
    finally:
        loader.dispose()


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model whose fields are valid at ``loc`` (for key suggestions)."""
    current: Any = StudySpec
    i = 0
    while i < len(loc):
        model = _unwrap_model(current)
        if model is None:
            return None
        field = model.model_fields.get(str(loc[i]))
        if field is None:
            return None
        current = field.annotation
        i += 1
        # dict[str, Model] and list[Model] consume one more loc element (key / index)
        while True:
            origin = typing.get_origin(current)
            if origin in (dict, list) and i < len(loc):
                current = typing.get_args(current)[-1]
                i += 1
                continue
            break
    return _unwrap_model(current)


def _unwrap_model(tp: Any) -> type[BaseModel] | None:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    for arg in typing.get_args(tp):
        found = _unwrap_model(arg)
        if found is not None:
            return found
    return None


def _line_for(lines: dict[Path_, int], loc: tuple[Any, ...]) -> int | None:
    key = tuple(loc)
    while key:
        if key in lines:
            return lines[key]
        key = key[:-1]
    return None


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop pydantic's internal loc parts (union branch names, '[key]' markers)."""
    out = []
    for part in loc:
        if isinstance(part, str) and (
            part.startswith("function-") or part in ("[key]",) or ("[" in part and "]" in part)
        ):
            continue
        if part in ("str", "int", "float", "bool", "list", "dict", "tuple"):
            continue
        out.append(part)
    return tuple(out)


def _spec_error_from_validation(
    exc: ValidationError, file: str, lines: dict[Path_, int], raw: Any
) -> SpecError:
    errors = exc.errors(include_url=False)
    # Prefer the most specific, most actionable error.
    errors.sort(key=lambda e: (e["type"] != "extra_forbidden", e["type"] != "missing"))
    err = errors[0]
    loc = _clean_loc(tuple(err["loc"]))
    key = ".".join(str(p) for p in loc) if loc else None
    line = _line_for(lines, loc)
    suggestion = None
    if err["type"] == "extra_forbidden" and loc:
        model = _model_at(loc[:-1])
        if model is not None:
            suggestion = closest(str(loc[-1]), model.model_fields)
        allowed = ", ".join(sorted(model.model_fields)) if model is not None else ""
        message = "unknown key"
        hint = f"allowed here: {allowed}" if allowed and suggestion is None else None
        return SpecError(
            message,
            file=file,
            line=line,
            key=key,
            suggestion=suggestion,
            code="SPEC-UNKNOWN-KEY",
            hint=hint,
        )
    if err["type"] == "missing":
        return SpecError(
            f"required key '{loc[-1]}' is missing" if loc else "a required key is missing",
            file=file,
            line=_line_for(lines, loc[:-1]) if loc else None,
            key=key,
            code="SPEC-MISSING-KEY",
        )
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    suggestion = None
    if err["type"] == "literal_error":
        msg = msg.replace("Input should be", "must be")
        expected = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
        if isinstance(err.get("input"), str) and expected:
            suggestion = closest(str(err["input"]), expected)
    hint = None
    if err["type"] in ("model_type", "dict_type", "model_attributes_type"):
        msg = "must be a mapping of keys (key: value lines, or {key: value})"
        if len(loc) == 2 and loc[0] == "variables" and isinstance(err.get("input"), str):
            hint = f"write {loc[1]}: {{type: {err['input']}}}"
    elif err["type"] in ("list_type", "tuple_type"):
        msg = "must be a list ('- item' lines, or [a, b])"
    msg = msg.replace("Input should be", "must be")
    if err["type"] == "string_pattern_mismatch" and loc:
        msg = (
            f"'{loc[-1]}' is not a valid name: use letters, digits and _, not starting with a digit"
        )
    got = err.get("input")
    if err["type"] not in ("value_error", "string_pattern_mismatch") and isinstance(
        got, str | int | float | bool
    ):
        msg = f"{msg} (got {got!r})"
    return SpecError(
        msg, file=file, line=line, key=key, suggestion=suggestion, code="SPEC-INVALID", hint=hint
    )


def load_spec_text(text: str, *, file: str = "<spec>", base: Path | None = None) -> StudySpec:
    """Parse, validate and cross-check a spec given as text (``base``: folder for data.path)."""
    from survstudy.spec.checks import check_spec

    raw, lines = _parse_yaml(text, file)
    if raw is None:
        raise SpecError("the spec is empty", file=file, code="SPEC-EMPTY")
    if not isinstance(raw, dict):
        raise SpecError(
            "the spec must be a mapping of keys (data:, variables:, …)",
            file=file,
            line=1,
            code="SPEC-INVALID",
        )
    try:
        spec = StudySpec.model_validate(raw)
    except ValidationError as exc:
        raise _spec_error_from_validation(exc, file, lines, raw) from None
    spec.attach_source(lines=lines, path=base / Path(file).name if base is not None else None)
    check_spec(spec, file=file)
    return spec


def load_spec(path: str | Path) -> StudySpec:
    """Load ``study.yaml``: safe YAML, pydantic validation, cross-checks; raise :class:`SpecError`.

    The returned spec knows its file (``spec.path``), folder (``spec.base_dir``),
    the data file resolved against it (``spec.data_path``) and the file's SHA-256.
    """
    p = Path(path)
    file = str(path)
    if not p.exists():
        raise SpecError("spec file not found", file=file, code="SPEC-NOT-FOUND")
    if p.is_dir():
        raise SpecError("is a folder, not a spec file", file=file, code="SPEC-NOT-FOUND")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise SpecError(
            f"cannot read the spec: {exc.strerror}", file=file, code="SPEC-UNREADABLE"
        ) from None
    if len(data) > _MAX_SPEC_BYTES:
        raise SpecError("the spec file is too large (over 2 MB)", file=file, code="SPEC-INVALID")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError(
            "the spec is not UTF-8 text", file=file, code="SPEC-YAML", hint="save it as UTF-8"
        ) from None
    spec = load_spec_text(text, file=file)
    spec.attach_source(path=p.resolve(), sha256=hashlib.sha256(data).hexdigest())
    return spec


def load_spec_mapping(mapping: Any, *, file: str = "<spec>") -> StudySpec:
    """Validate and cross-check a spec given as a mapping (the Python API's ``Study(dict)``).

    The same checks and :class:`SpecError` messages as :func:`load_spec_text`, naming the
    key path (there are no YAML lines). A relative ``data.path`` is resolved against the
    current folder.
    """
    from survstudy.spec.checks import check_spec

    if not isinstance(mapping, dict):
        raise SpecError(
            "the spec must be a mapping of keys (data:, variables:, …)",
            file=file,
            code="SPEC-INVALID",
        )
    try:
        spec = StudySpec.model_validate(mapping)
    except ValidationError as exc:
        raise _spec_error_from_validation(exc, file, {}, mapping) from None
    check_spec(spec, file=file)
    return spec
