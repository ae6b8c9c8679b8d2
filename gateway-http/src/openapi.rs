//! An OpenAPI 3.1 document generated from the same bindings and descriptors the
//! router serves, so the documentation cannot drift from the routes. Proto comments
//! (kept by protox in the descriptor set's source info) become descriptions.

use std::collections::{BTreeMap, HashMap, HashSet};

use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use crate::bindings::{Binding, BodyRule};
use crate::fields::{is_date, is_scalar_like};

/// The name of the error schema in `components`.
const ERROR_SCHEMA: &str = "staymesh.gateway.Error";
/// Nesting depth up to which message fields are offered as dotted query parameters.
const MAX_QUERY_DEPTH: usize = 3;

/// Builds the document for `bindings`.
pub(crate) fn document(pool: &DescriptorPool, bindings: &[Binding]) -> Value {
    let mut generator = Generator {
        comments: Comments::new(pool),
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
    schemas: BTreeMap<String, Value>,
    pending: Vec<MessageDescriptor>,
}

impl Generator {
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
        let mut op = json!({
            "operationId": operation_id,
            "tags": [service.name()],
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "OK",
                    "content": { "application/json": { "schema": response_schema } },
                },
                "default": {
                    "description": "An error, with the gRPC code name and field violations.",
                    "content": { "application/json": {
                        "schema": { "$ref": format!("#/components/schemas/{ERROR_SCHEMA}") },
                    } },
                },
            },
        });
        let body_schema = match &binding.body {
            BodyRule::None => None,
            BodyRule::Whole => Some(self.message_ref(&rpc.input())),
            BodyRule::Field(field) => Some(self.field_schema(field)),
        };
        if let Some(schema) = body_schema {
            op["requestBody"] = json!({
                "required": true,
                "content": { "application/json": { "schema": schema } },
            });
        }
        let description = self.comments.get(rpc.parent_file().name(), rpc.path());
        if let Some(text) = &description {
            op["summary"] = Value::from(text.lines().next().unwrap_or_default());
        }
        with_description(op, description)
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
                out.push(with_description(
                    json!({ "name": dotted(prefix), "in": "query", "schema": schema }),
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
            Kind::String => json!({ "type": "string" }),
            Kind::Bytes => json!({ "type": "string", "format": "byte" }),
            Kind::Enum(e) => {
                let values: Vec<String> = e.values().map(|v| v.name().to_owned()).collect();
                let description = self.comments.get(e.parent_file().name(), e.path());
                with_description(json!({ "type": "string", "enum": values }), description)
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
        for field in message.fields() {
            let schema = self.field_schema(&field);
            properties.insert(field.json_name().to_owned(), schema);
        }
        let description = self
            .comments
            .get(message.parent_file().name(), message.path());
        with_description(
            json!({ "type": "object", "properties": properties }),
            description,
        )
    }
}

fn dotted(path: &[FieldDescriptor]) -> String {
    path.iter()
        .map(FieldDescriptor::name)
        .collect::<Vec<_>>()
        .join(".")
}

fn with_description(mut schema: Value, description: Option<String>) -> Value {
    if let (Some(text), Some(object)) = (description, schema.as_object_mut()) {
        object.insert("description".to_owned(), Value::from(text));
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
