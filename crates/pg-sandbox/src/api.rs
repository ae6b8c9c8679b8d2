//! The merchant API under `/payments`: register, read, cancel (refund) and
//! list refunds. Requests are checked field by field here; what depends on
//! the stored payment is decided in [`crate::store`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use reqwest::Url;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::request::{Fields, check_length};
use crate::server::AppState;
use crate::store::{CancelRequest, NewPayment};

/// The largest amount a payment may have (in minor units).
const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// `POST /payments`: registers a payment, READY for the guest's checkout.
pub(crate) async fn register(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let new = parse_registration(&Fields::parse(&body)?)?;
    let payment = state.store.register(&new).await?;
    Ok(Json(json!(payment.view(&state.settings.public_url))))
}

fn parse_registration(fields: &Fields) -> Result<NewPayment, ApiError> {
    let order_id = fields.string("orderId")?;
    check_length("orderId", order_id, 64)?;
    if !order_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ApiError::invalid(
            "orderId: may hold only letters, digits, _ and -",
        ));
    }
    let order_name = fields.string("orderName")?;
    check_length("orderName", order_name, 200)?;
    let amount = fields.integer("amount")?;
    if !(1..=MAX_AMOUNT).contains(&amount) {
        return Err(ApiError::invalid(format!(
            "amount: must be from 1 to {MAX_AMOUNT}"
        )));
    }
    let currency = fields.string("currency")?;
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(ApiError::invalid(
            "currency: must be three uppercase letters (ISO 4217), e.g. KRW",
        ));
    }
    let expires_at = fields.string("expiresAt")?;
    let expires_at = DateTime::parse_from_rfc3339(expires_at)
        .map_err(|e| ApiError::invalid(format!("expiresAt: not an RFC 3339 timestamp ({e})")))?
        .with_timezone(&Utc);
    let redirect_url = fields.optional_string("redirectUrl")?.unwrap_or_default();
    if !redirect_url.is_empty() {
        let parsed = Url::parse(redirect_url)
            .map_err(|e| ApiError::invalid(format!("redirectUrl: not an absolute URL ({e})")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ApiError::invalid(
                "redirectUrl: must be an http:// or https:// URL",
            ));
        }
    }
    Ok(NewPayment {
        order_id: order_id.to_owned(),
        order_name: order_name.to_owned(),
        amount,
        currency: currency.to_owned(),
        expires_at,
        redirect_url: redirect_url.to_owned(),
    })
}

/// `GET /payments/{paymentKey}`.
#[tracing::instrument(skip(state))]
pub(crate) async fn by_key(
    State(state): State<AppState>,
    Path(payment_key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let payment = state
        .store
        .by_key(&payment_key)
        .await?
        .ok_or_else(|| ApiError::payment_not_found(&payment_key))?;
    Ok(Json(json!(payment.view(&state.settings.public_url))))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderParams {
    order_id: Option<String>,
}

/// `GET /payments?orderId=X`: the payment of an order (how a merchant that
/// lost the payment key finds it).
pub(crate) async fn by_order(
    State(state): State<AppState>,
    params: Result<Query<OrderParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::invalid(e.body_text()))?;
    let order_id = params
        .order_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::invalid("orderId: is required"))?;
    let payment = state.store.by_order(&order_id).await?.ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "PAYMENT_NOT_FOUND",
            format!("no payment for order {order_id}"),
        )
    })?;
    Ok(Json(json!(payment.view(&state.settings.public_url))))
}

/// `POST /payments/{paymentKey}/cancel`: cancels a READY payment or refunds
/// (part of) a charged one.
#[tracing::instrument(skip(state, body))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Path(payment_key): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request = parse_cancel(&Fields::parse(&body)?)?;
    let (payment, cancellation) = state.store.cancel(&payment_key, &request).await?;
    Ok(Json(json!({
        "payment": payment.view(&state.settings.public_url),
        "cancellation": cancellation,
    })))
}

fn parse_cancel(fields: &Fields) -> Result<CancelRequest, ApiError> {
    let amount = fields.optional_integer("amount")?;
    if amount.is_some_and(|a| a <= 0) {
        return Err(ApiError::invalid("amount: must be at least 1"));
    }
    let reason = fields.string("reason")?;
    if reason.chars().count() > 500 {
        return Err(ApiError::invalid("reason: must be at most 500 characters"));
    }
    let idempotency_key = fields.string("idempotencyKey")?;
    check_length("idempotencyKey", idempotency_key, 128)?;
    Ok(CancelRequest {
        amount,
        reason: reason.to_owned(),
        idempotency_key: idempotency_key.to_owned(),
    })
}

/// `GET /payments/{paymentKey}/cancellations`: oldest first.
#[tracing::instrument(skip(state))]
pub(crate) async fn cancellations(
    State(state): State<AppState>,
    Path(payment_key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if state.store.by_key(&payment_key).await?.is_none() {
        return Err(ApiError::payment_not_found(&payment_key));
    }
    let cancellations = state.store.cancellations(&payment_key).await?;
    Ok(Json(json!({ "cancellations": cancellations })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(body: Value) -> Result<NewPayment, ApiError> {
        parse_registration(&Fields::parse(body.to_string().as_bytes()).unwrap())
    }

    fn valid() -> Value {
        json!({"orderId": "ord_1-A", "orderName": "제주 2박", "amount": 120000, "currency": "KRW",
               "expiresAt": "2030-01-01T00:00:00+09:00", "redirectUrl": "http://shop/return?x=1"})
    }

    #[test]
    fn a_valid_registration_parses() {
        let new = registration(valid()).unwrap();
        assert_eq!(new.amount, 120_000);
        assert_eq!(new.expires_at.to_rfc3339(), "2029-12-31T15:00:00+00:00");
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            ("orderId", json!("has space")),
            ("orderId", json!("x".repeat(65))),
            ("orderName", json!("")),
            ("amount", json!(0)),
            ("amount", json!(MAX_AMOUNT + 1)),
            ("amount", json!("100")),
            ("currency", json!("krw")),
            ("expiresAt", json!("tomorrow")),
            ("redirectUrl", json!("/relative")),
        ];
        for (field, value) in cases {
            let mut body = valid();
            body[field] = value;
            let error = registration(body).err().unwrap();
            assert!(
                error.message().starts_with(field),
                "{field}: {}",
                error.message()
            );
        }
    }

    #[test]
    fn cancel_requests_need_a_key_and_a_positive_amount() {
        let parse =
            |body: Value| parse_cancel(&Fields::parse(body.to_string().as_bytes()).unwrap());
        assert!(
            parse(json!({"reason": "r", "idempotencyKey": "k"}))
                .unwrap()
                .amount
                .is_none()
        );
        assert!(parse(json!({"amount": null, "reason": "r", "idempotencyKey": "k"})).is_ok());
        let error = parse(json!({"amount": 0, "reason": "r", "idempotencyKey": "k"}))
            .err()
            .unwrap();
        assert!(error.message().starts_with("amount"));
        let error = parse(json!({"reason": "r"})).err().unwrap();
        assert!(error.message().starts_with("idempotencyKey"));
    }
}
