//! Starting and stopping `staymesh` processes, and talking to them.

use std::path::PathBuf;
use std::time::Duration;

pub use staymesh_testkit::{Process, free_port};
use tokio::process::Command;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// One service of a deployment and the ports it was given.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub port: u16,
    pub metrics_port: u16,
}

/// The environment of one isolated deployment: its own databases, Redis keys,
/// topics and ports, for every service `staymesh services` lists.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub binary: PathBuf,
    pub prefix: String,
    pub services: Vec<Service>,
    pub http_port: u16,
    pub gateway_metrics_port: u16,
    /// The sandbox PG's HTTP port.
    pub pg_port: u16,
}

impl Deployment {
    pub async fn new() -> Self {
        let tag = uuid::Uuid::now_v7().simple().to_string();
        let binary = staymesh_testkit::staymesh_binary().await;
        let listed = Command::new(&binary)
            .args(["services", "--names"])
            .output()
            .await
            .expect("staymesh services");
        assert!(listed.status.success(), "staymesh services --names failed");
        let services = String::from_utf8_lossy(&listed.stdout)
            .lines()
            .map(|name| Service {
                name: name.trim().to_owned(),
                port: free_port(),
                metrics_port: free_port(),
            })
            .collect();
        Self {
            binary,
            prefix: format!("e{}", &tag[tag.len() - 16..]),
            services,
            http_port: free_port(),
            gateway_metrics_port: free_port(),
            pg_port: free_port(),
        }
    }

    fn service(&self, name: &str) -> &Service {
        self.services
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no {name} service"))
    }

    /// The gRPC port of a service.
    pub fn port(&self, name: &str) -> u16 {
        self.service(name).port
    }

    /// The metrics port of a service.
    pub fn metrics_port(&self, name: &str) -> u16 {
        self.service(name).metrics_port
    }

    /// The gRPC URL of a service.
    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}", self.port(name))
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .env("STAYMESH_DATABASE_PREFIX", &self.prefix)
            .env("STAYMESH_REDIS_PREFIX", &self.prefix)
            .env("STAYMESH_KAFKA_PREFIX", &self.prefix)
            // A cheaper Argon2id keeps the debug build's log-ins quick.
            .env("STAYMESH_ARGON2_MEMORY_KIB", "1024")
            .env("STAYMESH_HTTP_PORT", self.http_port.to_string())
            .env(
                "STAYMESH_GATEWAY_METRICS_PORT",
                self.gateway_metrics_port.to_string(),
            )
            .env("STAYMESH_DRAIN_TIMEOUT", "5s")
            // The sandbox PG of this deployment, and its webhooks to this edge.
            .env("STAYMESH_PG_SANDBOX_PORT", self.pg_port.to_string())
            .env("STAYMESH_PG_SANDBOX_PUBLIC_URL", self.pg())
            .env("STAYMESH_PAYMENT_PG_URL", self.pg())
            .env(
                "STAYMESH_PG_SANDBOX_WEBHOOK_URL",
                format!("{}/v1/webhooks/payments", self.edge()),
            )
            .env(
                "STAYMESH_PAYMENT_RETURN_URL",
                format!("{}/v1/payments:approve", self.edge()),
            )
            .env("STAYMESH_PUBLIC_URL", self.edge())
            .kill_on_drop(true);
        for service in &self.services {
            let env = service.name.to_ascii_uppercase().replace('-', "_");
            command
                .env(format!("STAYMESH_{env}_PORT"), service.port.to_string())
                .env(
                    format!("STAYMESH_{env}_METRICS_PORT"),
                    service.metrics_port.to_string(),
                )
                .env(format!("STAYMESH_{env}_URL"), self.url(&service.name));
        }
        command
    }

    /// Runs a one-shot subcommand (migrate, seed) to success.
    pub async fn run(&self, args: &[&str]) -> String {
        let output = self.command(args).output().await.expect("run staymesh");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "staymesh {args:?} failed: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    /// Starts a long-running subcommand; its output is read and kept.
    pub fn spawn(&self, args: &[&str]) -> Process {
        Process::spawn(self.command(args))
    }

    pub fn edge(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The sandbox PG's base URL.
    pub fn pg(&self) -> String {
        format!("http://127.0.0.1:{}", self.pg_port)
    }

    /// Waits until every service of `staymesh all` answers health SERVING
    /// and the edge answers HTTP, failing if `mesh` exits first.
    pub async fn wait_all(&self, mesh: &mut Process) {
        for service in &self.services {
            wait_serving(&self.url(&service.name), mesh, Duration::from_secs(60)).await;
        }
        wait_http(&self.edge(), mesh, Duration::from_secs(60)).await;
    }

    /// Drops the deployment's databases.
    pub async fn clean_up(&self) {
        let admin = std::env::var("STAYMESH_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://staymesh:staymesh@127.0.0.1:5432/postgres".into());
        let databases = self
            .services
            .iter()
            .map(|s| s.name.as_str())
            .chain(["pgsandbox"]);
        for name in databases {
            let database = format!("{}_{name}", self.prefix);
            staymesh_platform::db::drop_database(&admin, &database)
                .await
                .expect("drop database");
        }
    }
}

/// Polls gRPC health until SERVING, failing after `limit` or if the process exits.
pub async fn wait_serving(url: &str, child: &mut Process, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.exited() {
            panic!(
                "staymesh exited during start-up: {status}\n{}",
                child.output()
            );
        }
        if let Ok(channel) = tonic::transport::Endpoint::from_shared(url.to_owned())
            .expect("url")
            .connect()
            .await
        {
            let request = HealthCheckRequest {
                service: String::new(),
            };
            if let Ok(response) = HealthClient::new(channel).check(request).await
                && response.get_ref().status == ServingStatus::Serving as i32
            {
                return;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "never SERVING");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
    /// The body as sent, for answers that are not text.
    pub raw: tonic::codegen::Bytes,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// A plain HTTP/1.1 GET returning status and body.
pub async fn http_get(url: &str) -> (u16, String) {
    let answer = http(hyper::Method::GET, url, None, None).await;
    (answer.status, answer.body)
}

/// An HTTP/1.1 request with an optional bearer token and JSON body.
pub async fn http(
    method: hyper::Method,
    url: &str,
    bearer: Option<&str>,
    json: Option<serde_json::Value>,
) -> Answer {
    let authorization = bearer.map(|token| format!("Bearer {token}"));
    let mut headers = Vec::new();
    if let Some(value) = &authorization {
        headers.push(("authorization", value.as_str()));
    }
    let body = match json {
        Some(json) => {
            headers.push(("content-type", "application/json"));
            json.to_string()
        }
        None => String::new(),
    };
    http_raw(method, url, &headers, body).await
}

/// An HTTP/1.1 request with these headers and body; redirects are not followed.
pub async fn http_raw(
    method: hyper::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<tonic::codegen::Bytes>,
) -> Answer {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, Full<tonic::codegen::Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut request = hyper::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body.into())).expect("request");
    let response = client.request(request).await.expect("HTTP request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        raw: body,
    }
}

/// Polls the edge's `/healthz` until it answers, failing after `limit`.
pub async fn wait_http(edge: &str, child: &mut Process, limit: Duration) {
    use http_body_util::Empty;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, Empty<tonic::codegen::Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let url: hyper::Uri = format!("{edge}/healthz").parse().expect("url");
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.exited() {
            panic!(
                "staymesh exited during start-up: {status}\n{}",
                child.output()
            );
        }
        if client
            .get(url.clone())
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "edge never answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs grpcurl (installed by `scripts/infra.sh`) and returns its stdout.
pub async fn grpcurl(args: &[&str]) -> String {
    let output = Command::new("grpcurl")
        .args(args)
        .output()
        .await
        .expect("grpcurl on PATH (scripts/infra.sh installs it)");
    assert!(
        output.status.success(),
        "grpcurl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs grpcurl expecting the RPC to fail; returns what it printed.
pub async fn grpcurl_status(args: &[&str]) -> String {
    let output = Command::new("grpcurl")
        .args(args)
        .output()
        .await
        .expect("grpcurl on PATH (scripts/infra.sh installs it)");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !output.status.success(),
        "grpcurl {args:?} succeeded: {printed}"
    );
    printed
}

/// Logs in through the edge; the access token.
pub async fn login(edge: &str, email: &str, password: &str) -> String {
    let login = http(
        hyper::Method::POST,
        &format!("{edge}/v1/auth/login"),
        None,
        Some(serde_json::json!({"email": email, "password": password})),
    )
    .await;
    assert_eq!(login.status, 200, "{email}: {}", login.body);
    login.json()["tokens"]["accessToken"]
        .as_str()
        .expect("access token")
        .to_owned()
}
