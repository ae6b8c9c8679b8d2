//! The guest's checkout page (no auth, plain HTML): the form, the test
//! cards' outcomes, and the return to the merchant's redirect URL with
//! `paymentKey` and `orderId` (plus `code` and `message` on failure).

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use reqwest::Url;
use serde::Deserialize;

use crate::html;
use crate::model::{Payment, Status};
use crate::server::AppState;
use crate::store::Settlement;

/// The card the issuer declines.
const DECLINED_CARD: &str = "4000000000000002";
/// The card charged half the registered amount (a tampered amount).
const TAMPER_CARD: &str = "4000000000000077";
/// The card paid whose browser return is lost (a time-out).
const TIMEOUT_CARD: &str = "4000000000000119";

/// The checkout form.
#[derive(Debug, Deserialize)]
pub(crate) struct CheckoutForm {
    #[serde(rename = "cardNumber", default)]
    card_number: String,
    /// `pay` or `decline`; a form submitted by Enter may send none: pay.
    #[serde(default)]
    action: Option<String>,
}

/// What a checkout does to a READY payment.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Pay {
        amount: i64,
        /// The time-out card: paid, but the guest never returns to the shop.
        return_lost: bool,
    },
    Fail {
        reason: &'static str,
        code: &'static str,
    },
}

/// `GET /checkout/{paymentKey}`.
pub(crate) async fn page(State(state): State<AppState>, Path(key): Path<String>) -> Response {
    match state.store.by_key(&key).await {
        Ok(Some(payment)) => Html(html::checkout(&payment)).into_response(),
        Ok(None) => not_found(&key),
        Err(error) => internal(&error),
    }
}

/// `POST /checkout/{paymentKey}`: pays or fails the payment, once.
#[tracing::instrument(skip(state, form))]
pub(crate) async fn submit(
    State(state): State<AppState>,
    Path(key): Path<String>,
    form: Result<Form<CheckoutForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return bad_request("The form could not be read; send cardNumber and action.");
    };
    let payment = match state.store.by_key(&key).await {
        Ok(Some(payment)) => payment,
        Ok(None) => return not_found(&key),
        Err(error) => return internal(&error),
    };
    if payment.status != Status::Ready {
        return refuse(&payment);
    }
    let decision = match decide(&payment, &form) {
        Ok(decision) => decision,
        Err(why) => return bad_request(why),
    };
    let settlement = match &decision {
        Decision::Pay { amount, .. } => Settlement {
            status: Status::Paid,
            amount: *amount,
            method: Some("card"),
            fail_reason: None,
        },
        Decision::Fail { reason, .. } => Settlement {
            status: Status::Failed,
            amount: payment.amount,
            method: None,
            fail_reason: Some(reason),
        },
    };
    let settled = match state.store.settle(&key, &settlement).await {
        Ok(Some(settled)) => settled,
        // Another checkout or a cancel changed it since we read it.
        Ok(None) => match state.store.by_key(&key).await {
            Ok(Some(current)) => return refuse(&current),
            Ok(None) => return not_found(&key),
            Err(error) => return internal(&error),
        },
        Err(error) => return internal(&error),
    };
    match decision {
        Decision::Pay {
            return_lost: true, ..
        } => Html(html::pending(&settled)).into_response(),
        Decision::Pay { .. } => back_to_shop(&settled, None),
        Decision::Fail { reason, code } => back_to_shop(&settled, Some((code, reason))),
    }
}

/// The outcome of a form on a READY payment, or why the form is invalid.
fn decide(payment: &Payment, form: &CheckoutForm) -> Result<Decision, &'static str> {
    if payment.expires_at <= Utc::now() {
        return Ok(Decision::Fail {
            reason: "expired",
            code: "PAYMENT_EXPIRED",
        });
    }
    match form.action.as_deref() {
        Some("decline") => {
            return Ok(Decision::Fail {
                reason: "declined by the guest",
                code: "USER_DECLINED",
            });
        }
        Some("pay") | None => {}
        Some(_) => return Err("The action must be pay or decline."),
    }
    let digits: String = form
        .card_number
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    if digits.len() != 16 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err("The card number must have 16 digits.");
    }
    Ok(match digits.as_str() {
        DECLINED_CARD => Decision::Fail {
            reason: "card declined",
            code: "CARD_DECLINED",
        },
        TAMPER_CARD => Decision::Pay {
            amount: (payment.amount / 2).max(1),
            return_lost: false,
        },
        TIMEOUT_CARD => Decision::Pay {
            amount: payment.amount,
            return_lost: true,
        },
        _ => Decision::Pay {
            amount: payment.amount,
            return_lost: false,
        },
    })
}

/// A payment that is not READY cannot be checked out; nothing changes.
fn refuse(payment: &Payment) -> Response {
    let message = format!("payment is {}, not READY", payment.status.as_str());
    if let Some(url) = return_url(payment, Some(("PAYMENT_NOT_READY", &message))) {
        return Redirect::to(&url).into_response();
    }
    (StatusCode::CONFLICT, Html(html::checkout(payment))).into_response()
}

/// 303 to the merchant's redirect URL, or a result page when there is none.
fn back_to_shop(payment: &Payment, failure: Option<(&str, &str)>) -> Response {
    match return_url(payment, failure) {
        Some(url) => Redirect::to(&url).into_response(),
        None => Html(html::result(payment)).into_response(),
    }
}

/// The redirect URL with the outcome added to whatever query it has.
fn return_url(payment: &Payment, failure: Option<(&str, &str)>) -> Option<String> {
    if payment.redirect_url.is_empty() {
        return None;
    }
    // Registration checked the URL; one that no longer parses gets the result page.
    let mut url = Url::parse(&payment.redirect_url).ok()?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("paymentKey", &payment.payment_key);
        query.append_pair("orderId", &payment.order_id);
        if let Some((code, message)) = failure {
            query.append_pair("code", code);
            query.append_pair("message", message);
        }
    }
    Some(url.into())
}

fn bad_request(why: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(html::message("Check the card", why)),
    )
        .into_response()
}

fn not_found(key: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(html::message(
            "Payment not found",
            &format!("There is no payment {key}."),
        )),
    )
        .into_response()
}

fn internal(error: &sqlx::Error) -> Response {
    tracing::error!(%error, "checkout failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html(html::message(
            "Something went wrong",
            "The sandbox could not reach its database; try again.",
        )),
    )
        .into_response()
}
