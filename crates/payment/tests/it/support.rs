//! One payment deployment per test: the sandbox PG (its own database), the
//! payment service on 127.0.0.1:0, and the HTTP edge in front of it, where
//! the sandbox delivers its webhooks as it would in production.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::PgPool;
use staymesh_payment::{DESCRIPTOR, PaymentArgs, Settings};
use staymesh_pg_sandbox::SandboxArgs;
use staymesh_platform::kafka::EnvelopeExt;
use staymesh_platform::{InfraArgs, Shutdown};
use staymesh_proto::common::Envelope;
use staymesh_proto::payment as pb;
use staymesh_proto::payment::payment_booking_service_client::PaymentBookingServiceClient;
use staymesh_proto::payment::payment_service_client::PaymentServiceClient;
use staymesh_proto::saga;
use staymesh_testkit::Running;
pub use staymesh_testkit::{FakeTokens, authed, eventually, violated_fields, won};
use tokio::net::TcpListener;
use tonic::transport::Channel;
use uuid::Uuid;

/// An admin's token.
pub const ADMIN: &str = "admin:0190c0de-0000-7000-8000-0000000000ad";
/// The sandbox's API secret in these tests.
pub const API_SECRET: &str = "test-api-secret";
/// The secret the sandbox signs webhooks with, and the service checks.
pub const WEBHOOK_SECRET: &str = "whsec_dGVzdC13ZWJob29rLXNlY3JldC1mb3Itc3RheW1lc2g=";
/// Cards of the sandbox.
pub const APPROVE: &str = "4242 4242 4242 4242";
pub const DECLINE: &str = "4000000000000002";
pub const TAMPER: &str = "4000000000000077";
pub const TIME_OUT: &str = "4000000000000119";

/// How a deployment is set up.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Whether the sandbox sends webhooks (to the edge).
    pub webhooks: bool,
    /// Percent of webhooks the sandbox sends twice.
    pub duplicate_webhooks: u8,
    /// How often the reconciler runs (and how long a payment waits for it).
    pub reconcile_every: Duration,
    /// The service's timeout per PG call.
    pub pg_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            webhooks: true,
            duplicate_webhooks: 0,
            reconcile_every: Duration::from_secs(3600),
            pg_timeout: Duration::from_secs(3),
        }
    }
}

/// A running deployment.
pub struct Mesh {
    pub api: PaymentServiceClient<Channel>,
    pub bookings: PaymentBookingServiceClient<Channel>,
    pub pool: PgPool,
    /// The sandbox PG's base URL.
    pub pg: String,
    /// The edge's base URL.
    pub edge: String,
    pub http: reqwest::Client,
    infra: InfraArgs,
    running: Running<staymesh_payment::Error>,
    stop_others: Shutdown,
    sandbox: tokio::task::JoinHandle<Result<(), staymesh_pg_sandbox::Error>>,
}

pub async fn spawn() -> Mesh {
    spawn_with(Options::default()).await
}

pub async fn spawn_with(options: Options) -> Mesh {
    let (infra, server) = staymesh_testkit::stores();
    let stop_others = Shutdown::new();

    let edge_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let edge = format!("http://{}", edge_listener.local_addr().unwrap());
    let pg_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let pg = format!("http://{}", pg_listener.local_addr().unwrap());

    let mut sandbox: SandboxArgs = staymesh_testkit::own_args();
    sandbox.pg_sandbox_api_secret = API_SECRET.into();
    sandbox.pg_sandbox_webhook_secret = WEBHOOK_SECRET.into();
    sandbox.pg_sandbox_public_url = pg.clone();
    sandbox.pg_sandbox_webhook_url = if options.webhooks {
        format!("{edge}/v1/webhooks/payments")
    } else {
        String::new()
    };
    sandbox.pg_sandbox_duplicate_webhooks = options.duplicate_webhooks;
    sandbox.pg_sandbox_webhook_retry = Duration::from_millis(100);
    let sandbox = tokio::spawn(staymesh_pg_sandbox::run(
        infra.clone(),
        sandbox,
        pg_listener,
        stop_others.clone(),
    ));

    let mut payment: PaymentArgs = staymesh_testkit::own_args();
    payment.payment_pg_url = pg.clone();
    payment.payment_pg_api_secret = API_SECRET.into();
    payment.payment_pg_webhook_secret = WEBHOOK_SECRET.into();
    payment.payment_pg_timeout = options.pg_timeout;
    payment.payment_reconcile_every = options.reconcile_every;
    payment.payment_return_url = format!("{edge}/v1/payments:approve");
    let settings = Settings::new(infra.clone(), server, payment, Arc::new(FakeTokens));
    let running = staymesh_testkit::spawn(&DESCRIPTOR, infra.clone(), |listener, shutdown| {
        staymesh_payment::run(settings, listener, shutdown)
    })
    .await;

    let backends = staymesh_gateway::Backends::new().with(
        "staymesh.payment.v1.PaymentService",
        running.channel.clone(),
    );
    let router =
        staymesh_gateway::router(backends, staymesh_gateway::GatewayOptions::default()).unwrap();
    let stop = stop_others.wait_owned();
    tokio::spawn(staymesh_gateway::serve(edge_listener, router, stop));

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mesh = Mesh {
        api: PaymentServiceClient::new(running.channel.clone()),
        bookings: PaymentBookingServiceClient::new(running.channel.clone()),
        pool: running.pool.clone(),
        pg,
        edge,
        http,
        infra,
        running,
        stop_others,
        sandbox,
    };
    let ready = || async {
        mesh.http
            .get(format!("{}/healthz", mesh.pg))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    };
    eventually(Duration::from_secs(30), "the sandbox PG answers", ready).await;
    mesh
}

/// What a test pays for: a booking of a guest at a host.
#[derive(Debug, Clone)]
pub struct Order {
    pub booking: Uuid,
    pub guest: Uuid,
    pub host: Uuid,
    pub payment: pb::Payment,
}

impl Order {
    /// The PG's key, read from the checkout URL (the service shows it only once paid).
    pub fn key(&self) -> String {
        self.payment
            .checkout_url
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned()
    }

    pub fn guest_token(&self) -> String {
        format!("guest:{}", self.guest)
    }
}

impl Mesh {
    /// Registers a payment of `amount` for a new booking of a new guest at `host`.
    pub async fn order_at(&self, host: Uuid, amount: i64) -> Order {
        let (booking, guest) = (Uuid::now_v7(), Uuid::now_v7());
        let payment = self
            .bookings
            .clone()
            .create_payment(create_request(booking, guest, host, amount))
            .await
            .unwrap()
            .into_inner()
            .payment
            .unwrap();
        assert_eq!(payment.state(), pb::PaymentState::Ready);
        Order {
            booking,
            guest,
            host,
            payment,
        }
    }

    pub async fn order(&self, amount: i64) -> Order {
        self.order_at(Uuid::now_v7(), amount).await
    }

    /// Submits the checkout form with `card`; returns the redirect's query
    /// (or None without a redirect) and the HTTP status.
    pub async fn checkout(
        &self,
        order: &Order,
        card: &str,
    ) -> (u16, Option<Vec<(String, String)>>) {
        let response = self
            .http
            .post(&order.payment.checkout_url)
            .form(&[("cardNumber", card), ("action", "pay")])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let query = response
            .headers()
            .get("location")
            .map(|l| reqwest::Url::parse(l.to_str().unwrap()).unwrap())
            .map(|url| url.query_pairs().into_owned().collect());
        (status, query)
    }

    /// ApprovePayment as the browser's return does it.
    pub async fn approve(
        &self,
        key: &str,
        order_id: &str,
        amount: Option<i64>,
    ) -> Result<pb::Payment, tonic::Status> {
        self.api
            .clone()
            .approve_payment(pb::ApprovePaymentRequest {
                payment_key: key.into(),
                order_id: order_id.into(),
                amount: amount.map(won),
            })
            .await
            .map(|r| r.into_inner().payment.unwrap())
    }

    /// The payment as an admin reads it.
    pub async fn payment(&self, order: &Order) -> pb::Payment {
        self.api
            .clone()
            .get_payment(authed(
                pb::GetPaymentRequest {
                    payment_id: order.payment.payment_id.clone(),
                },
                ADMIN,
            ))
            .await
            .unwrap()
            .into_inner()
            .payment
            .unwrap()
    }

    /// The payment as the PG reports it.
    pub async fn at_pg(&self, order: &Order) -> Value {
        self.pg_api(
            reqwest::Method::GET,
            &format!("/payments/{}", order.key()),
            None,
        )
        .await
    }

    /// A call of the sandbox's API with its secret; the JSON answer.
    pub async fn pg_api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.pg))
            .header("authorization", format!("PortOne {API_SECRET}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// Waits until the sandbox delivered every webhook of `order`.
    pub async fn webhooks_delivered(&self, order: &Order) {
        let path = format!("/sandbox/webhooks?paymentKey={}", order.key());
        eventually(
            Duration::from_secs(30),
            "the PG's webhooks are delivered",
            || async {
                let hooks = self.pg_api(reqwest::Method::GET, &path, None).await;
                let hooks = hooks["webhooks"].as_array().cloned().unwrap_or_default();
                !hooks.is_empty() && hooks.iter().all(|h| h["deliveredAt"].is_string())
            },
        )
        .await;
    }

    /// Sets the sandbox's fault switches.
    pub async fn faults(&self, faults: Value) {
        self.pg_api(reqwest::Method::PUT, "/sandbox/faults", Some(faults))
            .await;
    }

    /// The outbox's messages for `booking`, in order.
    async fn envelopes(&self, booking: Uuid) -> Vec<Envelope> {
        let envelopes =
            staymesh_testkit::saga::outbox(&self.pool, &booking.to_string(), None).await;
        for envelope in &envelopes {
            assert!(envelope.message_id().is_ok());
        }
        envelopes
    }

    /// The payment events in the outbox for `booking`, by type name.
    pub async fn events(&self, booking: Uuid) -> Vec<String> {
        self.envelopes(booking)
            .await
            .iter()
            .map(|e| e.r#type.rsplit('.').next().unwrap().to_owned())
            .collect()
    }

    /// Decoded `PaymentApproved` events of `booking`.
    pub async fn approvals(&self, booking: Uuid) -> Vec<saga::PaymentApproved> {
        self.envelopes(booking)
            .await
            .iter()
            .filter(|e| e.is::<saga::PaymentApproved>())
            .map(|e| e.decode().unwrap())
            .collect()
    }

    /// Posts a body to the edge's webhook endpoint with the given headers.
    pub async fn post_webhook(&self, body: &str, headers: &[(&str, String)]) -> u16 {
        let mut request = self
            .http
            .post(format!("{}/v1/webhooks/payments", self.edge))
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        request.send().await.unwrap().status().as_u16()
    }

    /// A webhook body for `order` signed now (or `age_seconds` ago) with `secret`.
    pub fn signed_webhook(
        order: &Order,
        secret: &str,
        age_seconds: i64,
    ) -> (String, Vec<(&'static str, String)>) {
        let body = json!({
            "type": "Transaction.Paid",
            "timestamp": chrono::Utc::now().to_rfc3339(),
            "data": {"paymentKey": order.key(), "orderId": order.payment.order_id, "status": "PAID"},
        })
        .to_string();
        let id = format!("msg_{}", Uuid::now_v7().simple());
        let at = chrono::Utc::now().timestamp() - age_seconds;
        let signature = standardwebhooks::Webhook::new(secret)
            .unwrap()
            .sign(&id, at, body.as_bytes())
            .unwrap();
        (
            body,
            vec![
                ("webhook-id", id),
                ("webhook-timestamp", at.to_string()),
                ("webhook-signature", signature),
            ],
        )
    }

    /// Checks the money invariants in SQL: refunds never exceed what was
    /// paid, and a payment's refunded amount is the sum of its done refunds.
    pub async fn assert_money_invariants(&self) {
        let bad: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM payment p WHERE p.refunded_amount <> \
             (SELECT coalesce(sum(amount), 0) FROM refund r WHERE r.payment_id = p.id AND r.state = 'DONE') \
             OR p.refunded_amount > p.amount",
        )
        .fetch_one(&self.pool)
        .await
        .unwrap();
        assert_eq!(bad, 0, "refunds explain every refunded amount");
    }

    /// The stores of this deployment.
    pub fn infra(&self) -> &InfraArgs {
        &self.infra
    }

    pub async fn stop(self) {
        self.assert_money_invariants().await;
        self.stop_others.trigger();
        self.sandbox.await.unwrap().unwrap();
        staymesh_platform::db::drop_database(
            &self.infra.postgres_url,
            &self.infra.database_for(staymesh_pg_sandbox::NAME),
        )
        .await
        .unwrap();
        self.running.stop().await;
    }
}

/// A CreatePayment due in an hour.
pub fn create_request(
    booking: Uuid,
    guest: Uuid,
    host: Uuid,
    amount: i64,
) -> pb::CreatePaymentRequest {
    pb::CreatePaymentRequest {
        booking_id: booking.to_string(),
        user_id: guest.to_string(),
        host_id: host.to_string(),
        amount: Some(won(amount)),
        order_name: "해운대 오션뷰 2박".into(),
        expires_at: Some(staymesh_platform::convert::timestamp(
            chrono::Utc::now() + chrono::Duration::hours(1),
        )),
        saga_id: format!("saga-{booking}"),
    }
}

/// The value of `name` in a redirect's query.
pub fn param<'a>(query: &'a [(String, String)], name: &str) -> &'a str {
    query
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {query:?}"))
}
