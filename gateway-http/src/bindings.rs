//! Reads every method's `google.api.http` rule (and its additional bindings) from
//! the descriptor pool and resolves it against the method's input message.

use axum::http::Method;
use prost_reflect::{DescriptorPool, FieldDescriptor, MethodDescriptor};
use staymesh_proto::google::api::{HttpRule, http_rule::Pattern};

use crate::error::Error;
use crate::fields::resolve_path;
use crate::template::PathTemplate;

/// The full name of the `google.api.http` extension of `MethodOptions`.
const HTTP_EXTENSION: &str = "google.api.http";

/// Where the request body goes.
#[derive(Debug, Clone)]
pub(crate) enum BodyRule {
    /// No body; every field not in the path comes from the query.
    None,
    /// `body: "*"`: the body is the whole request message; no query parameters.
    Whole,
    /// `body: "field"`: the body is that top-level field.
    Field(FieldDescriptor),
}

/// One HTTP binding of one RPC.
#[derive(Debug, Clone)]
pub(crate) struct Binding {
    pub(crate) method: Method,
    pub(crate) template: PathTemplate,
    pub(crate) rpc: MethodDescriptor,
    /// 0 for the rule itself, 1.. for its additional bindings.
    pub(crate) index: usize,
    /// The field path of each template variable, in the same order.
    pub(crate) path_fields: Vec<Vec<FieldDescriptor>>,
    pub(crate) body: BodyRule,
    /// `response_body: "field"`: only that field of the response is sent.
    pub(crate) response_body: Option<FieldDescriptor>,
}

impl Binding {
    /// Whether a dotted proto field path is already set by the path or the body.
    pub(crate) fn binds(&self, path: &[FieldDescriptor]) -> bool {
        let bound_by_path = self
            .path_fields
            .iter()
            .any(|p| p.len() <= path.len() && p[..] == path[..p.len()]);
        let bound_by_body = match &self.body {
            BodyRule::None => false,
            BodyRule::Whole => true,
            BodyRule::Field(f) => path.first() == Some(f),
        };
        bound_by_path || bound_by_body
    }
}

/// Every binding of the unary and server-streaming methods of the services
/// `wanted` accepts.
pub(crate) fn read(
    pool: &DescriptorPool,
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<Binding>, Error> {
    let Some(extension) = pool.get_extension_by_name(HTTP_EXTENSION) else {
        return Ok(Vec::new());
    };
    let mut bindings = Vec::new();
    for service in pool.services().filter(|s| wanted(s.full_name())) {
        for rpc in service.methods() {
            let options = rpc.options();
            if !options.has_extension(&extension) {
                continue;
            }
            let bad = |reason: String| Error::HttpRule {
                method: rpc.full_name().to_owned(),
                reason,
            };
            if rpc.is_client_streaming() {
                // Browsers cannot stream a request over plain HTTP; server
                // streams are served as Server-Sent Events (see `forward`).
                tracing::warn!(
                    rpc = rpc.full_name(),
                    "skipping client-streaming RPC with an HTTP rule"
                );
                continue;
            }
            let rule: HttpRule = options
                .get_extension(&extension)
                .as_message()
                .ok_or_else(|| bad("the option is not a message".to_owned()))?
                .transcode_to()
                .map_err(|e| bad(e.to_string()))?;
            let additional = rule.additional_bindings.clone();
            for (index, rule) in std::iter::once(rule).chain(additional).enumerate() {
                bindings.push(binding(&rpc, index, &rule).map_err(bad)?);
            }
        }
    }
    Ok(bindings)
}

fn binding(rpc: &MethodDescriptor, index: usize, rule: &HttpRule) -> Result<Binding, String> {
    let (method, template) = match &rule.pattern {
        Some(Pattern::Get(t)) => (Method::GET, t.as_str()),
        Some(Pattern::Put(t)) => (Method::PUT, t.as_str()),
        Some(Pattern::Post(t)) => (Method::POST, t.as_str()),
        Some(Pattern::Delete(t)) => (Method::DELETE, t.as_str()),
        Some(Pattern::Patch(t)) => (Method::PATCH, t.as_str()),
        Some(Pattern::Custom(c)) => (
            Method::from_bytes(c.kind.as_bytes()).map_err(|e| format!("kind `{}`: {e}", c.kind))?,
            c.path.as_str(),
        ),
        None => return Err("no pattern".to_owned()),
    };
    let template =
        PathTemplate::parse(template).map_err(|e| format!("template `{template}` {e}"))?;
    let input = rpc.input();
    let path_fields = template
        .variables()
        .iter()
        .map(|v| {
            let path = resolve_path(&input, &v.field_path.join("."))?;
            match path.last() {
                Some(leaf) if leaf.is_list() || leaf.is_map() => {
                    Err(format!("path variable `{}` is repeated", leaf.name()))
                }
                _ => Ok(path),
            }
        })
        .collect::<Result<_, _>>()?;
    let body = match rule.body.as_str() {
        "" => BodyRule::None,
        "*" => BodyRule::Whole,
        name => BodyRule::Field(
            input
                .get_field_by_name(name)
                .ok_or_else(|| format!("body field `{name}` not in {}", input.full_name()))?,
        ),
    };
    let response_body = match rule.response_body.as_str() {
        "" => None,
        name => Some(rpc.output().get_field_by_name(name).ok_or_else(|| {
            format!(
                "response_body field `{name}` not in {}",
                rpc.output().full_name()
            )
        })?),
    };
    Ok(Binding {
        method,
        template,
        rpc: rpc.clone(),
        index,
        path_fields,
        body,
        response_body,
    })
}
