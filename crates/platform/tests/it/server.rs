//! The gRPC server builder: health follows the dependency check, and turns
//! NOT_SERVING when the shutdown starts, before the server stops.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use staymesh_platform::server::GrpcServer;
use staymesh_platform::{Error, ServerArgs, Shutdown};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

fn args() -> ServerArgs {
    ServerArgs {
        bind_host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        request_timeout: Duration::from_secs(5),
        concurrency_limit: 64,
        drain_timeout: Duration::from_secs(5),
    }
}

async fn status(client: &mut HealthClient<tonic::transport::Channel>) -> i32 {
    let request = HealthCheckRequest {
        service: String::new(),
    };
    client
        .check(request)
        .await
        .expect("health check")
        .into_inner()
        .status
}

async fn wait_for(client: &mut HealthClient<tonic::transport::Channel>, wanted: ServingStatus) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while status(client).await != wanted as i32 {
        assert!(tokio::time::Instant::now() < deadline, "never {wanted:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn health_follows_dependencies_and_drops_on_shutdown() {
    let healthy = Arc::new(AtomicBool::new(false));
    let check = healthy.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = Shutdown::new();
    let server = GrpcServer::new("test", &args()).with_readiness(move || {
        let ok = check.load(Ordering::SeqCst);
        async move {
            if ok {
                Ok(())
            } else {
                Err(Error::Config("database down".into()))
            }
        }
    });
    let serving = tokio::spawn(server.serve(listener, shutdown.clone()));

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_lazy();
    let mut client = HealthClient::new(channel);
    assert_eq!(
        status(&mut client).await,
        ServingStatus::NotServing as i32,
        "dependencies down"
    );
    healthy.store(true, Ordering::SeqCst);
    wait_for(&mut client, ServingStatus::Serving).await;
    healthy.store(false, Ordering::SeqCst);
    wait_for(&mut client, ServingStatus::NotServing).await;
    healthy.store(true, Ordering::SeqCst);
    wait_for(&mut client, ServingStatus::Serving).await;

    // A watcher sees NOT_SERVING once the shutdown starts.
    let mut watch = client
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("watch")
        .into_inner();
    let first = watch.message().await.expect("stream").expect("status");
    assert_eq!(first.status, ServingStatus::Serving as i32);
    shutdown.trigger();
    let mut saw_not_serving = false;
    while let Ok(Some(update)) = watch.message().await {
        if update.status == ServingStatus::NotServing as i32 {
            saw_not_serving = true;
            break;
        }
    }
    assert!(saw_not_serving, "health turned NOT_SERVING on shutdown");
    drop(watch);
    let result = tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .expect("server stops within the drain timeout")
        .expect("join");
    assert!(result.is_ok(), "{result:?}");
}
