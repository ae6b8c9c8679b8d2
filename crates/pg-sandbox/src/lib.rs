//! A sandbox payment gateway (PG) over real HTTP that behaves like a
//! PortOne-style PG, so development, tests and benchmarks pay, fail, refund
//! and receive signed webhooks without a PG account. Its whole state is in
//! Postgres (`<prefix>_pgsandbox`): a restarted sandbox on the same database
//! sees every payment, refund and webhook still owed. `staymesh pg-sandbox`
//! runs it (port 8090 by default).
//!
//! # The HTTP API
//!
//! JSON with camelCase keys; timestamps RFC 3339 UTC; amounts integer minor
//! units. `/payments…` and `/sandbox/…` need `Authorization: PortOne <api
//! secret>` (`STAYMESH_PG_SANDBOX_API_SECRET`, default `sandbox-secret`).
//! Every error is `{"type": "<CODE>", "message": "<text>"}`: 401
//! `UNAUTHORIZED`, 400 `INVALID_REQUEST` (the message names the field), 404
//! `PAYMENT_NOT_FOUND`, 409 with the codes below, 500 `INTERNAL_ERROR`.
//!
//! | request | answer |
//! |---|---|
//! | `POST /payments` `{orderId, orderName, amount, currency, expiresAt, redirectUrl}` | 200 Payment (READY). A repeat for the same `orderId` with the same amount and currency answers the existing payment; another amount or currency is 409 `ORDER_ID_CONFLICT` |
//! | `GET /payments/{paymentKey}` | 200 Payment |
//! | `GET /payments?orderId=X` | 200 Payment |
//! | `POST /payments/{paymentKey}/cancel` `{amount?, reason, idempotencyKey}` | 200 `{payment, cancellation}` (below) |
//! | `GET /payments/{paymentKey}/cancellations` | 200 `{cancellations: [...]}`, oldest first |
//! | `GET /sandbox/webhooks?paymentKey=X` | 200 `{webhooks: [{webhookId, type, paymentKey, attempts, deliveredAt, failed, lastError}]}`, oldest first (without `paymentKey`: the latest 1,000) |
//! | `GET`, `PUT`, `DELETE /sandbox/faults` | the fault switches (below) |
//! | `GET /checkout/{paymentKey}`, `POST` (form) | the guest's checkout page, no auth |
//! | `GET /healthz` | 200 `ok`, no auth |
//!
//! A Payment is `{paymentKey: "pay_<hex>", orderId, orderName, amount,
//! currency, status: READY|PAID|FAILED|CANCELLED|PARTIAL_CANCELLED, method:
//! null|"card", cancelledAmount, failReason, checkoutUrl, redirectUrl,
//! expiresAt, paidAt, cancelledAt, createdAt, updatedAt}`. `amount` is what
//! the PG charged: the registered amount, except after the tamper card.
//!
//! Cancelling a READY payment closes it (CANCELLED, `cancellation: null`;
//! checkout is refused from then on; cancelling it again answers the same).
//! On a PAID or PARTIAL_CANCELLED payment it refunds `amount` (absent or
//! null: all that is left) and records a Cancellation `{cancellationId:
//! "can_<hex>", paymentKey, amount, reason, idempotencyKey, cancelledAt}`:
//! more than is left is 409 `CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT`; the
//! same `idempotencyKey` again answers the original cancellation and refunds
//! nothing (with a different explicit amount: 409 `IDEMPOTENCY_KEY_CONFLICT`);
//! a FAILED or fully refunded payment is 409 `PAYMENT_NOT_CANCELLABLE`.
//! Refunds of one payment are serialized by its row lock, so no number of
//! concurrent calls refunds more than was charged.
//!
//! # The checkout page and its test cards
//!
//! `checkoutUrl` (`<STAYMESH_PG_SANDBOX_PUBLIC_URL>/checkout/<paymentKey>`)
//! shows the order and a card form. Spaces and dashes in the number are
//! ignored.
//!
//! | card | outcome |
//! |---|---|
//! | `4242 4242 4242 4242` and any other 16 digits | PAID, method `card` |
//! | `4000 0000 0000 0002` | FAILED, "card declined", code `CARD_DECLINED` |
//! | `4000 0000 0000 0077` | PAID for `max(1, amount / 2)`: the PG charged another amount than the merchant registered |
//! | `4000 0000 0000 0119` | PAID and its webhook sent, but the browser is never sent back (a lost return) |
//! | the Decline button | FAILED, "declined by the guest", code `USER_DECLINED` |
//! | not 16 digits | 400, the payment stays READY |
//!
//! A payment past `expiresAt` fails with "expired" (`PAYMENT_EXPIRED`); one
//! not READY is refused (409, or a redirect with `PAYMENT_NOT_READY`). Two
//! checkouts at once pay once. After the outcome the browser gets a 303 to
//! `redirectUrl` with `paymentKey` and `orderId` added to its query (and
//! `code` and `message` on failure); without a `redirectUrl`, a result page.
//!
//! # Webhooks
//!
//! Each change (paid, failed, cancelled, partially cancelled) writes, in its
//! own transaction, a webhook that is POSTed to
//! `STAYMESH_PG_SANDBOX_WEBHOOK_URL` the Standard Webhooks way (as PortOne V2
//! sends them): body `{"type": "Transaction.Paid" | "Transaction.Failed" |
//! "Transaction.Cancelled" | "Transaction.PartialCancelled", "timestamp",
//! "data": {paymentKey, orderId, status}}`, headers `webhook-id: msg_<hex>`
//! (the same on every retry and duplicate), `webhook-timestamp` (unix
//! seconds of the attempt) and `webhook-signature: v1,<base64 HMAC>` signed
//! with `STAYMESH_PG_SANDBOX_WEBHOOK_SECRET`. Anything but a 2xx within 5 s
//! is retried after `STAYMESH_PG_SANDBOX_WEBHOOK_RETRY`, doubling up to a
//! minute, 12 attempts in all; then the webhook is kept, marked failed.
//! `STAYMESH_PG_SANDBOX_DUPLICATE_WEBHOOKS` percent of delivered webhooks
//! are sent twice. As from a real PG, a payment's webhooks may arrive out of
//! order (a retried `Paid` after its `Cancelled`), so a receiver should read
//! the payment (`GET /payments/{paymentKey}`) rather than trust the order.
//!
//! # Fault switches
//!
//! `PUT /sandbox/faults` `{delayMs, failRequests, failAll, dropWebhooks}`
//! (each optional) sets them, `DELETE` clears them; all three answer the
//! current switches. In memory only; they touch the `/payments` API alone,
//! after the secret is checked (a caller without it spends no failure):
//! `failAll` answers every request 500 before doing anything, `failRequests:
//! N` the next N; `delayMs` delays each answer after its effect is committed
//! (a PG that did the work but answered too late); `dropWebhooks: N` loses
//! the next N webhooks (marked delivered, never sent).
// Dev-dependencies serve the integration tests, not the unit tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod api;
mod checkout;
mod config;
mod delivery;
mod error;
mod faults;
mod html;
mod model;
mod request;
mod server;
mod store;
mod webhooks;

use sqlx::migrate::Migrator;
use staymesh_platform::db::{self, DbSettings};
use staymesh_platform::shutdown::retry_until_ready;
use staymesh_platform::{InfraArgs, Shutdown};
use tokio::net::TcpListener;

pub use config::SandboxArgs;
pub use error::Error;

/// The sandbox's name: its database is `<prefix>_pgsandbox`.
pub const NAME: &str = "pgsandbox";

/// The sandbox's schema.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Serves the sandbox PG on `listener` until `shutdown`, with the webhook
/// delivery loop beside it. Settings are checked before anything else;
/// Postgres is waited for while it is down.
pub async fn run(
    infra: InfraArgs,
    args: SandboxArgs,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<(), Error> {
    let settings = config::Settings::from_args(&args)?;
    let database = DbSettings {
        admin_url: infra.postgres_url.clone(),
        database: infra.database_for(NAME),
        max_connections: infra.postgres_pool,
    };
    let pool =
        retry_until_ready("postgres", &shutdown, || db::connect(&database, &MIGRATOR)).await?;
    let Some(pool) = pool else {
        return Ok(());
    };

    let store = store::Store::new(pool.clone(), settings.webhook_url.is_some());
    let faults = faults::Faults::default();
    let delivery = delivery::Delivery::new(store.clone(), settings.clone(), faults.clone())?
        .map(|delivery| tokio::spawn(delivery.run(shutdown.clone())));
    let app = server::router(server::AppState {
        store,
        settings,
        faults,
    });
    tracing::info!(addr = ?listener.local_addr().ok(), "pg sandbox listening");
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.wait_owned())
        .await;
    // The server may also stop by failing; the delivery loop stops with it.
    shutdown.trigger();
    if let Some(delivery) = delivery
        && let Err(error) = delivery.await
    {
        tracing::error!(%error, "the webhook delivery loop panicked");
    }
    pool.close().await;
    served?;
    Ok(())
}
