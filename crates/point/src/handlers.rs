//! What each point RPC does: validation, authorization, and calls into
//! `points`, `balance`, `history` and `expiry`. `api` wires these to the
//! gRPC traits, one line each.

use base64::Engine;
use chrono::Utc;
use prost::Message;
use sha2::{Digest, Sha256};
use staymesh_platform::FieldViolations;
use staymesh_platform::auth::{Caller, Role, require_caller, require_role};
use staymesh_platform::convert::{
    datetime, id, page_offset, page_size, require_id, timestamp, won,
};
use staymesh_platform::rpc::{Error, Result};
use staymesh_proto::point as pb;
use tonic::Request;
use uuid::Uuid;

use crate::api::PointsApi;
use crate::balance;
use crate::expiry;
use crate::history::{self, Query};
use crate::ledger::EntryType;
use crate::points::Grant;

/// Longest reason an Earn or Adjust may give.
const MAX_REASON: usize = 200;
/// Longest idempotency key.
const MAX_KEY: usize = 64;
/// Largest amount one Earn or Adjust may move.
const MAX_AMOUNT: i64 = 100_000_000;

/// The fields Earn and Adjust share, read and checked.
struct Change<'a> {
    user_id: Uuid,
    amount: i64,
    reason: &'a str,
    expires_at: Option<chrono::DateTime<Utc>>,
    key: &'a str,
    /// A digest of the whole request: the same key with another request is refused.
    digest: String,
}

impl<'a> Change<'a> {
    #[allow(clippy::too_many_arguments)]
    fn read(
        user_id: &str,
        amount: i64,
        reason: &'a str,
        expires_at: Option<&prost_types::Timestamp>,
        key: &'a str,
        encoded: Vec<u8>,
        v: &mut FieldViolations,
    ) -> Option<Self> {
        let user_id = id(user_id, "user_id", v);
        let reason = reason.trim();
        v.check(!reason.is_empty(), "reason", "is required");
        v.check(
            reason.chars().count() <= MAX_REASON,
            "reason",
            &format!("must be at most {MAX_REASON} characters"),
        );
        v.check(!key.is_empty(), "idempotency_key", "is required");
        v.check(
            key.chars().count() <= MAX_KEY,
            "idempotency_key",
            &format!("must be at most {MAX_KEY} characters"),
        );
        let expires_at = match expires_at {
            None => None,
            Some(t) => match datetime(t) {
                Some(at) if at > Utc::now() => Some(at),
                Some(_) => {
                    v.add("expires_at", "must be in the future");
                    None
                }
                None => {
                    v.add("expires_at", "is not a valid time");
                    None
                }
            },
        };
        let digest =
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(Sha256::digest(encoded));
        Some(Self {
            user_id: user_id?,
            amount,
            reason,
            expires_at,
            key,
            digest,
        })
    }
}

/// Checks an amount that must be positive and at most [`MAX_AMOUNT`].
fn positive_amount(amount: i64, v: &mut FieldViolations) {
    v.check(amount > 0, "amount", "must be positive");
    v.check(
        amount <= MAX_AMOUNT,
        "amount",
        &format!("must be at most {MAX_AMOUNT}"),
    );
}

/// The caller's own user id.
fn own_id(caller: &Caller) -> Result<Uuid> {
    Uuid::parse_str(&caller.user_id)
        .map_err(|_| Error::Unauthenticated("the token's subject is not a user id".into()))
}

impl PointsApi {
    /// INVALID_ARGUMENT on `user_id` unless the user service knows the user.
    async fn known_user<T>(&self, request: &Request<T>, user: Uuid) -> Result<()> {
        let authorization = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if self.directory.exists(user, authorization).await? {
            Ok(())
        } else {
            Err(FieldViolations::one("user_id", "is not a known user").into())
        }
    }

    pub(crate) async fn get_balance(
        &self,
        request: Request<pb::GetBalanceRequest>,
    ) -> Result<pb::GetBalanceResponse> {
        let user = own_id(&require_caller(&request)?)?;
        let now = Utc::now();
        let mut read = balance::read(&self.points.pool, user, now).await?;
        if read.has_due(now) {
            // The expiry job has not come by yet: the balance shown never
            // includes points whose time has passed.
            self.points.expire_user(user, true).await?;
            read = balance::read(&self.points.pool, user, now).await?;
        }
        Ok(pb::GetBalanceResponse {
            balance: read.balance,
            reserved: read.reserved,
            available: read.available(),
            expiring_soon: read.expiring_soon,
            next_expiry_at: read.next_expiry_at.map(timestamp),
        })
    }

    pub(crate) async fn list_history(
        &self,
        request: Request<pb::ListHistoryRequest>,
    ) -> Result<pb::ListHistoryResponse> {
        let user = own_id(&require_caller(&request)?)?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let kind = match pb::EntryType::try_from(r.r#type) {
            Ok(kind) => EntryType::from_proto(kind),
            Err(_) => {
                v.add("type", "is not an entry type");
                None
            }
        };
        let size = page_size(r.page_size, &mut v);
        let before = (!r.page_token.is_empty()).then(|| page_offset(&r.page_token, &mut v));
        v.into_result()?;
        let query = Query {
            user,
            kind,
            size,
            before,
        };
        history::page(&self.points.pool, &self.points.cache, query).await
    }

    pub(crate) async fn earn(&self, request: Request<pb::EarnRequest>) -> Result<pb::EarnResponse> {
        require_role(&request, &[Role::Admin])?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        positive_amount(r.amount, &mut v);
        let change = Change::read(
            &r.user_id,
            r.amount,
            &r.reason,
            r.expires_at.as_ref(),
            &r.idempotency_key,
            r.encode_to_vec(),
            &mut v,
        );
        v.into_result()?;
        // Change::read records a violation whenever it gives None.
        let Some(change) = change else {
            return Err(Error::invalid("request", "is incomplete"));
        };
        self.known_user(&request, change.user_id).await?;
        let entry = self.points.grant(change.grant(EntryType::Earn)).await?;
        Ok(pb::EarnResponse {
            entry: Some(entry.to_proto()),
        })
    }

    pub(crate) async fn adjust(
        &self,
        request: Request<pb::AdjustRequest>,
    ) -> Result<pb::AdjustResponse> {
        require_role(&request, &[Role::Admin])?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        v.check(r.amount != 0, "amount", "must not be zero");
        v.check(
            r.amount.abs() <= MAX_AMOUNT,
            "amount",
            &format!("must be between -{MAX_AMOUNT} and {MAX_AMOUNT}"),
        );
        v.check(
            r.amount > 0 || r.expires_at.is_none(),
            "expires_at",
            "applies only to a positive adjustment (it is the new lot's expiry)",
        );
        let change = Change::read(
            &r.user_id,
            r.amount,
            &r.reason,
            r.expires_at.as_ref(),
            &r.idempotency_key,
            r.encode_to_vec(),
            &mut v,
        );
        v.into_result()?;
        // Change::read records a violation whenever it gives None.
        let Some(change) = change else {
            return Err(Error::invalid("request", "is incomplete"));
        };
        self.known_user(&request, change.user_id).await?;
        let entry = if change.amount > 0 {
            self.points.grant(change.grant(EntryType::Adjust)).await?
        } else {
            let key = (change.key, change.digest.as_str());
            self.points
                .deduct(change.user_id, -change.amount, change.reason, key)
                .await?
        };
        Ok(pb::AdjustResponse {
            entry: Some(entry.to_proto()),
        })
    }

    pub(crate) async fn expire_lots(
        &self,
        request: Request<pb::ExpireLotsRequest>,
    ) -> Result<pb::ExpireLotsResponse> {
        require_role(&request, &[Role::Admin])?;
        let done = expiry::run_once(&self.points).await?;
        Ok(pb::ExpireLotsResponse {
            lots_expired: done.lots,
            points_expired: done.points,
        })
    }

    pub(crate) async fn reserve_points(
        &self,
        request: Request<pb::ReservePointsRequest>,
    ) -> Result<pb::ReservePointsResponse> {
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let booking = id(&r.booking_id, "booking_id", &mut v);
        let user = id(&r.user_id, "user_id", &mut v);
        positive_amount(r.amount, &mut v);
        v.into_result()?;
        // The parsers record a violation whenever they give None.
        let (Some(booking), Some(user)) = (booking, user) else {
            return Err(Error::invalid("request", "is incomplete"));
        };
        let reservation = self.points.reserve(booking, user, r.amount).await?;
        Ok(pb::ReservePointsResponse {
            reservation: Some(reservation.to_proto()),
        })
    }

    pub(crate) async fn commit_points(
        &self,
        request: Request<pb::CommitPointsRequest>,
    ) -> Result<pb::CommitPointsResponse> {
        let booking = require_id(&request.get_ref().booking_id, "booking_id")?;
        let reservation = self.points.commit(booking).await?;
        Ok(pb::CommitPointsResponse {
            reservation: Some(reservation.to_proto()),
        })
    }

    pub(crate) async fn release_points(
        &self,
        request: Request<pb::ReleasePointsRequest>,
    ) -> Result<pb::ReleasePointsResponse> {
        let booking = require_id(&request.get_ref().booking_id, "booking_id")?;
        let reservation = self.points.release(booking).await?;
        Ok(pb::ReleasePointsResponse {
            reservation: Some(reservation.to_proto()),
        })
    }

    pub(crate) async fn earn_for_booking(
        &self,
        request: Request<pb::EarnForBookingRequest>,
    ) -> Result<pb::EarnForBookingResponse> {
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let booking = id(&r.booking_id, "booking_id", &mut v);
        let user = id(&r.user_id, "user_id", &mut v);
        let paid = won(r.paid_amount.as_ref(), "paid_amount", &mut v);
        v.into_result()?;
        // The parsers record a violation whenever they give None.
        let (Some(booking), Some(user), Some(paid)) = (booking, user, paid) else {
            return Err(Error::invalid("request", "is incomplete"));
        };
        let entry = self.points.earn_for_booking(booking, user, paid).await?;
        Ok(pb::EarnForBookingResponse {
            entry: entry.map(|e| e.to_proto()),
        })
    }
}

impl Change<'_> {
    fn grant(&self, kind: EntryType) -> Grant<'_> {
        Grant {
            user_id: self.user_id,
            kind,
            amount: self.amount,
            description: self.reason,
            expires_at: self.expires_at,
            booking_id: None,
            idempotency: Some((self.key, self.digest.as_str())),
        }
    }
}
