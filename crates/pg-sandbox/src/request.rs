//! Reading JSON request bodies field by field, so every 400 names the field
//! at fault (serde's own messages name a line and column, not a field).

use serde_json::{Map, Value};

use crate::error::ApiError;

/// The top-level fields of a JSON object body.
#[derive(Debug)]
pub(crate) struct Fields(Map<String, Value>);

impl Fields {
    /// Parses `body`, which must be a JSON object.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, ApiError> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(ApiError::invalid("the body must be a JSON object")),
            Err(e) => Err(ApiError::invalid(format!(
                "the body is not valid JSON: {e}"
            ))),
        }
    }

    /// A field that must be a string.
    pub(crate) fn string(&self, name: &str) -> Result<&str, ApiError> {
        self.optional_string(name)?
            .ok_or_else(|| ApiError::invalid(format!("{name}: is required")))
    }

    /// A string field that may be absent or null.
    pub(crate) fn optional_string(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid(format!("{name}: must be a string"))),
        }
    }

    /// A field that must be an integer.
    pub(crate) fn integer(&self, name: &str) -> Result<i64, ApiError> {
        self.optional_integer(name)?
            .ok_or_else(|| ApiError::invalid(format!("{name}: is required")))
    }

    /// An integer field that may be absent or null.
    pub(crate) fn optional_integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| ApiError::invalid(format!("{name}: must be an integer"))),
            Some(_) => Err(ApiError::invalid(format!("{name}: must be an integer"))),
        }
    }

    /// A boolean field that may be absent or null.
    pub(crate) fn optional_bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::invalid(format!("{name}: must be true or false"))),
        }
    }
}

/// Checks a string's length in characters.
pub(crate) fn check_length(name: &str, value: &str, max: usize) -> Result<(), ApiError> {
    let length = value.chars().count();
    if length == 0 || length > max {
        return Err(ApiError::invalid(format!(
            "{name}: must be 1 to {max} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field() {
        let fields = Fields::parse(br#"{"a": "x", "n": 1.5, "m": null}"#).unwrap();
        assert_eq!(fields.string("a").unwrap(), "x");
        assert!(fields.string("b").unwrap_err().message().starts_with("b:"));
        assert!(fields.integer("a").unwrap_err().message().starts_with("a:"));
        assert!(fields.integer("n").unwrap_err().message().starts_with("n:"));
        assert_eq!(fields.optional_integer("m").unwrap(), None);
        assert!(Fields::parse(b"[1]").is_err());
        assert!(Fields::parse(b"{").is_err());
        assert!(check_length("x", "", 3).is_err());
        assert!(check_length("x", "가나다", 3).is_ok());
    }
}
