//! Starting the stand-in backend and the gateway on port 0, and a tiny HTTP client.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use staymesh_gateway::{Backends, GatewayOptions};
use staymesh_proto::accommodation::accommodation_service_server::AccommodationServiceServer;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Endpoint, Server};

use crate::backend::FakeAccommodation;

pub(crate) const SERVICE: &str = "staymesh.accommodation.v1.AccommodationService";

/// A running gateway (and, unless pointed elsewhere, its backend); both stop on drop.
pub(crate) struct TestApp {
    addr: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
    _stop: Vec<oneshot::Sender<()>>,
}

/// A JSON answer.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) json: Value,
}

impl TestApp {
    /// The gateway in front of a fresh stand-in backend.
    pub(crate) async fn spawn() -> Self {
        Self::spawn_with(GatewayOptions::default()).await
    }

    pub(crate) async fn spawn_with(options: GatewayOptions) -> Self {
        let (backend, stop) = spawn_backend().await;
        let mut app = Self::in_front_of(backend, options).await;
        app._stop.push(stop);
        app
    }

    /// The gateway in front of a port where nothing listens.
    pub(crate) async fn with_backend_down() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closed = listener.local_addr().unwrap();
        drop(listener);
        let options = GatewayOptions::default().with_readiness_timeout(Duration::from_secs(2));
        Self::in_front_of(closed, options).await
    }

    async fn in_front_of(backend: SocketAddr, options: GatewayOptions) -> Self {
        let channel = Endpoint::from_shared(format!("http://{backend}"))
            .unwrap()
            .connect_timeout(Duration::from_secs(2))
            .connect_lazy();
        let router =
            staymesh_gateway::router(Backends::new().with(SERVICE, channel), options).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(staymesh_gateway::serve(listener, router, async {
            stopped.await.ok();
        }));
        Self {
            addr,
            client: Client::builder(TokioExecutor::new()).build_http(),
            _stop: vec![stop],
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, &[], None).await
    }

    /// Sends a request; `body` is sent as-is with content-type application/json.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let (status, headers, bytes) = self.raw(method, path, headers, body).await;
        let json = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{status}: not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        Answer {
            status,
            headers,
            json,
        }
    }

    /// Like `send`, for answers that need not be JSON (the web page's files).
    pub(crate) async fn raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> (StatusCode, HeaderMap, Bytes) {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let body = Full::new(Bytes::from(body.unwrap_or_default().to_owned()));
        let response = self
            .client
            .request(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, bytes)
    }
}

/// The stand-in AccommodationService with grpc.health.v1 saying SERVING.
async fn spawn_backend() -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_serving::<AccommodationServiceServer<FakeAccommodation>>()
        .await;
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(
        Server::builder()
            .add_service(health)
            .add_service(AccommodationServiceServer::new(FakeAccommodation))
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                stopped.await.ok();
            }),
    );
    (addr, stop)
}

/// The first field violation's field name of an error answer.
pub(crate) fn violated_field(answer: &Answer) -> &str {
    answer.json["error"]["details"][0]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("no field violation in {}", answer.json))
}
