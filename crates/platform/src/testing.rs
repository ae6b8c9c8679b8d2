//! Helpers for the integration tests of services: a fresh, isolated
//! deployment name per test, and waiting on gRPC health instead of sleeping.

use std::time::Duration;

use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::InfraArgs;

/// Gives `infra` a database prefix of its own and returns a Redis key prefix
/// of its own, so tests running at once never see each other's data.
pub fn isolate(infra: &mut InfraArgs) -> String {
    let tag = uuid::Uuid::now_v7().simple().to_string();
    infra.database_prefix = format!("t{}", &tag[tag.len() - 16..]);
    format!("test:{tag}")
}

/// Polls gRPC health on `channel` until SERVING. Panics when `stopped` says
/// the server has exited, or after `limit`.
pub async fn wait_serving(channel: Channel, stopped: impl Fn() -> bool, limit: Duration) {
    let mut health = HealthClient::new(channel);
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        assert!(!stopped(), "service stopped during start-up");
        let request = HealthCheckRequest {
            service: String::new(),
        };
        if let Ok(response) = health.check(request).await
            && response.get_ref().status == ServingStatus::Serving as i32
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "service never became SERVING"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
