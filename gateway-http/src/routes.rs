//! The route table: every binding of a routed service with its backend channel,
//! matched most-specific first.

use axum::http::Method;
use tonic::transport::Channel;

use crate::bindings::Binding;
use crate::error::ApiError;

/// A binding and the channel of the backend that serves its RPC.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub(crate) binding: Binding,
    pub(crate) channel: Channel,
}

/// All routes, ordered so the first template that matches is the most specific.
#[derive(Debug)]
pub(crate) struct Routes(Vec<Route>);

impl Routes {
    pub(crate) fn new(mut routes: Vec<Route>) -> Self {
        routes.sort_by_key(|r| std::cmp::Reverse(r.binding.template.specificity()));
        Self(routes)
    }

    /// The route for `method` and `path`, with its path variables' values; 404 when
    /// no template matches, 405 when templates match only other methods.
    pub(crate) fn find(
        &self,
        method: &Method,
        path: &str,
    ) -> Result<(&Route, Vec<String>), ApiError> {
        let mut allowed: Vec<&str> = Vec::new();
        for route in &self.0 {
            let Some(values) = route.binding.template.matches(path) else {
                continue;
            };
            if route.binding.method == *method {
                return Ok((route, values));
            }
            if !allowed.contains(&route.binding.method.as_str()) {
                allowed.push(route.binding.method.as_str());
            }
        }
        if allowed.is_empty() {
            Err(ApiError::no_route(path))
        } else {
            Err(ApiError::method_not_allowed(&allowed.join(", ")))
        }
    }
}
