"""The AsyncAPI document for every subject, generated from the message contracts (ingest) and
the catalog of views (state subjects and queries: projections/catalog.py)."""

from __future__ import annotations

from typing import Any

from domain.bounds import MAX_HOURS
from projections.catalog import CATALOG, HOURS, ID, INTEGER, PER_CLASS, TIME, Catalog, Param, View
from services import contracts as c
from services.ingest_headers import MAX_ACTOR, MAX_MESSAGE_ID
from services.ingest_subjects import KEY_FIELDS, MAX_KEY

_REPLY = {
    "type": "object",
    "required": ["status", "message_id"],
    "properties": {
        "status": {"enum": ["accepted", "duplicate", "rejected"]},
        "message_id": {"type": "string"},
        "what": {"type": "string"},
        "positions": {"type": "array", "items": {"type": "integer"},
                      "description": "log positions of the appended facts"},
        "reason": {"enum": ["invalid_json", "schema_violation", "oversized", "unknown_championship",
                            "unknown_round", "unknown_car", "unknown_class", "unknown_target_event",
                            "unknown_decision", "business_rule", "message_id_reused", "poison",
                            "wrong_partition", "bad_header", "forbidden"]},
        "detail": {"type": "string"},
    },
}
_STATE_HEADERS = {
    "type": "object",
    "properties": {
        "Paddock-Log-Position": {"type": "string", "description": "log position the state reflects"},
        "Paddock-As-Of": {"type": "string", "format": "date-time"},
        "Paddock-Known-At": {"type": "string", "format": "date-time"},
        "Nats-Msg-Id": {"type": "string", "description": "<view>@<position>[/<class>]"},
    },
}
_INGEST_HEADERS = {
    "type": "object",
    "properties": {
        "Nats-Msg-Id": {"type": "string", "maxLength": MAX_MESSAGE_ID, "pattern": "^[!-~]+$",
                        "description": "idempotency key; resends are duplicates forever"},
        "Paddock-Message-Id": {"type": "string", "maxLength": MAX_MESSAGE_ID, "pattern": "^[!-~]+$",
                               "description": "the receipt's key when it differs from Nats-Msg-Id: "
                               "a resend the broker would drop as a duplicate, sent under a fresh "
                               "Nats-Msg-Id so that the service answers it"},
        "Paddock-Reply-To": {"type": "string", "maxLength": 256,
                             "description": "subject for the service's reply: the sending role's "
                             "own inbox, printable ASCII, no spaces or wildcards"},
        "Paddock-Actor": {"type": "string", "maxLength": MAX_ACTOR,
                          "description": "who acts (recorded with the facts); no control characters"},
    },
}


def asyncapi(prefix: str = "paddock", version: str = "0.1.0",
             catalog: Catalog = CATALOG) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for model in c.CONTRACTS:
        kind = c.kind_of(model)
        key = kind.replace(".", "_")
        messages[key] = {"name": kind, "title": model.__name__, "summary": (model.__doc__ or "").strip(),
                         "contentType": "application/json", "headers": _INGEST_HEADERS,
                         "payload": _shared(model.model_json_schema(by_alias=True), schemas)}
        channels[key] = _ingest_channel(kind, key, prefix)
        operations[f"send_{key}"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{key}"},
            "reply": {"address": {"location": "$message.header#/Paddock-Reply-To"},
                      "messages": [{"$ref": "#/components/messages/ingest_reply"}]},
        }
    messages["ingest_reply"] = {"name": "ingest.reply", "contentType": "application/json", "payload": _REPLY}
    _state_channels(prefix, catalog, channels, operations, messages)
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Paddock", "version": version,
                 "description": "Results, standings and Le Mans invitations over NATS JetStream."},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(schemas.items()))},
    }


def _ingest_channel(kind: str, key: str, prefix: str) -> dict[str, Any]:
    """A kind's channel: its partitioned address, the key a parameter (services/ingest_subjects.py)."""
    field = KEY_FIELDS[kind]
    return {
        "address": f"{c.subject_for(kind, prefix)}.{{key}}",
        "description": (f"`key` is the message's partition key: its `{field}` as a subject token "
                        f"(every character outside [A-Za-z0-9_-] becomes `_`; at most {MAX_KEY}). "
                        "The message must name the same key; all messages with one key are "
                        "handled in order. Without the key "
                        f"(`{c.subject_for(kind, prefix)}`, before issue 10) a message is still "
                        "accepted, in one group shared by every unpartitioned message."),
        "parameters": {"key": {"description": f"the {field}'s subject token"}},
        "messages": {key: {"$ref": f"#/components/messages/{key}"}},
    }


_DEFS = "#/$defs/"
_SCHEMAS = "#/components/schemas/"


def _shared(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """A payload schema without its `$defs`: they move to `components/schemas` (shared by every
    message that uses them) and its refs follow, since a ref resolves from the document's root."""
    for name, definition in schema.pop("$defs", {}).items():
        moved = _moved_refs(definition)
        if schemas.setdefault(name, moved) != moved:
            raise ValueError(f"two contracts define the schema {name} differently; rename one")
    return dict(_moved_refs(schema))


def _moved_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (_SCHEMAS + v.removeprefix(_DEFS) if k == "$ref" and isinstance(v, str)
                    and v.startswith(_DEFS) else _moved_refs(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_moved_refs(v) for v in node]
    return node


def _state_channels(prefix: str, catalog: Catalog, channels: dict[str, Any],
                    operations: dict[str, Any], messages: dict[str, Any]) -> None:
    state = {_channel_key(v): (_state_address(prefix, v), v.publication.summary)
             for v in catalog.published if v.publication is not None}
    state |= {
        "dead_letters": (f"{prefix}.dlq.{{reason}}",
                         "Rejected messages: original payload and headers, Paddock-Reason, Paddock-Detail"),
        "checkpoints": (f"{prefix}.audit.checkpoint",
                        ("The log's hash-chain checkpoint (format, store, position, digest, "
                         "taken_at) whenever the log moved; keep one to prove the history later "
                         "with `paddock audit verify --checkpoint FILE`")),
    }
    for key, (address, summary) in state.items():
        messages[key] = {"name": key, "summary": summary, "contentType": "application/json",
                         "headers": _STATE_HEADERS, "payload": {"type": "object"}}
        channels[key] = {"address": address, "messages": {key: {"$ref": f"#/components/messages/{key}"}}}
        operations[f"receive_{key}"] = {"action": "receive", "channel": {"$ref": f"#/channels/{key}"}}
    for view in catalog.queried:
        key = f"query_{view.query.replace('.', '_')}"
        messages[key] = {"name": key, "summary": f"a request for {view.summary}",
                         "contentType": "application/json", "payload": request_schema(view)}
        channels[key] = {"address": f"{prefix}.query.{view.query}",
                         "messages": {key: {"$ref": f"#/components/messages/{key}"}}}
        operations[key] = {"action": "receive", "channel": {"$ref": f"#/channels/{key}"},
                           "summary": f"request/reply: {_request_shape(view)}: {view.summary}, "
                                      "as the CLI answers"}


def _channel_key(view: View) -> str:
    return view.name.replace("-", "_")


def _state_address(prefix: str, view: View) -> str:
    """`paddock.standings.{championship}.{class}`: a published view's subject, its ids as
    parameters."""
    per_class = view.publication is not None and view.publication.split == PER_CLASS
    return f"{prefix}.{view.subject}.{{{view.key.name}}}" + (".{class}" if per_class else "")


_SHOWN = {ID: "", TIME: "", INTEGER: ": N", HOURS: ": hours"}
_SCHEMAS_OF: dict[str, dict[str, Any]] = {
    ID: {"type": "string", "minLength": 1},
    TIME: {"type": "string"},
    INTEGER: {"type": "integer"},
    HOURS: {"type": "number", "minimum": 0, "maximum": MAX_HOURS},
}


def request_schema(view: View) -> dict[str, Any]:
    """The JSON Schema of a query's request, as services/queries.py checks it."""
    properties = {view.key.name: {**_SCHEMAS_OF[ID], "description": f"the {view.key.name}"}}
    for p in view.params:
        described = p.help + ("; ISO 8601 with an offset, or a date (00:00 UTC)" if p.kind == TIME
                              else "") + (f"; not with {' or '.join(p.excludes)}" if p.excludes else "")
        properties[p.name] = {**_SCHEMAS_OF[p.kind], "description": described}
        if p.default is not None:
            properties[p.name]["default"] = p.default
    return {"type": "object", "additionalProperties": False,
            "required": [view.key.name, *(p.name for p in view.params if p.required)],
            "properties": properties}


def _request_shape(view: View) -> str:
    """`{championship, class?, as_of?, known_at?}`: the request's fields, `?` when optional."""
    return "{" + ", ".join([view.key.name, *(_field(p) for p in view.params)]) + "}"


def _field(p: Param) -> str:
    return f"{p.name}{'' if p.required else '?'}{_SHOWN[p.kind]}"
