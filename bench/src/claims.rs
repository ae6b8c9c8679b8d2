//! The ClaimCoupon scenario: an admin creates a coupon and a limited
//! issuance event, then every call claims it as a different guest with a
//! pre-signed token. Answers are counted by `ClaimResult`, and the instant
//! the last coupon is handed out marks the sell-out.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{TimeDelta, Utc};
use serde::Serialize;
use staymesh_platform::convert::{money, timestamp};
use staymesh_proto::coupon::coupon_service_client::CouponServiceClient;
use staymesh_proto::coupon::{
    ClaimCouponRequest, ClaimResult, CreateCouponRequest, CreateIssuanceEventRequest, DiscountType,
    GetIssuanceEventRequest, IssuanceEvent, IssuanceEventState,
};
use tonic::Status;
use tonic::transport::Channel;

use crate::load::Call;
use crate::tokens::Bearer;

/// Set-up and check calls give up after this, so a hung service fails the run.
const ADMIN_CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// The coupon's discount, in won.
const DISCOUNT_WON: i64 = 1000;

/// What the claims were answered, and when the stock ran out.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    claimed: AtomicU64,
    already_claimed: AtomicU64,
    sold_out: AtomicU64,
    not_open: AtomicU64,
    unspecified: AtomicU64,
    /// When the first claim was sent.
    first_claim: OnceLock<Instant>,
    /// When the answer that handed out the last coupon arrived.
    last_coupon: OnceLock<Instant>,
}

/// [`Tally`]'s counts, as printed.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Counts {
    pub(crate) claimed: u64,
    pub(crate) already_claimed: u64,
    pub(crate) sold_out: u64,
    pub(crate) not_open: u64,
    pub(crate) unspecified: u64,
}

impl Tally {
    fn record(&self, result: ClaimResult, quantity: u64) {
        let counter = match result {
            ClaimResult::Claimed => {
                if self.claimed.fetch_add(1, Ordering::Relaxed) + 1 == quantity {
                    let _ = self.last_coupon.set(Instant::now());
                }
                return;
            }
            ClaimResult::AlreadyClaimed => &self.already_claimed,
            ClaimResult::SoldOut => &self.sold_out,
            ClaimResult::NotOpen => &self.not_open,
            ClaimResult::Unspecified => &self.unspecified,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn counts(&self) -> Counts {
        Counts {
            claimed: self.claimed.load(Ordering::Relaxed),
            already_claimed: self.already_claimed.load(Ordering::Relaxed),
            sold_out: self.sold_out.load(Ordering::Relaxed),
            not_open: self.not_open.load(Ordering::Relaxed),
            unspecified: self.unspecified.load(Ordering::Relaxed),
        }
    }

    /// From sending the first claim to receiving the answer that handed out
    /// the last coupon; `None` if the stock never ran out.
    pub(crate) fn sell_out(&self) -> Option<Duration> {
        let first = self.first_claim.get()?;
        let last = self.last_coupon.get()?;
        Some(last.duration_since(*first))
    }
}

/// As the admin, defines a 1,000-won coupon valid from an hour ago for a
/// day, and opens an issuance event of `quantity` of it from now for an
/// hour; returns the event id.
pub(crate) async fn create_event(
    channel: Channel,
    admin: &Bearer,
    run: &str,
    quantity: u64,
) -> anyhow::Result<String> {
    let quantity = i32::try_from(quantity).context("the quantity does not fit an i32")?;
    let mut client = CouponServiceClient::new(channel);
    let now = Utc::now();
    let request = CreateCouponRequest {
        name: format!("bench {run}"),
        description: "made by staymesh-bench coupons".to_owned(),
        discount_type: DiscountType::Amount as i32,
        discount_amount: Some(money(DISCOUNT_WON)),
        valid_from: Some(timestamp(now - TimeDelta::hours(1))),
        valid_until: Some(timestamp(now + TimeDelta::days(1))),
        ..Default::default()
    };
    let coupon = within(
        "CreateCoupon",
        client.create_coupon(authorized(request, admin)),
    )
    .await?
    .into_inner()
    .coupon
    .context("CreateCoupon answered without a coupon")?;
    let request = CreateIssuanceEventRequest {
        coupon_id: coupon.coupon_id,
        quantity,
        opens_at: Some(timestamp(Utc::now())),
        closes_at: Some(timestamp(Utc::now() + TimeDelta::hours(1))),
        ..Default::default()
    };
    let event = within(
        "CreateIssuanceEvent",
        client.create_issuance_event(authorized(request, admin)),
    )
    .await?
    .into_inner()
    .event
    .context("CreateIssuanceEvent answered without an event")?;
    Ok(event.event_id)
}

/// The event as the service sees it now.
pub(crate) async fn event(channel: Channel, event_id: &str) -> anyhow::Result<IssuanceEvent> {
    let request = GetIssuanceEventRequest {
        event_id: event_id.to_owned(),
    };
    within(
        "GetIssuanceEvent",
        CouponServiceClient::new(channel).get_issuance_event(request),
    )
    .await?
    .into_inner()
    .event
    .context("GetIssuanceEvent answered without an event")
}

/// Fails unless the event handed out exactly `quantity` and says it is sold out.
pub(crate) fn check_event(event: &IssuanceEvent, quantity: u64) -> anyhow::Result<()> {
    let sold_out = event.state() == IssuanceEventState::SoldOut;
    if u64::try_from(event.issued).ok() != Some(quantity) || event.remaining != 0 || !sold_out {
        bail!(
            "the service reports the event {:?} with {} issued and {} remaining, \
             not SOLD_OUT with {quantity} issued",
            event.state(),
            event.issued,
            event.remaining
        );
    }
    Ok(())
}

/// Worker calls claiming `event_id`, each with the next unused guest token.
pub(crate) fn claim(
    channels: &[Channel],
    event_id: String,
    tokens: Arc<[Bearer]>,
    tally: Arc<Tally>,
    quantity: u64,
) -> impl FnMut(usize) -> Call {
    let channels = channels.to_vec();
    let next = Arc::new(AtomicUsize::new(0));
    move |worker| {
        let client = CouponServiceClient::new(channels[worker % channels.len()].clone());
        let (event_id, tokens) = (event_id.clone(), Arc::clone(&tokens));
        let (next, tally) = (Arc::clone(&next), Arc::clone(&tally));
        Box::new(move || {
            // The load loop makes at most as many calls as there are tokens;
            // an error here would mean that budget was miscounted.
            let Some(token) = tokens.get(next.fetch_add(1, Ordering::Relaxed)) else {
                return Box::pin(async {
                    Err(Status::resource_exhausted("every pre-signed token is used"))
                });
            };
            let request = authorized(
                ClaimCouponRequest {
                    event_id: event_id.clone(),
                    admission_token: String::new(),
                },
                token,
            );
            let mut client = client.clone();
            let tally = Arc::clone(&tally);
            Box::pin(async move {
                tally.first_claim.get_or_init(Instant::now);
                let answer = client.claim_coupon(request).await?.into_inner();
                tally.record(answer.result(), quantity);
                Ok(())
            })
        })
    }
}

fn authorized<T>(message: T, token: &Bearer) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", token.clone());
    request
}

/// `call`, or an error naming `what` when it fails or takes too long.
async fn within<T>(what: &str, call: impl Future<Output = Result<T, Status>>) -> anyhow::Result<T> {
    match tokio::time::timeout(ADMIN_CALL_TIMEOUT, call).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(status)) => bail!("{what}: {:?}: {}", status.code(), status.message()),
        Err(_) => bail!("{what}: no answer within {ADMIN_CALL_TIMEOUT:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sell_out_is_the_answer_that_hands_out_the_last_coupon() {
        let tally = Tally::default();
        assert_eq!(tally.sell_out(), None);
        tally.first_claim.get_or_init(Instant::now);
        tally.record(ClaimResult::Claimed, 2);
        assert_eq!(tally.sell_out(), None);
        tally.record(ClaimResult::SoldOut, 2);
        tally.record(ClaimResult::Claimed, 2);
        assert!(tally.sell_out().is_some());
        let counts = tally.counts();
        assert_eq!((counts.claimed, counts.sold_out), (2, 1));
    }
}
