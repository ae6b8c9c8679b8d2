//! [`Pg`] over the PortOne-style REST API (`Authorization: PortOne <secret>`)
//! with reqwest: a timeout on every call, and a retry with a short backoff
//! when a call got no answer (every call here is idempotent, see the module
//! above). reqwest was chosen over the hyper client the coupon webhook uses
//! for its JSON, query and timeout handling, which a PG client needs on
//! every call.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{Pg, PgCancellation, PgError, PgPayment, Registration};

/// Attempts per call when the PG does not answer.
const ATTEMPTS: u32 = 3;
/// The wait before the first retry; doubled for the next.
const BACKOFF: Duration = Duration::from_millis(100);

/// A PortOne-style PG reached over HTTP.
#[derive(Debug, Clone)]
pub struct HttpPg {
    client: reqwest::Client,
    base: String,
    authorization: String,
    provider: &'static str,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    #[serde(rename = "type", default)]
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(serde::Deserialize)]
struct CancelBody {
    payment: PgPayment,
    cancellation: Option<PgCancellation>,
}

#[derive(serde::Deserialize)]
struct CancellationsBody {
    cancellations: Vec<PgCancellation>,
}

impl HttpPg {
    /// A client of the PG at `base` (e.g. `http://127.0.0.1:8090`).
    pub fn new(
        base: &str,
        api_secret: &str,
        timeout: Duration,
        provider: &'static str,
    ) -> Result<Self, String> {
        let base = base.trim().trim_end_matches('/').to_owned();
        if !base.starts_with("http://") {
            return Err(format!("the PG URL `{base}` must be an http:// URL"));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| format!("cannot build the PG client: {e}"))?;
        Ok(Self {
            client,
            base,
            authorization: format!("PortOne {api_secret}"),
            provider,
        })
    }

    /// Sends the request `build` makes, retrying while the PG does not
    /// answer, and decodes a 2xx body as `T`.
    async fn call<T: DeserializeOwned>(
        &self,
        what: &str,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<T, PgError> {
        let mut wait = BACKOFF;
        let mut attempt = 1;
        loop {
            let sent = build(&self.client)
                .header(reqwest::header::AUTHORIZATION, &self.authorization)
                .send()
                .await;
            let outcome = match sent {
                Ok(response) => read(response).await,
                Err(error) => Err(PgError::Unavailable(error.to_string())),
            };
            match outcome {
                Err(PgError::Unavailable(reason)) if attempt < ATTEMPTS => {
                    tracing::info!(what, attempt, reason, "the PG did not answer, retrying");
                    metrics::counter!("payment_pg_retries_total").increment(1);
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn request(&self, client: &reqwest::Client, method: Method, path: &str) -> RequestBuilder {
        client.request(method, self.url(path))
    }
}

async fn read<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, PgError> {
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| PgError::Unavailable(e.to_string()))?;
    if status.is_success() {
        return serde_json::from_slice(&body)
            .map_err(|e| PgError::Unavailable(format!("the PG's answer does not decode: {e}")));
    }
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return Err(PgError::Unavailable(format!("the PG answered {status}")));
    }
    let error: ErrorBody = serde_json::from_slice(&body).unwrap_or(ErrorBody {
        code: status.as_str().to_owned(),
        message: String::from_utf8_lossy(&body).into_owned(),
    });
    Err(PgError::Refused {
        code: error.code,
        message: error.message,
    })
}

/// A path segment the PG gave us, kept from turning into another path.
fn segment(key: &str) -> String {
    key.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

#[tonic::async_trait]
impl Pg for HttpPg {
    fn provider(&self) -> &'static str {
        self.provider
    }

    async fn register(&self, r: &Registration) -> Result<PgPayment, PgError> {
        let body = json!({
            "orderId": r.order_id,
            "orderName": r.order_name,
            "amount": r.amount,
            "currency": staymesh_platform::convert::CURRENCY,
            "expiresAt": r.expires_at.to_rfc3339(),
            "redirectUrl": r.redirect_url,
        });
        self.call("register", |c| {
            self.request(c, Method::POST, "/payments").json(&body)
        })
        .await
    }

    async fn payment(&self, payment_key: &str) -> Result<PgPayment, PgError> {
        let path = format!("/payments/{}", segment(payment_key));
        self.call("read", |c| self.request(c, Method::GET, &path))
            .await
    }

    async fn cancel(
        &self,
        payment_key: &str,
        amount: Option<i64>,
        reason: &str,
        idempotency_key: &str,
    ) -> Result<(PgPayment, Option<PgCancellation>), PgError> {
        let path = format!("/payments/{}/cancel", segment(payment_key));
        let body = json!({
            "amount": amount,
            "reason": reason,
            "idempotencyKey": idempotency_key,
        });
        let answer: CancelBody = self
            .call("cancel", |c| {
                self.request(c, Method::POST, &path).json(&body)
            })
            .await?;
        Ok((answer.payment, answer.cancellation))
    }

    async fn cancellations(&self, payment_key: &str) -> Result<Vec<PgCancellation>, PgError> {
        let path = format!("/payments/{}/cancellations", segment(payment_key));
        let answer: CancellationsBody = self
            .call("cancellations", |c| self.request(c, Method::GET, &path))
            .await?;
        Ok(answer.cancellations)
    }
}
