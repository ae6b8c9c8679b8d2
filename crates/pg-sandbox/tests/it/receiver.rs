//! A merchant's webhook endpoint in miniature: records every request's
//! headers and body, answers 500 to the first N, and can be down (its port
//! reserved but not listening) until a test brings it up.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use staymesh_platform::Shutdown;
use tokio::net::TcpSocket;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    /// What the receiver answered.
    pub answered: StatusCode,
}

impl Received {
    pub fn id(&self) -> String {
        self.headers["webhook-id"].to_str().unwrap().to_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Debug, Default)]
struct Log {
    received: Mutex<Vec<Received>>,
    fail_first: AtomicUsize,
}

/// A receiver whose port is reserved; nothing listens until [`Down::up`].
pub struct Down {
    socket: TcpSocket,
    pub url: String,
}

/// A listening receiver.
pub struct Receiver {
    pub url: String,
    log: Arc<Log>,
    shutdown: Shutdown,
}

impl Down {
    pub fn new() -> Self {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let url = format!("http://{}/webhooks", socket.local_addr().unwrap());
        Self { socket, url }
    }

    /// Starts listening; the first `fail_first` requests get a 500.
    pub fn up(self, fail_first: usize) -> Receiver {
        let listener = self.socket.listen(128).unwrap();
        let log = Arc::new(Log {
            fail_first: AtomicUsize::new(fail_first),
            ..Log::default()
        });
        let app = axum::Router::new()
            .route("/webhooks", axum::routing::post(record))
            .with_state(log.clone());
        let shutdown = Shutdown::new();
        tokio::spawn(
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown.wait_owned())
                .into_future(),
        );
        Receiver {
            url: self.url,
            log,
            shutdown,
        }
    }
}

impl Receiver {
    /// A receiver that is up at once.
    pub fn start(fail_first: usize) -> Self {
        Down::new().up(fail_first)
    }

    /// Everything received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.log.received.lock().unwrap().clone()
    }

    /// The requests it answered 2xx.
    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.answered.is_success())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

async fn record(State(log): State<Arc<Log>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let failing = log
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let answered = if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    log.received.lock().unwrap().push(Received {
        headers,
        body,
        answered,
    });
    answered
}
