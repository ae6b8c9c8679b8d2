//! HTTP request -> request message, and response message -> JSON.
//!
//! The JSON is proto3's canonical mapping: lowerCamelCase field names on output
//! (both spellings accepted on input), enums by name, 64-bit integers as strings
//! (so JavaScript keeps every digit), timestamps in RFC 3339. Fields with default
//! values are emitted too, so a browser client always finds every field. A
//! body bound to a `bytes` field is the one exception: it reaches the backend
//! as sent (a webhook whose signature covers the raw bytes).

use prost_reflect::{
    DeserializeOptions, DynamicMessage, Kind, MessageDescriptor, SerializeOptions, Value,
};
use serde_json::json;

use crate::bindings::{Binding, BodyRule};
use crate::error::ApiError;
use crate::fields::{resolve_path, set_from_strings};

/// Builds the request message from the path variables (in template order), the
/// decoded query pairs and the raw body.
pub(crate) fn request_message(
    binding: &Binding,
    path_values: &[String],
    query: Vec<(String, String)>,
    body: &[u8],
) -> Result<DynamicMessage, ApiError> {
    let input = binding.rpc.input();
    // No bytes is no body; whitespace alone is not a JSON document, so it is
    // decoded (and refused) like any other malformed body.
    let has_body = !body.is_empty();
    let mut message = match &binding.body {
        BodyRule::Whole if has_body => decode_json(input.clone(), body)?,
        // A body bound to a `bytes` field is passed through untouched, so
        // the backend can check a signature over exactly what was sent.
        BodyRule::Field(field) if field.kind() == Kind::Bytes => {
            let mut message = DynamicMessage::new(input.clone());
            message.set_field(field, Value::Bytes(body.to_vec().into()));
            message
        }
        BodyRule::Field(field) if has_body => {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_field(field.name(), format!("malformed JSON: {e}")))?;
            // Decode `{field: body}` as the whole request, so the field's type and
            // nested unknown names are checked by the same JSON decoder.
            let wrapped =
                serde_json::to_vec(&json!({ field.name(): value })).map_err(ApiError::internal)?;
            decode_json(input.clone(), &wrapped)?
        }
        // A body where the rule has none is ignored, as Google's transcoders do.
        _ => DynamicMessage::new(input.clone()),
    };

    for ((path, variable), value) in binding
        .path_fields
        .iter()
        .zip(binding.template.variables())
        .zip(path_values)
    {
        set_from_strings(&mut message, path, std::slice::from_ref(value))
            .map_err(|e| ApiError::bad_field(variable.field_path.join("."), e))?;
    }

    for (name, values) in group_query(query) {
        if matches!(binding.body, BodyRule::Whole) {
            return Err(ApiError::bad_field(
                name,
                "query parameters are not accepted here; send the field in the JSON body",
            ));
        }
        let path = resolve_path(&input, &name).map_err(|e| ApiError::bad_field(&name, e))?;
        if binding.binds(&path) {
            return Err(ApiError::bad_field(
                name,
                "already set by the URL path or the body",
            ));
        }
        set_from_strings(&mut message, &path, &values)
            .map_err(|e| ApiError::bad_field(&name, e))?;
    }
    Ok(message)
}

/// Groups repeated query parameters (`?amenity=a&amenity=b`), keeping first-seen order.
fn group_query(pairs: Vec<(String, String)>) -> Vec<(String, Vec<String>)> {
    let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in pairs {
        match grouped.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value),
            None => grouped.push((name, vec![value])),
        }
    }
    grouped
}

/// Decodes a JSON body strictly: unknown fields are an error, not silently dropped.
fn decode_json(descriptor: MessageDescriptor, body: &[u8]) -> Result<DynamicMessage, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    DynamicMessage::deserialize_with_options(descriptor.clone(), &mut de, &STRICT)
        .and_then(|m| de.end().map(|()| m))
        .map_err(|e| {
            // Only on failure: decode again key by key to name the field at fault.
            let culprit = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|value| culprit(&descriptor, &value));
            match culprit {
                Some((field, description)) => ApiError::bad_field(field, description),
                None => ApiError::bad_field("body", e.to_string()),
            }
        })
}

const STRICT: DeserializeOptions = DeserializeOptions::new().deny_unknown_fields(true);

/// The dotted path of the first field of `value` that does not decode, and why.
fn culprit(descriptor: &MessageDescriptor, value: &serde_json::Value) -> Option<(String, String)> {
    for (key, item) in value.as_object()? {
        let Err(error) = DynamicMessage::deserialize_with_options(
            descriptor.clone(),
            json!({ key: item }),
            &STRICT,
        ) else {
            continue;
        };
        let field = descriptor
            .get_field_by_name(key)
            .or_else(|| descriptor.get_field_by_json_name(key));
        if let Some(field) = field
            && let Kind::Message(nested) = field.kind()
            && !field.is_list()
            && !field.is_map()
            && let Some((path, why)) = culprit(&nested, item)
        {
            return Some((format!("{key}.{path}"), why));
        }
        return Some((key.clone(), error.to_string()));
    }
    None
}

/// Serializes the response (or its `response_body` field) as JSON.
pub(crate) fn response_json(
    binding: &Binding,
    message: &DynamicMessage,
) -> Result<Vec<u8>, ApiError> {
    let options = SerializeOptions::new().skip_default_fields(false);
    match &binding.response_body {
        None => {
            let mut ser = serde_json::Serializer::new(Vec::new());
            message
                .serialize_with_options(&mut ser, &options)
                .map_err(ApiError::internal)?;
            Ok(ser.into_inner())
        }
        Some(field) => {
            let whole = message
                .serialize_with_options(serde_json::value::Serializer, &options)
                .map_err(ApiError::internal)?;
            let part = whole.get(field.json_name()).cloned().unwrap_or_default();
            serde_json::to_vec(&part).map_err(ApiError::internal)
        }
    }
}
