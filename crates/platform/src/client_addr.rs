//! Who is on the other end of a request: the client address that rate limits
//! and audit logs key on.

use std::net::IpAddr;

/// The client's IP address. With `trust_forwarded_for`, the last entry of
/// `x-forwarded-for` wins: the HTTP edge appends the peer it saw, so that entry
/// is the nearest hop nobody downstream could forge. Without it (or without
/// the header), the TCP peer.
pub fn client_address<T>(request: &tonic::Request<T>, trust_forwarded_for: bool) -> Option<IpAddr> {
    let forwarded = trust_forwarded_for
        .then(|| request.metadata().get("x-forwarded-for"))
        .flatten()
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok());
    forwarded.or_else(|| request.remote_addr().map(|addr| addr.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_forwarded(value: &str) -> tonic::Request<()> {
        let mut request = tonic::Request::new(());
        request
            .metadata_mut()
            .insert("x-forwarded-for", value.parse().expect("ascii"));
        request
    }

    #[test]
    fn the_last_forwarded_entry_wins_only_when_trusted() {
        let request = with_forwarded("203.0.113.9, 198.51.100.7");
        assert_eq!(
            client_address(&request, true),
            Some("198.51.100.7".parse().expect("ip"))
        );
        assert_eq!(client_address(&request, false), None);
        assert_eq!(client_address(&with_forwarded("garbage"), true), None);
        assert_eq!(
            client_address(&with_forwarded("::1"), true),
            Some("::1".parse().expect("ip"))
        );
    }
}
