//! What each payment RPC does: validation, authorization, and calls into
//! `payments`, `refunds` and `settlement`. `api` wires these to the gRPC
//! traits, one line each.

use staymesh_platform::FieldViolations;
use staymesh_platform::auth::{Role, require_caller, require_role};
use staymesh_platform::convert::{Page, date, from_timestamp, id, require_id, to_proto_date, won};
use staymesh_platform::rpc::{Error, Result};
use staymesh_proto::payment as pb;
use tonic::Request;
use uuid::Uuid;

use crate::api::PaymentsApi;
use crate::payments::NewPayment;
use crate::settlement::{self, Line};
use crate::store::{self, PAYMENT_COLUMNS, PaymentRow};

/// Longest order name the PG is given.
const MAX_ORDER_NAME: usize = 200;
/// Longest reason a cancel or refund may give.
const MAX_REASON: usize = 200;
/// The longest range a settlement report may cover.
const MAX_REPORT_DAYS: i64 = 93;
/// Largest payment the PG takes.
const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// The reason given, or `fallback` when blank.
fn reason(text: &str, fallback: &str, v: &mut FieldViolations) -> String {
    v.check(
        text.chars().count() <= MAX_REASON,
        "reason",
        &format!("must be at most {MAX_REASON} characters"),
    );
    let text = text.trim();
    if text.is_empty() { fallback } else { text }.to_owned()
}

impl PaymentsApi {
    /// The payment as the caller may see it: their own, or any for ADMIN.
    async fn with_refunds<T>(&self, request: &Request<T>, row: PaymentRow) -> Result<pb::Payment> {
        let caller = require_caller(request)?;
        if !caller.is_admin() && caller.user_id != row.user_id.to_string() {
            return Err(Error::not_found("payment", row.id.to_string()));
        }
        self.public(row).await
    }

    async fn public(&self, row: PaymentRow) -> Result<pb::Payment> {
        // Only DONE refunds are shown, and none is done while nothing is refunded.
        let refunds = if row.refunded_amount > 0 {
            store::refunds_of(&self.payments.pool, row.id).await?
        } else {
            Vec::new()
        };
        Ok(row.to_proto(&refunds))
    }

    pub(crate) async fn get_payment(
        &self,
        request: Request<pb::GetPaymentRequest>,
    ) -> Result<pb::GetPaymentResponse> {
        let payment_id = require_id(&request.get_ref().payment_id, "payment_id")?;
        let row = store::by_id(&self.payments.pool, payment_id)
            .await?
            .ok_or_else(|| Error::not_found("payment", payment_id.to_string()))?;
        Ok(pb::GetPaymentResponse {
            payment: Some(self.with_refunds(&request, row).await?),
        })
    }

    pub(crate) async fn list_payments(
        &self,
        request: Request<pb::ListPaymentsRequest>,
    ) -> Result<pb::ListPaymentsResponse> {
        let caller = require_caller(&request)?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let booking = id(&r.booking_id, "booking_id", &mut v);
        let page = Page::parse(r.page_size, &r.page_token, &mut v);
        v.into_result()?;
        let Some(booking) = booking else {
            return Err(Error::invalid("booking_id", "is required"));
        };
        let owner = if caller.is_admin() {
            None
        } else {
            Some(Uuid::parse_str(&caller.user_id).map_err(|_| {
                Error::Unauthenticated("the token's subject is not a user id".into())
            })?)
        };
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM payment WHERE booking_id = $1 \
             AND ($2::uuid IS NULL OR user_id = $2) \
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        let rows: Vec<PaymentRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(booking)
            .bind(owner)
            .bind(page.fetch())
            .bind(page.offset)
            .fetch_all(&self.payments.pool)
            .await?;
        let (rows, next_page_token) = page.finish(rows);
        let mut payments = Vec::with_capacity(rows.len());
        for row in rows {
            payments.push(self.public(row).await?);
        }
        Ok(pb::ListPaymentsResponse {
            payments,
            next_page_token,
        })
    }

    pub(crate) async fn approve_payment(
        &self,
        request: Request<pb::ApprovePaymentRequest>,
    ) -> Result<pb::ApprovePaymentResponse> {
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        v.check(
            !r.payment_key.trim().is_empty(),
            "payment_key",
            "is required",
        );
        v.check(!r.order_id.trim().is_empty(), "order_id", "is required");
        let claimed = match &r.amount {
            Some(_) => won(r.amount.as_ref(), "amount", &mut v),
            None => None,
        };
        v.into_result()?;
        let row = store::by_order(&self.payments.pool, &r.order_id)
            .await?
            .ok_or_else(|| Error::not_found("order", r.order_id.clone()))?;
        // Nothing the browser says is believed, but what it gets wrong is
        // refused outright: it is not this order's payment, or not its price.
        if row.payment_key.as_deref() != Some(r.payment_key.as_str()) {
            return Err(Error::not_found(
                "payment_key of this order",
                r.payment_key.clone(),
            ));
        }
        if let Some(claimed) = claimed
            && claimed != row.amount
        {
            metrics::counter!("payment_tampering_refused_total").increment(1);
            return Err(Error::Precondition(format!(
                "amount: {claimed} won is not the {} won of order {}",
                row.amount, row.order_id
            )));
        }
        let row = self.payments.verify(row).await?;
        Ok(pb::ApprovePaymentResponse {
            payment: Some(self.public(row).await?),
        })
    }

    pub(crate) async fn handle_webhook(
        &self,
        request: Request<pb::HandleWebhookRequest>,
    ) -> Result<pb::HandleWebhookResponse> {
        let notification = self
            .webhooks
            .verify(request.metadata(), &request.get_ref().raw_body)?;
        let order = &notification.data.order_id;
        let Some(row) = store::by_order(&self.payments.pool, order).await? else {
            // Genuine, but not ours (another deployment's order): answering
            // 2xx stops the PG from retrying something no one can act on.
            tracing::warn!(
                order,
                kind = notification.kind,
                "webhook for an unknown order"
            );
            return Ok(pb::HandleWebhookResponse {});
        };
        if row.payment_key.as_deref() != Some(notification.data.payment_key.as_str()) {
            tracing::warn!(order, "webhook names another payment key; verifying ours");
        }
        self.payments.verify(row).await?;
        Ok(pb::HandleWebhookResponse {})
    }

    pub(crate) async fn get_settlement_report(
        &self,
        request: Request<pb::GetSettlementReportRequest>,
    ) -> Result<pb::GetSettlementReportResponse> {
        let caller = require_role(&request, &[Role::Host])?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let range = r.range.as_ref();
        let start = date(range.and_then(|r| r.start.as_ref()), "range.start", &mut v);
        let end = date(range.and_then(|r| r.end.as_ref()), "range.end", &mut v);
        if let (Some(start), Some(end)) = (start, end) {
            let days = (end - start).num_days();
            v.check(days >= 1, "range.end", "must be after range.start");
            v.check(
                days <= MAX_REPORT_DAYS,
                "range.end",
                &format!("must be at most {MAX_REPORT_DAYS} days after range.start"),
            );
        }
        let host = if r.host_id.is_empty() {
            None
        } else {
            id(&r.host_id, "host_id", &mut v)
        };
        v.into_result()?;
        let (Some(start), Some(end)) = (start, end) else {
            return Err(Error::invalid("range", "is required"));
        };
        let host = if caller.is_admin() {
            host
        } else {
            let own = Uuid::parse_str(&caller.user_id).map_err(|_| {
                Error::Unauthenticated("the token's subject is not a user id".into())
            })?;
            if host.is_some_and(|h| h != own) {
                return Err(Error::PermissionDenied(
                    "a host may only read their own settlement".into(),
                ));
            }
            Some(own)
        };
        let lines =
            settlement::report_settling(&self.payments.pool, start, end, host, self.fee_percent)
                .await?;
        let total = settlement::total(&lines);
        Ok(pb::GetSettlementReportResponse {
            range: Some(staymesh_proto::common::DateRange {
                start: Some(to_proto_date(start)),
                end: Some(to_proto_date(end)),
            }),
            lines: lines.iter().map(Line::to_proto).collect(),
            total: Some(total.to_proto()),
        })
    }

    pub(crate) async fn create_payment(
        &self,
        request: Request<pb::CreatePaymentRequest>,
    ) -> Result<pb::CreatePaymentResponse> {
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let booking_id = id(&r.booking_id, "booking_id", &mut v);
        let user_id = id(&r.user_id, "user_id", &mut v);
        let host_id = id(&r.host_id, "host_id", &mut v);
        let amount = won(r.amount.as_ref(), "amount", &mut v);
        if let Some(amount) = amount {
            v.check(
                amount > 0,
                "amount",
                "must be greater than zero (a booking paid in full by coupon and points has no payment)",
            );
            v.check(
                amount <= MAX_AMOUNT,
                "amount",
                &format!("must be at most {MAX_AMOUNT}"),
            );
        }
        let order_name = r.order_name.trim();
        v.check(!order_name.is_empty(), "order_name", "is required");
        v.check(
            order_name.chars().count() <= MAX_ORDER_NAME,
            "order_name",
            &format!("must be at most {MAX_ORDER_NAME} characters"),
        );
        let expires_at = from_timestamp(r.expires_at.as_ref(), "expires_at", &mut v);
        if let Some(at) = expires_at {
            v.check(
                at > chrono::Utc::now(),
                "expires_at",
                "must be in the future",
            );
        }
        v.into_result()?;
        let (Some(booking_id), Some(user_id), Some(host_id), Some(amount), Some(expires_at)) =
            (booking_id, user_id, host_id, amount, expires_at)
        else {
            return Err(Error::invalid("request", "is incomplete"));
        };
        let row = self
            .payments
            .create(NewPayment {
                booking_id,
                saga_id: r.saga_id.clone(),
                user_id,
                host_id,
                amount,
                order_name: order_name.to_owned(),
                expires_at,
            })
            .await?;
        Ok(pb::CreatePaymentResponse {
            payment: Some(self.public(row).await?),
        })
    }

    pub(crate) async fn cancel_payment(
        &self,
        request: Request<pb::CancelPaymentRequest>,
    ) -> Result<pb::CancelPaymentResponse> {
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let booking = id(&r.booking_id, "booking_id", &mut v);
        let reason = reason(&r.reason, "cancelled by the booking", &mut v);
        v.into_result()?;
        let Some(booking) = booking else {
            return Err(Error::invalid("booking_id", "is required"));
        };
        let Some(row) = store::by_booking(&self.payments.pool, booking).await? else {
            return Ok(pb::CancelPaymentResponse { payment: None });
        };
        let row = self.payments.abandon(row, &reason).await?;
        Ok(pb::CancelPaymentResponse {
            payment: Some(self.public(row).await?),
        })
    }

    pub(crate) async fn refund_payment(
        &self,
        request: Request<pb::RefundPaymentRequest>,
    ) -> Result<pb::RefundPaymentResponse> {
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let booking = id(&r.booking_id, "booking_id", &mut v);
        let amount = match &r.amount {
            None => None,
            Some(_) => {
                let amount = won(r.amount.as_ref(), "amount", &mut v);
                v.check(amount != Some(0), "amount", "must be greater than zero");
                amount
            }
        };
        let reason = reason(&r.reason, "refunded", &mut v);
        v.into_result()?;
        let Some(booking) = booking else {
            return Err(Error::invalid("booking_id", "is required"));
        };
        let (payment, refund) = self.payments.refund(booking, amount, &reason).await?;
        Ok(pb::RefundPaymentResponse {
            payment: Some(self.public(payment).await?),
            refund: Some(refund.to_proto()),
        })
    }
}

impl Line {
    fn to_proto(&self) -> pb::SettlementLine {
        use staymesh_platform::convert::money;
        pb::SettlementLine {
            host_id: self.host_id.map(|h| h.to_string()).unwrap_or_default(),
            payment_count: i32::try_from(self.payment_count).unwrap_or(i32::MAX),
            paid: Some(money(self.paid)),
            refunded: Some(money(self.refunded)),
            net: Some(money(self.net)),
            fee: Some(money(self.fee)),
            payout: Some(money(self.payout)),
        }
    }
}
