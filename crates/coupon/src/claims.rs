//! Claiming: Redis decides, Kafka carries the claim to the batch writer, and
//! nothing a guest was told is lost on the way.
//!
//! The claim script records the guest in the event's `claimed` hash before
//! answering, so Redis holds every claim from the first moment, and the guest
//! is answered at once. Behind the answer, the `CouponIssued` message goes to
//! Kafka; if the broker does not acknowledge it in time, the coupon is written
//! to Postgres directly. Should even that fail (or the process die first), the
//! reconciler finds the claim in Redis and stores it. Every writer inserts
//! with ON CONFLICT DO NOTHING on (event, user), so paths that both succeed
//! store one row.
//!
//! Not waiting for the broker before answering keeps a claim's latency at a
//! Redis round trip: on a sale day the acknowledgement wait, not the work,
//! is what would hold thousands of guests in line.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sqlx::PgPool;
use staymesh_platform::admission::Gate;
use staymesh_platform::convert::{datetime, timestamp};
use staymesh_platform::kafka::Producer;
use staymesh_proto::coupon as pb;
use staymesh_proto::saga::CouponIssued;
use tokio::sync::{Mutex, OnceCell};
use uuid::Uuid;

use crate::coupons::{self, EventCoupon};
use crate::events::{self, EventRow};
use crate::lifecycle::Announcer;
use crate::stock::{Claim, Decision, Stock};
use crate::user_coupons::{self, Issued};
use staymesh_platform::rpc::{Error, Result};

/// What a claim came to.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) result: pb::ClaimResult,
    pub(crate) user_coupon: Option<pb::UserCoupon>,
}

/// An event's coupon and waiting room, kept per process: events and coupons
/// never change what a claim needs (closing is decided in Redis). Each entry
/// is a cell that the first claim fills while every other claim of that
/// moment waits on it, so a sale's opening burst costs Postgres one query,
/// not one per claim.
type CouponCache = Arc<RwLock<HashMap<Uuid, Arc<OnceCell<Arc<EventCoupon>>>>>>;

/// One gate per event that is being loaded into Redis: claims that find the
/// event missing queue behind one restore instead of each running their own.
type LoadGates = Arc<RwLock<HashMap<Uuid, Arc<Mutex<()>>>>>;

/// Decides and records claims.
#[derive(Debug, Clone)]
pub(crate) struct Issuer {
    pub(crate) pool: PgPool,
    pub(crate) stock: Stock,
    pub(crate) producer: Producer,
    pub(crate) topic: String,
    pub(crate) publish_timeout: Duration,
    pub(crate) announcer: Announcer,
    pub(crate) coupons: CouponCache,
    loading: LoadGates,
    /// Spends admission tokens of events with a waiting room.
    gate: Arc<dyn Gate>,
}

impl Issuer {
    pub(crate) fn new(
        pool: PgPool,
        stock: Stock,
        producer: Producer,
        topic: String,
        publish_timeout: Duration,
        announcer: Announcer,
        gate: Arc<dyn Gate>,
    ) -> Self {
        Self {
            pool,
            stock,
            producer,
            topic,
            publish_timeout,
            announcer,
            coupons: CouponCache::default(),
            loading: LoadGates::default(),
            gate,
        }
    }

    /// The coupon and waiting room of `event_id` (cached after the first
    /// look-up, so the hot path asks Postgres nothing; concurrent first
    /// look-ups share one query). NOT_FOUND for an unknown event.
    pub(crate) async fn coupon_of(&self, event_id: Uuid) -> Result<Arc<EventCoupon>> {
        let cell = entry(&self.coupons, event_id);
        let coupon = cell
            .get_or_try_init(|| async {
                Ok::<_, Error>(Arc::new(coupons::of_event(&self.pool, event_id).await?))
            })
            .await?;
        Ok(coupon.clone())
    }

    /// Loads the event into Redis from Postgres (first claim, or after Redis
    /// lost it). NOT_FOUND for an unknown event.
    pub(crate) async fn restore(&self, event_id: Uuid) -> Result<EventRow> {
        let event = events::get(&self.pool, event_id).await?;
        let stored: Vec<Claim> = user_coupons::holders(&self.pool, event_id)
            .await?
            .into_iter()
            .map(|(user_id, user_coupon_id, issued_at)| Claim {
                user_id,
                user_coupon_id,
                issued_at,
            })
            .collect();
        self.stock
            .restore(event_id, &event.window(), &stored)
            .await?;
        tracing::info!(%event_id, stored = stored.len(), "issuance event loaded into Redis");
        Ok(event)
    }

    /// Claims one coupon of `event_id` for `user_id`, spending `admission`
    /// first when the event has a waiting room.
    #[tracing::instrument(skip(self, admission))]
    pub(crate) async fn claim(
        &self,
        event_id: Uuid,
        user_id: &str,
        admission: &str,
    ) -> Result<Outcome> {
        if self.coupon_of(event_id).await?.waiting_room {
            self.gate.spend(event_id, user_id, admission).await?;
        }
        let offered = Uuid::now_v7();
        let mut decision = self.stock.claim(event_id, user_id, offered).await?;
        if decision == Decision::NotLoaded {
            // One restore per process at a time: whoever waited behind it
            // finds the event loaded and asks Postgres nothing.
            let gate = entry(&self.loading, event_id);
            let _loading = gate.lock().await;
            decision = self.stock.claim(event_id, user_id, offered).await?;
            if decision == Decision::NotLoaded {
                self.restore(event_id).await?;
                decision = self.stock.claim(event_id, user_id, offered).await?;
            }
        }
        metrics::counter!("coupon_claims_total", "result" => result_label(&decision)).increment(1);
        let (result, user_coupon_id, issued_at) = match decision {
            Decision::Claimed {
                remaining,
                issued_at,
            } => {
                let coupon = &self.coupon_of(event_id).await?.coupon;
                let issued = Issued {
                    user_coupon_id: offered,
                    event_id,
                    coupon_id: coupon.id,
                    user_id: user_id.to_owned(),
                    issued_at,
                };
                let recorder = self.clone();
                tokio::spawn(async move { recorder.record(issued).await });
                if let Some(left) = remaining {
                    report_remaining(event_id, left);
                }
                if remaining == Some(0) {
                    self.announcer.sold_out(event_id);
                }
                (pb::ClaimResult::Claimed, offered, issued_at)
            }
            Decision::AlreadyClaimed {
                user_coupon_id,
                issued_at,
            } => (pb::ClaimResult::AlreadyClaimed, user_coupon_id, issued_at),
            Decision::SoldOut => {
                report_remaining(event_id, 0);
                return Ok(nothing(pb::ClaimResult::SoldOut));
            }
            Decision::NotOpen => return Ok(nothing(pb::ClaimResult::NotOpen)),
            Decision::NotLoaded => {
                return Err(Error::Precondition(
                    "the issuance event could not be loaded; retry".into(),
                ));
            }
        };
        let coupon = &self.coupon_of(event_id).await?.coupon;
        Ok(Outcome {
            result,
            user_coupon: Some(pb::UserCoupon {
                user_coupon_id: user_coupon_id.to_string(),
                user_id: user_id.to_owned(),
                coupon_id: coupon.id.to_string(),
                event_id: event_id.to_string(),
                coupon: Some(coupon.to_proto()),
                state: pb::UserCouponState::Available as i32,
                booking_id: String::new(),
                issued_at: Some(timestamp(issued_at)),
                redeemed_at: None,
            }),
        })
    }

    /// Sends the claim to Kafka; on failure writes it to Postgres directly;
    /// if that fails too, leaves it to the reconciler (it is in Redis).
    async fn record(&self, issued: Issued) {
        let message = CouponIssued {
            user_coupon_id: issued.user_coupon_id.to_string(),
            event_id: issued.event_id.to_string(),
            coupon_id: issued.coupon_id.to_string(),
            user_id: issued.user_id.clone(),
            issued_at: Some(timestamp(issued.issued_at)),
        };
        let key = issued.user_coupon_id.to_string();
        let sent = tokio::time::timeout(
            self.publish_timeout,
            self.producer.send(&self.topic, &key, &message),
        )
        .await;
        let failure = match sent {
            Ok(Ok(_)) => return,
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no acknowledgement within {:?}", self.publish_timeout),
        };
        metrics::counter!("coupon_claim_publish_fallbacks_total").increment(1);
        tracing::warn!(user_coupon_id = %issued.user_coupon_id, %failure,
            "CouponIssued not published; storing the coupon directly");
        // When the broker is down every claim lands here at once, more than
        // the pool holds within its acquire timeout: retry with growing,
        // spread-out pauses before leaving the claim to the reconciler.
        let mut pause = DIRECT_WRITE_FIRST_PAUSE;
        let spread = Duration::from_millis(u64::from(issued.user_coupon_id.as_fields().1) % 500);
        for attempt in 1..=DIRECT_WRITE_ATTEMPTS {
            let stored = async {
                let mut conn = self.pool.acquire().await?;
                user_coupons::store(&mut conn, std::slice::from_ref(&issued)).await
            };
            match stored.await {
                Ok(_) => return,
                Err(error) if attempt == DIRECT_WRITE_ATTEMPTS => {
                    metrics::counter!("coupon_claim_unrecorded_total").increment(1);
                    tracing::error!(user_coupon_id = %issued.user_coupon_id, %error,
                        "claim neither published nor stored; the reconciler will store it from Redis");
                }
                Err(error) => {
                    tracing::warn!(user_coupon_id = %issued.user_coupon_id, %error, attempt,
                        "direct write of a claim failed; retrying");
                    tokio::time::sleep(pause + spread).await;
                    pause *= 2;
                }
            }
        }
    }
}

/// Exports what the claim script (or a reading of Redis) says an event has
/// left, the "coupons left" of the sale dashboard. Every replica exports the
/// last count it saw; stock only goes down, so the smallest is the newest.
pub(crate) fn report_remaining(event_id: Uuid, left: i64) {
    metrics::gauge!("coupon_event_remaining", "event" => event_id.to_string()).set(left as f64);
}

/// Tries at writing a claim to Postgres directly (storing is idempotent), and
/// the pause after the first failure, doubled after each.
const DIRECT_WRITE_ATTEMPTS: u32 = 5;
const DIRECT_WRITE_FIRST_PAUSE: Duration = Duration::from_millis(500);

/// The shared entry of `key`, created on first use.
fn entry<T: Default>(map: &RwLock<HashMap<Uuid, Arc<T>>>, key: Uuid) -> Arc<T> {
    if let Some(found) = map.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return found.clone();
    }
    map.write()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_default()
        .clone()
}

fn nothing(result: pb::ClaimResult) -> Outcome {
    Outcome {
        result,
        user_coupon: None,
    }
}

fn result_label(decision: &Decision) -> &'static str {
    match decision {
        Decision::NotLoaded => "not_loaded",
        Decision::Claimed { .. } => "claimed",
        Decision::AlreadyClaimed { .. } => "already_claimed",
        Decision::NotOpen => "not_open",
        Decision::SoldOut => "sold_out",
    }
}

/// Turns a stored CouponIssued back into a claim to persist.
pub(crate) fn issued_from(message: &CouponIssued) -> Option<Issued> {
    let issued_at = message.issued_at.as_ref().and_then(datetime)?;
    Some(Issued {
        user_coupon_id: Uuid::parse_str(&message.user_coupon_id).ok()?,
        event_id: Uuid::parse_str(&message.event_id).ok()?,
        coupon_id: Uuid::parse_str(&message.coupon_id).ok()?,
        user_id: message.user_id.clone(),
        issued_at,
    })
}
