//! Starts the real sandbox on 127.0.0.1:0 in a database of its own and
//! talks to it the way a merchant and a guest's browser do.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use staymesh_pg_sandbox::{Error, SandboxArgs};
use staymesh_platform::{InfraArgs, Shutdown};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The API secret of the default settings.
pub const SECRET: &str = "sandbox-secret";
/// The webhook secret of the default settings.
pub const WEBHOOK_SECRET: &str = "whsec_c3RheW1lc2gtc2FuZGJveC13ZWJob29rLXNlY3JldA==";
/// How long any condition may take to hold.
pub const WAIT: Duration = Duration::from_secs(20);
/// The approve card.
pub const APPROVE: &str = "4242 4242 4242 4242";

/// Settings of a sandbox of its own: a fresh database, no webhooks.
pub fn settings() -> (InfraArgs, SandboxArgs) {
    let (infra, _) = staymesh_testkit::stores();
    let mut args: SandboxArgs = staymesh_testkit::own_args();
    args.pg_sandbox_webhook_url = String::new();
    (infra, args)
}

/// A running sandbox.
pub struct Sandbox {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub infra: InfraArgs,
    pub args: SandboxArgs,
    /// Follows no redirects, so tests see the checkout's 303s.
    pub http: reqwest::Client,
    shutdown: Shutdown,
    task: JoinHandle<Result<(), Error>>,
}

/// A sandbox with default settings and no webhooks.
pub async fn sandbox() -> Sandbox {
    let (infra, args) = settings();
    start(infra, args).await
}

/// Starts a sandbox and waits until it answers `/healthz`.
pub async fn start(infra: InfraArgs, mut args: SandboxArgs) -> Sandbox {
    staymesh_testkit::init_logs();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    args.pg_sandbox_public_url = base.clone();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(staymesh_pg_sandbox::run(
        infra.clone(),
        args.clone(),
        listener,
        shutdown.clone(),
    ));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        assert!(
            !task.is_finished(),
            "the sandbox stopped during start-up: {:?}",
            task.await
        );
        if let Ok(response) = http.get(format!("{base}/healthz")).send().await
            && response.status() == StatusCode::OK
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sandbox never answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Sandbox {
        base,
        infra,
        args,
        http,
        shutdown,
        task,
    }
}

/// A registration body for `order_id`.
pub fn registration(order_id: &str, amount: i64) -> Value {
    json!({
        "orderId": order_id,
        "orderName": "Jeju ocean view, 2 nights",
        "amount": amount,
        "currency": "KRW",
        "expiresAt": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339(),
        "redirectUrl": "http://shop.test/return?from=pg",
    })
}

/// A fresh order id.
pub fn order_id() -> String {
    format!("ord_{}", uuid::Uuid::now_v7().simple())
}

impl Sandbox {
    /// Stops the sandbox, insisting it stopped cleanly; its database stays.
    pub async fn stop(self) -> (InfraArgs, SandboxArgs) {
        self.shutdown.trigger();
        match self.task.await {
            Ok(Ok(())) => {}
            other => panic!("the sandbox failed: {other:?}"),
        }
        (self.infra, self.args)
    }

    /// Stops the sandbox and drops its database.
    pub async fn finish(self) {
        let (infra, _) = self.stop().await;
        drop_database(&infra).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with the API secret.
    pub fn authed(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("authorization", format!("PortOne {SECRET}"))
    }

    /// Sends an authorized request; the status and the JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.authed(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// Registers a payment and returns it.
    pub async fn register(&self, amount: i64) -> Value {
        let (status, payment) = self
            .post("/payments", registration(&order_id(), amount))
            .await;
        assert_eq!(status, StatusCode::OK, "{payment}");
        payment
    }

    /// The payment of `key`.
    pub async fn payment(&self, key: &str) -> Value {
        let (status, payment) = self.get(&format!("/payments/{key}")).await;
        assert_eq!(status, StatusCode::OK, "{payment}");
        payment
    }

    /// Submits the checkout form as a browser does.
    pub async fn checkout(&self, key: &str, card: &str, action: &str) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/checkout/{key}")))
            .form(&[("cardNumber", card), ("action", action)])
            .send()
            .await
            .unwrap()
    }

    /// A payment of `amount` the guest has paid with the approve card.
    pub async fn paid(&self, amount: i64) -> Value {
        let payment = self.register(amount).await;
        let key = payment["paymentKey"].as_str().unwrap();
        let response = self.checkout(key, APPROVE, "pay").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let paid = self.payment(key).await;
        assert_eq!(paid["status"], "PAID");
        paid
    }

    /// `POST /payments/{key}/cancel`.
    pub async fn cancel(
        &self,
        key: &str,
        amount: Option<i64>,
        idempotency_key: &str,
    ) -> (StatusCode, Value) {
        let mut body = json!({"reason": "guest cancelled", "idempotencyKey": idempotency_key});
        if let Some(amount) = amount {
            body["amount"] = json!(amount);
        }
        self.post(&format!("/payments/{key}/cancel"), body).await
    }

    /// The cancellations of `key`.
    pub async fn cancellations(&self, key: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/payments/{key}/cancellations")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["cancellations"].as_array().unwrap().clone()
    }

    /// The webhooks of `key` as `/sandbox/webhooks` shows them.
    pub async fn webhooks(&self, key: &str) -> Vec<Value> {
        let (status, body) = self
            .get(&format!("/sandbox/webhooks?paymentKey={key}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["webhooks"].as_array().unwrap().clone()
    }

    /// Sets fault switches; the switches now.
    pub async fn faults(&self, switches: Value) -> Value {
        let (status, body) = self
            .call(reqwest::Method::PUT, "/sandbox/faults", Some(switches))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

/// Drops the database a sandbox ran on.
pub async fn drop_database(infra: &InfraArgs) {
    staymesh_platform::db::drop_database(
        &infra.postgres_url,
        &infra.database_for(staymesh_pg_sandbox::NAME),
    )
    .await
    .unwrap();
}

/// The key of a payment object.
pub fn key_of(payment: &Value) -> String {
    payment["paymentKey"].as_str().unwrap().to_owned()
}

/// The query of a redirect's `Location` as pairs.
pub fn location(response: &reqwest::Response) -> reqwest::Url {
    let location = response.headers()["location"].to_str().unwrap();
    reqwest::Url::parse(location).unwrap()
}

/// The value of `name` in `url`'s query.
pub fn query_value(url: &reqwest::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
