"""The check the API fuzzer adds to schemathesis's own (loaded through
SCHEMATHESIS_HOOKS by tests/e2e/fuzz.rs).

The edge answers bad input with HTTP 400 and a JSON body naming the gRPC code
and each bad field. A request the document calls valid must not come back
INVALID_ARGUMENT, unless every field named is one whose document entry states a
rule the service checks beyond what JSON Schema can say (`x-service-rule`: a
relation between fields, today's date, stored state such as a page token it
issued). Anything else means the document and the services disagree.
"""

import json
import re

import schemathesis


def _error(response):
    try:
        return json.loads(response.content)["error"]
    except (ValueError, KeyError, TypeError):
        return None


def _camel(name):
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


def _resolve(root, schema):
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 32:
        target = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        schema = target
        seen += 1
    return schema if isinstance(schema, dict) else {}


def _property(root, schema, name):
    """The entry of `name` in an object schema, looking through $ref and anyOf."""
    schema = _resolve(root, schema)
    found = schema.get("properties", {}).get(name)
    if found is not None:
        return found
    for branch in schema.get("anyOf", []):
        found = _property(root, branch, name)
        if found is not None:
            return found
    return None


def _states_service_rule(root, entry):
    if not isinstance(entry, dict):
        return False
    if "x-service-rule" in entry:
        return True
    return any(_states_service_rule(root, b) for b in entry.get("anyOf", []))


def _field_states_service_rule(case, field):
    root = case.operation.schema.raw_schema
    definition = case.operation.definition.raw
    # A query or path parameter is named by the field's dotted proto path.
    for parameter in definition.get("parameters", []):
        if parameter.get("name") == field:
            return _states_service_rule(root, parameter) or _states_service_rule(
                root, parameter.get("schema")
            )
    # A body field: walk the body schema by JSON names.
    content = definition.get("requestBody", {}).get("content", {})
    entry = content.get("application/json", {}).get("schema")
    for part in re.sub(r"\[\d+\]", "", field).split("."):
        if entry is None:
            return False
        entry = _property(root, entry, _camel(part))
    return _states_service_rule(root, entry)


@schemathesis.check
def valid_requests_are_not_refused_as_invalid(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    error = _error(response)
    if response.status_code != 400 or error is None:
        return None
    if error.get("code") != "INVALID_ARGUMENT":
        return None
    fields = [d.get("field", "") for d in error.get("details", [])]
    undocumented = [f for f in fields if not _field_states_service_rule(case, f)]
    if undocumented or not fields:
        raise AssertionError(
            "Valid by the document, refused as INVALID_ARGUMENT on "
            + ", ".join(undocumented or ["(no field)"])
            + ": "
            + response.content.decode("utf-8", "replace")
        )
    return None
