//! Calls from one service of the mesh to another: a lazily connected channel
//! with the same timeouts everywhere, so a dependency that is down costs a
//! caller seconds, not a hung request.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use crate::error::Error;

/// How long a connection attempt to another service may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one call to another service may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A channel to the `service` at `url`, connected on first use.
pub fn channel(service: &str, url: &str) -> Result<Channel, Error> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|e| Error::Config(format!("the {service} service URL `{url}`: {e}")))?;
    Ok(endpoint
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(CALL_TIMEOUT)
        .connect_lazy())
}
