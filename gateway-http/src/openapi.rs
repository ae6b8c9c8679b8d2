//! An OpenAPI 3.1 document generated from the same bindings and descriptors the
//! router serves, so the documentation cannot drift from the routes. Proto comments
//! (kept by protox in the descriptor set's source info) become descriptions.

use std::collections::{BTreeMap, HashMap, HashSet};

use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use crate::bindings::{Binding, BodyRule};
use crate::fields::{is_date, is_scalar_like};
use crate::rules;
use staymesh_proto::rules::Rules;

/// The name of the error schema in `components`.
const ERROR_SCHEMA: &str = "staymesh.gateway.Error";
/// Nesting depth up to which message fields are offered as dotted query parameters.
const MAX_QUERY_DEPTH: usize = 3;

/// Builds the document for `bindings`.
pub(crate) fn document(pool: &DescriptorPool, bindings: &[Binding]) -> Value {
    let mut generator = Generator {
        comments: Comments::new(pool),
        rules: staymesh_proto::validation::contracts()
            .ok()
            .map(|(_, rules)| rules),
        schemas: BTreeMap::new(),
        pending: Vec::new(),
    };
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut tags = BTreeMap::new();
    for binding in bindings {
        let Some(verb) = openapi_method(binding) else {
            continue;
        };
        let service = binding.rpc.parent_service();
        tags.entry(service.name().to_owned()).or_insert_with(|| {
            generator
                .comments
                .get(service.parent_file().name(), service.path())
        });
        let operation = generator.operation(binding);
        paths
            .entry(binding.template.to_string())
            .or_default()
            .insert(verb, operation);
    }
    while let Some(message) = generator.pending.pop() {
        if !generator.schemas.contains_key(message.full_name()) {
            let schema = generator.message_schema(&message);
            generator
                .schemas
                .insert(message.full_name().to_owned(), schema);
        }
    }
    generator
        .schemas
        .insert(ERROR_SCHEMA.to_owned(), error_schema());
    let tags: Vec<Value> = tags
        .into_iter()
        .map(|(name, description)| with_description(json!({ "name": name }), description))
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "staymesh HTTP API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "REST/JSON over the staymesh gRPC services. Bodies use the proto3 JSON \
                mapping: lowerCamelCase names, enums by name, 64-bit integers as strings.",
        },
        "tags": tags,
        "paths": paths,
        "components": { "schemas": generator.schemas },
    })
}

fn openapi_method(binding: &Binding) -> Option<String> {
    let verb = binding.method.as_str().to_ascii_lowercase();
    [
        "get", "put", "post", "delete", "patch", "head", "options", "trace",
    ]
    .contains(&verb.as_str())
    .then_some(verb)
}

struct Generator {
    comments: Comments,
    /// The contracts' rules; none if they failed to load (the services then
    /// refuse every checked request, and a test proves they load).
    rules: Option<&'static Rules>,
    schemas: BTreeMap<String, Value>,
    pending: Vec<MessageDescriptor>,
}

impl Generator {
    fn required(&self, field: &FieldDescriptor) -> bool {
        self.rules
            .is_some_and(|contract| rules::required(contract, field))
    }

    fn operation(&mut self, binding: &Binding) -> Value {
        let rpc = &binding.rpc;
        let service = rpc.parent_service();
        let mut operation_id = format!("{}_{}", service.name(), rpc.name());
        if binding.index > 0 {
            operation_id.push_str(&format!("_{}", binding.index));
        }
        let mut parameters = Vec::new();
        for path in &binding.path_fields {
            let name = dotted(path);
            // Resolved paths are never empty; skip one defensively.
            let Some(leaf) = path.last() else { continue };
            let schema = self.field_schema(leaf);
            parameters
                .push(json!({ "name": name, "in": "path", "required": true, "schema": schema }));
        }
        if !matches!(binding.body, BodyRule::Whole) {
            let mut visiting = HashSet::new();
            self.query_parameters(
                binding,
                &rpc.input(),
                &mut Vec::new(),
                &mut visiting,
                &mut parameters,
            );
        }
        let response_schema = match &binding.response_body {
            Some(field) => self.field_schema(field),
            None => self.message_ref(&rpc.output()),
        };
        // A server stream is Server-Sent Events: each `message` event's data
        // is one response message as JSON (see `events`).
        let ok = if rpc.is_server_streaming() {
            json!({
                "description": "Server-Sent Events: `message` events whose data is this schema as JSON, \
                    an `error` event with the error body if the stream fails, then `end`.",
                "content": { "text/event-stream": { "schema": response_schema } },
            })
        } else {
            json!({
                "description": "OK",
                "content": { "application/json": { "schema": response_schema } },
            })
        };
        let mut op = json!({
            "operationId": operation_id,
            "tags": [service.name()],
            "parameters": parameters,
            "responses": {
                "200": ok,
                "default": {
                    "description": "An error, with the gRPC code name and field violations.",
                    "content": { "application/json": {
                        "schema": { "$ref": format!("#/components/schemas/{ERROR_SCHEMA}") },
                    } },
                },
            },
        });
        let body = match &binding.body {
            BodyRule::None => None,
            BodyRule::Whole => Some(self.whole_body(binding)),
            // Passed through as sent (see transcode): any JSON document.
            BodyRule::Field(field) if field.kind() == Kind::Bytes => {
                let description = self.comments.get(field.parent_file().name(), field.path());
                Some((
                    with_description(json!({ "type": "object" }), description),
                    false,
                ))
            }
            BodyRule::Field(field) => Some((self.field_schema(field), self.required(field))),
        };
        if let Some((schema, required)) = body {
            // An absent body is `{}`: required only when that would be refused.
            op["requestBody"] = json!({
                "required": required,
                "content": { "application/json": { "schema": schema } },
            });
        }
        let description = self.comments.get(rpc.parent_file().name(), rpc.path());
        if let Some(text) = &description {
            op["summary"] = Value::from(text.lines().next().unwrap_or_default());
        }
        with_description(op, description)
    }

    /// The request message as a body: the fields the path sets are not in it
    /// (the path wins), and whether any field left must be sent.
    fn whole_body(&mut self, binding: &Binding) -> (Value, bool) {
        let input = binding.rpc.input();
        let by_path: Vec<&str> = binding
            .path_fields
            .iter()
            .filter(|path| path.len() == 1)
            .map(|path| path[0].json_name())
            .collect();
        let required = input
            .fields()
            .any(|f| !by_path.contains(&f.json_name()) && self.required(&f));
        if by_path.is_empty() {
            return (self.message_ref(&input), required);
        }
        let mut schema = self.message_schema(&input);
        if let Some(properties) = schema["properties"].as_object_mut() {
            properties.retain(|name, _| !by_path.contains(&name.as_str()));
        }
        if let Some(list) = schema["required"].as_array_mut() {
            list.retain(|name| !by_path.iter().any(|p| name == p));
        }
        (schema, required)
    }

    /// Every field not bound by the path or body, nested messages as dotted names.
    fn query_parameters(
        &mut self,
        binding: &Binding,
        message: &MessageDescriptor,
        prefix: &mut Vec<FieldDescriptor>,
        visiting: &mut HashSet<String>,
        out: &mut Vec<Value>,
    ) {
        visiting.insert(message.full_name().to_owned());
        for field in message.fields() {
            prefix.push(field.clone());
            let nested = match field.kind() {
                Kind::Message(m) if !is_scalar_like(&m) && !field.is_list() && !field.is_map() => {
                    Some(m)
                }
                _ => None,
            };
            if binding.binds(prefix) || field.is_map() {
                // Bound elsewhere, or not expressible in a query string.
            } else if let Some(m) = nested {
                if prefix.len() < MAX_QUERY_DEPTH && !visiting.contains(m.full_name()) {
                    self.query_parameters(binding, &m, prefix, visiting, out);
                }
            } else {
                let schema = self.query_schema(&field);
                let description = self.comments.get(field.parent_file().name(), field.path());
                // Required when the field and every message holding it are.
                let required = prefix.iter().all(|f| self.required(f));
                out.push(with_description(
                    json!({
                        "name": dotted(prefix),
                        "in": "query",
                        "required": required,
                        "schema": schema,
                    }),
                    description,
                ));
            }
            prefix.pop();
        }
        visiting.remove(message.full_name());
    }

    /// Like [`Self::field_schema`], but dates are the `YYYY-MM-DD` strings the URL takes.
    fn query_schema(&mut self, field: &FieldDescriptor) -> Value {
        let date = json!({ "type": "string", "format": "date" });
        match field.kind() {
            Kind::Message(m) if is_date(&m) && field.is_list() => {
                json!({ "type": "array", "items": date })
            }
            Kind::Message(m) if is_date(&m) => date,
            _ => self.field_schema(field),
        }
    }

    fn field_schema(&mut self, field: &FieldDescriptor) -> Value {
        let schema = if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                unreachable!("map fields are entry messages")
            };
            let value = self.kind_schema(&entry.map_entry_value_field().kind());
            json!({ "type": "object", "additionalProperties": value })
        } else if field.is_list() {
            json!({ "type": "array", "items": self.kind_schema(&field.kind()) })
        } else {
            self.kind_schema(&field.kind())
        };
        let mut schema = schema;
        if let Some(contract) = self.rules {
            rules::apply(contract, field, &mut schema);
        }
        let description = self.comments.get(field.parent_file().name(), field.path());
        with_description(schema, description)
    }

    fn kind_schema(&mut self, kind: &Kind) -> Value {
        match kind {
            Kind::Double => json!({ "type": "number", "format": "double" }),
            Kind::Float => json!({ "type": "number", "format": "float" }),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                json!({ "type": "integer", "format": "int32" })
            }
            Kind::Uint32 | Kind::Fixed32 => json!({ "type": "integer", "format": "uint32" }),
            // proto3 JSON writes 64-bit integers as strings.
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                json!({ "type": "string", "format": "int64" })
            }
            Kind::Uint64 | Kind::Fixed64 => json!({ "type": "string", "format": "uint64" }),
            Kind::Bool => json!({ "type": "boolean" }),
            // No request string may hold U+0000 (staymesh_proto::rules::NO_NUL).
            Kind::String => {
                json!({ "type": "string", "not": { "type": "string", "pattern": "\\x00" } })
            }
            Kind::Bytes => json!({ "type": "string", "format": "byte" }),
            Kind::Enum(e) => {
                // proto3 JSON takes an enum value by name or by number.
                let values = rules::enum_values(e, |_| true);
                let description = self.comments.get(e.parent_file().name(), e.path());
                with_description(
                    json!({ "type": ["string", "integer"], "enum": values }),
                    description,
                )
            }
            Kind::Message(m) => self.message_ref(m),
        }
    }

    /// A `$ref` to the message's schema, or the inline JSON shape of a well-known type.
    fn message_ref(&mut self, message: &MessageDescriptor) -> Value {
        match message.full_name() {
            "google.protobuf.Timestamp" => json!({ "type": "string", "format": "date-time" }),
            "google.protobuf.Duration" => json!({ "type": "string", "pattern": "^-?[0-9.]+s$" }),
            "google.protobuf.FieldMask" => json!({ "type": "string" }),
            "google.protobuf.Struct" => json!({ "type": "object" }),
            "google.protobuf.Value" => json!({}),
            "google.protobuf.ListValue" => json!({ "type": "array" }),
            "google.protobuf.Empty" => json!({ "type": "object" }),
            "google.protobuf.Any" => {
                json!({ "type": "object", "properties": { "@type": { "type": "string" } } })
            }
            name if name.starts_with("google.protobuf.") && name.ends_with("Value") => {
                let inner = message
                    .get_field_by_name("value")
                    .map(|f| self.kind_schema(&f.kind()))
                    .unwrap_or_default();
                json!({ "oneOf": [inner, { "type": "null" }] })
            }
            name => {
                if !self.schemas.contains_key(name) {
                    self.pending.push(message.clone());
                }
                json!({ "$ref": format!("#/components/schemas/{name}") })
            }
        }
    }

    fn message_schema(&mut self, message: &MessageDescriptor) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for field in message.fields() {
            let schema = self.field_schema(&field);
            if self.required(&field) {
                required.push(field.json_name().to_owned());
                properties.insert(field.json_name().to_owned(), schema);
            } else {
                // proto3 JSON reads `null` as the field's default.
                properties.insert(field.json_name().to_owned(), nullable(schema));
            }
        }
        let description = self
            .comments
            .get(message.parent_file().name(), message.path());
        // The edge refuses unknown fields, so the document must not invite them.
        let mut schema = json!({
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
        });
        if !required.is_empty() {
            schema["required"] = json!(required);
        }
        if is_date(message)
            && message
                .fields()
                .any(|f| self.rules.is_some_and(|r| r.of(&f).is_some()))
        {
            schema["allOf"] = real_date();
        }
        with_description(schema, description)
    }
}

/// The day-of-month rules of a real calendar date (leap years included), which
/// per-field bounds cannot state.
fn real_date() -> Value {
    json!([
        {
            "if": { "properties": { "month": { "enum": [4, 6, 9, 11] } }, "required": ["month"] },
            "then": { "properties": { "day": { "maximum": 30 } } },
        },
        {
            "if": { "properties": { "month": { "const": 2 } }, "required": ["month"] },
            "then": { "properties": { "day": { "maximum": 29 } } },
        },
        {
            "if": {
                "properties": { "month": { "const": 2 }, "day": { "const": 29 } },
                "required": ["month", "day"],
            },
            "then": { "properties": { "year": { "anyOf": [
                { "multipleOf": 400 },
                { "multipleOf": 4, "not": { "multipleOf": 100 } },
            ] } } },
        },
    ])
}

fn dotted(path: &[FieldDescriptor]) -> String {
    path.iter()
        .map(FieldDescriptor::name)
        .collect::<Vec<_>>()
        .join(".")
}

/// Prose in a field's comment that introduces the rules the service checks
/// beyond the contract's (relations between fields, today's date, stored
/// state); published as `x-service-rule` so tools can tell them apart.
const SERVICE_RULE: &str = "Checked by the service:";

fn with_description(mut schema: Value, description: Option<String>) -> Value {
    if let (Some(text), Some(object)) = (description, schema.as_object_mut()) {
        if let Some((_, rule)) = text.split_once(SERVICE_RULE) {
            let rule = rule.split_whitespace().collect::<Vec<_>>().join(" ");
            object.insert("x-service-rule".to_owned(), Value::from(rule));
        }
        object.insert("description".to_owned(), Value::from(text));
    }
    schema
}

/// `schema`, also admitting `null`.
fn nullable(mut schema: Value) -> Value {
    let Some(object) = schema.as_object_mut() else {
        return schema;
    };
    if let Some(list) = object.get_mut("enum").and_then(Value::as_array_mut) {
        list.push(Value::Null);
    }
    match object.get("type").cloned() {
        Some(Value::String(kind)) => {
            object.insert("type".into(), json!([kind, "null"]));
        }
        Some(Value::Array(mut kinds)) => {
            kinds.push(json!("null"));
            object.insert("type".into(), Value::Array(kinds));
        }
        _ => {
            // A `$ref` (with its description beside it), or a shape without a type.
            let description = object.remove("description");
            let rule = object.remove("x-service-rule");
            let mut wrapped = json!({ "anyOf": [schema, { "type": "null" }] });
            if let Some(d) = description {
                wrapped["description"] = d;
            }
            if let Some(r) = rule {
                wrapped["x-service-rule"] = r;
            }
            return wrapped;
        }
    }
    schema
}

fn error_schema() -> Value {
    let string = json!({ "type": "string" });
    json!({
        "type": "object",
        "properties": { "error": {
            "type": "object",
            "properties": {
                "code": { "type": "string", "description": "The gRPC code name, e.g. NOT_FOUND." },
                "message": string,
                "details": { "type": "array", "items": {
                    "type": "object",
                    "properties": { "field": string, "description": string },
                } },
            },
        } },
    })
}

/// Leading comments by (file, source path), from the descriptor set's source info.
struct Comments(HashMap<(String, Vec<i32>), String>);

impl Comments {
    fn new(pool: &DescriptorPool) -> Self {
        let mut comments = HashMap::new();
        for file in pool.files() {
            let Some(info) = &file.file_descriptor_proto().source_code_info else {
                continue;
            };
            for location in &info.location {
                if let Some(text) = &location.leading_comments {
                    let text: Vec<&str> = text.lines().map(str::trim).collect();
                    let text = text.join("\n").trim().to_owned();
                    if !text.is_empty() {
                        comments.insert((file.name().to_owned(), location.path.clone()), text);
                    }
                }
            }
        }
        Self(comments)
    }

    fn get(&self, file: &str, path: &[i32]) -> Option<String> {
        self.0.get(&(file.to_owned(), path.to_vec())).cloned()
    }
}
