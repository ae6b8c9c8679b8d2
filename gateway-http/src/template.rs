//! Path templates of `google.api.http` rules, e.g. `/v1/properties/{property_id}`,
//! `/v1/files/{name=**}` or `/v1/time-sales/{time_sale_id}:end`.
//!
//! Grammar (from google/api/http.proto):
//! `Template = "/" Segments [ Verb ]`, `Segment = "*" | "**" | LITERAL | Variable`,
//! `Variable = "{" FieldPath [ "=" Segments ] "}"`, `Verb = ":" LITERAL`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `*`: exactly one non-empty segment.
    One,
    /// `**`: the rest of the path (zero or more segments); only allowed last.
    Rest,
}

/// A `{field.path=...}` capture over `segments[start..end]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Variable {
    /// The dotted field path, split: `{a.b}` -> `["a", "b"]`.
    pub(crate) field_path: Vec<String>,
    start: usize,
    end: usize,
}

/// A parsed path template.
#[derive(Debug, Clone)]
pub(crate) struct PathTemplate {
    segments: Vec<Segment>,
    variables: Vec<Variable>,
    verb: Option<String>,
}

impl PathTemplate {
    /// Parses a template; the error says what is wrong with it.
    pub(crate) fn parse(template: &str) -> Result<Self, String> {
        let rest = template
            .strip_prefix('/')
            .ok_or_else(|| "must start with '/'".to_owned())?;
        let (path, verb) = split_verb(rest)?;
        let mut segments = Vec::new();
        let mut variables = Vec::new();
        let mut pos = 0;
        while pos < path.len() {
            if path[pos..].starts_with('{') {
                let close = path[pos..]
                    .find('}')
                    .map(|i| pos + i)
                    .ok_or_else(|| "unclosed '{'".to_owned())?;
                let inner = &path[pos + 1..close];
                let (field, sub) = inner.split_once('=').unwrap_or((inner, "*"));
                let field_path: Vec<String> = field.split('.').map(str::to_owned).collect();
                if field_path.iter().any(|p| !is_ident(p)) {
                    return Err(format!("bad field path `{field}`"));
                }
                let start = segments.len();
                for s in sub.split('/') {
                    segments.push(plain_segment(s)?);
                }
                variables.push(Variable {
                    field_path,
                    start,
                    end: segments.len(),
                });
                pos = close + 1;
            } else {
                let end = path[pos..].find('/').map_or(path.len(), |i| pos + i);
                segments.push(plain_segment(&path[pos..end])?);
                pos = end;
            }
            match path[pos..].chars().next() {
                None => {}
                Some('/') if pos + 1 < path.len() => pos += 1,
                Some(c) => return Err(format!("unexpected '{c}' at byte {}", pos + 1)),
            }
        }
        if segments.is_empty() {
            return Err("has no segments".to_owned());
        }
        if let Some(i) = segments.iter().position(|s| *s == Segment::Rest)
            && i + 1 != segments.len()
        {
            return Err("'**' must be the last segment".to_owned());
        }
        for (i, v) in variables.iter().enumerate() {
            if variables[..i].iter().any(|w| w.field_path == v.field_path) {
                return Err(format!("binds `{}` twice", v.field_path.join(".")));
            }
        }
        Ok(Self {
            segments,
            variables,
            verb,
        })
    }

    /// The variables, in template order.
    pub(crate) fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// How specific the template is; more specific templates are tried first so
    /// `/v1/a/special` wins over `/v1/a/{id}`.
    pub(crate) fn specificity(&self) -> (usize, bool, usize) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        let no_rest = !self.segments.contains(&Segment::Rest);
        (
            literals + usize::from(self.verb.is_some()),
            no_rest,
            self.segments.len(),
        )
    }

    /// Matches a request path (still percent-encoded); on a match returns each
    /// variable's decoded value, in the order of [`Self::variables`].
    pub(crate) fn matches(&self, path: &str) -> Option<Vec<String>> {
        let mut rest = path.strip_prefix('/')?;
        if let Some(verb) = &self.verb {
            rest = rest.strip_suffix(verb.as_str())?.strip_suffix(':')?;
        }
        let parts: Vec<&str> = rest.split('/').collect();
        let has_rest = self.segments.last() == Some(&Segment::Rest);
        let fixed = self.segments.len() - usize::from(has_rest);
        if parts.len() < fixed || (!has_rest && parts.len() != fixed) {
            return None;
        }
        for (segment, part) in self.segments.iter().zip(&parts) {
            match segment {
                Segment::Literal(lit) if lit != part => return None,
                Segment::One if part.is_empty() => return None,
                _ => {}
            }
        }
        self.variables
            .iter()
            .map(|v| {
                let end = if has_rest && v.end == self.segments.len() {
                    parts.len()
                } else {
                    v.end
                };
                let decoded: Option<Vec<String>> = parts[v.start..end]
                    .iter()
                    .map(|p| percent_decode(p))
                    .collect();
                decoded.map(|d| d.join("/"))
            })
            .collect()
    }
}

/// Renders the template the way OpenAPI writes paths: `{x=**}` becomes `{x}`.
impl fmt::Display for PathTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut i = 0;
        while i < self.segments.len() {
            f.write_str("/")?;
            if let Some(v) = self.variables.iter().find(|v| v.start == i) {
                write!(f, "{{{}}}", v.field_path.join("."))?;
                i = v.end.max(i + 1);
                continue;
            }
            match &self.segments[i] {
                Segment::Literal(l) => f.write_str(l)?,
                Segment::One => f.write_str("*")?,
                Segment::Rest => f.write_str("**")?,
            }
            i += 1;
        }
        if let Some(verb) = &self.verb {
            write!(f, ":{verb}")?;
        }
        Ok(())
    }
}

/// Splits off `:verb`: the last ':' outside braces after the last '/'.
fn split_verb(path: &str) -> Result<(&str, Option<String>), String> {
    let mut depth = 0i32;
    let (mut last_slash, mut last_colon) = (None, None);
    for (i, c) in path.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            '/' if depth == 0 => last_slash = Some(i),
            ':' if depth == 0 => last_colon = Some(i),
            _ => {}
        }
        if !(0..=1).contains(&depth) {
            return Err("nested or unbalanced braces".to_owned());
        }
    }
    match last_colon {
        Some(c) if last_slash.is_none_or(|s| c > s) => {
            let verb = &path[c + 1..];
            if verb.is_empty() || !verb.chars().all(is_literal_char) {
                return Err(format!("bad verb `{verb}`"));
            }
            Ok((&path[..c], Some(verb.to_owned())))
        }
        _ => Ok((path, None)),
    }
}

fn plain_segment(s: &str) -> Result<Segment, String> {
    match s {
        "*" => Ok(Segment::One),
        "**" => Ok(Segment::Rest),
        "" => Err("empty segment".to_owned()),
        lit if lit.chars().all(is_literal_char) => Ok(Segment::Literal(lit.to_owned())),
        lit => Err(format!("bad literal segment `{lit}`")),
    }
}

fn is_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~%!$&'()+,;=@".contains(c)
}

fn is_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Decodes `%XX` escapes; `None` when an escape is malformed or the result is
/// not UTF-8. ('+' stays '+': it means a space only in query strings.)
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(t: &str, path: &str) -> Option<Vec<String>> {
        PathTemplate::parse(t).unwrap().matches(path)
    }

    #[test]
    fn simple_variable() {
        let t = "/v1/properties/{property_id}";
        assert_eq!(vars(t, "/v1/properties/p1"), Some(vec!["p1".to_owned()]));
        assert_eq!(
            vars(t, "/v1/properties/a%20b"),
            Some(vec!["a b".to_owned()])
        );
        assert_eq!(vars(t, "/v1/properties/"), None);
        assert_eq!(vars(t, "/v1/properties/p1/x"), None);
        assert_eq!(PathTemplate::parse(t).unwrap().to_string(), t);
    }

    #[test]
    fn custom_verb() {
        let t = "/v1/time-sales/{time_sale_id}:end";
        assert_eq!(
            vars(t, "/v1/time-sales/ts1:end"),
            Some(vec!["ts1".to_owned()])
        );
        assert_eq!(vars(t, "/v1/time-sales/ts1"), None);
        assert_eq!(vars(t, "/v1/time-sales/ts1:start"), None);
        assert_eq!(PathTemplate::parse(t).unwrap().to_string(), t);
    }

    #[test]
    fn rest_and_nested() {
        let t = "/v1/files/{name=**}";
        assert_eq!(vars(t, "/v1/files/a/b/c"), Some(vec!["a/b/c".to_owned()]));
        assert_eq!(
            PathTemplate::parse(t).unwrap().to_string(),
            "/v1/files/{name}"
        );
        let t = "/v1/{name=shelves/*/books/*}";
        assert_eq!(
            vars(t, "/v1/shelves/s1/books/b2"),
            Some(vec!["shelves/s1/books/b2".to_owned()])
        );
        assert_eq!(vars(t, "/v1/shelves/s1/cds/b2"), None);
        let t = "/v1/{a.b}/x";
        let parsed = PathTemplate::parse(t).unwrap();
        assert_eq!(parsed.variables()[0].field_path, ["a", "b"]);
    }

    #[test]
    fn rejects_bad_templates() {
        for bad in [
            "v1/x",
            "/v1/{x",
            "/v1/**/x",
            "/v1//x",
            "/v1/{a}/{a}",
            "/v1/{1a}",
            "/v1/x:",
        ] {
            assert!(PathTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}
