//! The queue service's domain functions, one per RPC: who may call, what
//! the request must hold, and the answer.

use staymesh_platform::auth::{Role, require_caller, require_role};
use staymesh_platform::convert::{require_id, timestamp};
use staymesh_platform::error::FieldViolations;
use staymesh_platform::rpc::Result;
use staymesh_proto::queue as pb;
use tonic::Request;
use uuid::Uuid;

use crate::line::Settings;
use crate::queues::{Queues, Verdict};
use crate::store::ConfigRow;
use crate::watch::WatchStream;

fn ids(event_id: &str, ticket_id: &str) -> Result<(Uuid, Uuid)> {
    let mut v = FieldViolations::new();
    let event = staymesh_platform::convert::id(event_id, "event_id", &mut v);
    let ticket = staymesh_platform::convert::id(ticket_id, "ticket_id", &mut v);
    v.into_result()?;
    match (event, ticket) {
        (Some(event), Some(ticket)) => Ok((event, ticket)),
        _ => Err(staymesh_platform::rpc::Error::invalid(
            "event_id",
            "is required",
        )),
    }
}

fn config_to_proto(row: &ConfigRow) -> pb::QueueConfig {
    pb::QueueConfig {
        event_id: row.event_id.to_string(),
        active: row.active,
        admit_per_second: row.admit_per_second,
        admission_ttl_seconds: row.admission_ttl_seconds,
        max_admitted: row.max_admitted,
    }
}

/// The settings a ConfigureQueue request asks for, each field checked.
fn settings_of(config: Option<&pb::QueueConfig>) -> Result<Settings> {
    let mut v = FieldViolations::new();
    let Some(c) = config else {
        return Err(staymesh_platform::rpc::Error::invalid(
            "config",
            "is required",
        ));
    };
    v.check(
        (1..=10_000).contains(&c.admit_per_second),
        "config.admit_per_second",
        "must be 1 to 10,000",
    );
    v.check(
        (10..=3_600).contains(&c.admission_ttl_seconds),
        "config.admission_ttl_seconds",
        "must be 10 to 3,600",
    );
    v.check(
        c.max_admitted >= 0,
        "config.max_admitted",
        "must not be negative (0: no cap)",
    );
    v.into_result()?;
    Ok(Settings {
        active: c.active,
        admit_per_second: c.admit_per_second,
        admission_ttl_seconds: c.admission_ttl_seconds,
        max_admitted: c.max_admitted,
    })
}

impl Queues {
    pub(crate) async fn enter_rpc(
        &self,
        request: Request<pb::EnterRequest>,
    ) -> Result<pb::EnterResponse> {
        let caller = require_caller(&request)?;
        let event = require_id(&request.get_ref().event_id, "event_id")?;
        let ticket = self.enter(event, &caller.user_id).await?;
        Ok(pb::EnterResponse {
            ticket: Some(ticket),
        })
    }

    pub(crate) async fn get_position_rpc(
        &self,
        request: Request<pb::GetPositionRequest>,
    ) -> Result<pb::GetPositionResponse> {
        let caller = require_caller(&request)?;
        let r = request.get_ref();
        let (event, ticket_id) = ids(&r.event_id, &r.ticket_id)?;
        let ticket = self.ticket(event, &caller.user_id, ticket_id).await?;
        Ok(pb::GetPositionResponse {
            ticket: Some(ticket),
        })
    }

    pub(crate) async fn watch_position_rpc(
        &self,
        request: Request<pb::WatchPositionRequest>,
    ) -> Result<WatchStream> {
        let caller = require_caller(&request)?;
        let r = request.get_ref();
        let (event, ticket_id) = ids(&r.event_id, &r.ticket_id)?;
        // A client that reconnects asks again with its ticket and carries on
        // from where the ticket is now.
        let first = self.ticket(event, &caller.user_id, ticket_id).await?;
        Ok(self.watchers.watch(event, ticket_id, first))
    }

    pub(crate) async fn leave_rpc(
        &self,
        request: Request<pb::LeaveRequest>,
    ) -> Result<pb::LeaveResponse> {
        let caller = require_caller(&request)?;
        let r = request.get_ref();
        let (event, ticket_id) = ids(&r.event_id, &r.ticket_id)?;
        if !self.lines.leave(event, &caller.user_id, ticket_id).await? {
            return Err(staymesh_platform::rpc::Error::not_found(
                "ticket",
                ticket_id.to_string(),
            ));
        }
        Ok(pb::LeaveResponse {})
    }

    pub(crate) async fn configure_queue_rpc(
        &self,
        request: Request<pb::ConfigureQueueRequest>,
    ) -> Result<pb::ConfigureQueueResponse> {
        let caller = require_role(&request, &[Role::Admin])?;
        let r = request.get_ref();
        let event = require_id(&r.event_id, "event_id")?;
        let settings = settings_of(r.config.as_ref())?;
        let row = self.configure(event, settings, &caller.user_id).await?;
        Ok(pb::ConfigureQueueResponse {
            config: Some(config_to_proto(&row)),
        })
    }

    pub(crate) async fn get_queue_rpc(
        &self,
        request: Request<pb::GetQueueRequest>,
    ) -> Result<pb::GetQueueResponse> {
        require_role(&request, &[Role::Admin])?;
        let event = require_id(&request.get_ref().event_id, "event_id")?;
        let row = self.settings(event).await?;
        let counts = self.lines.counts(event).await?;
        Ok(pb::GetQueueResponse {
            config: Some(config_to_proto(&row)),
            waiting: counts.waiting,
            admitted: counts.admitted,
            admitted_total: counts.admitted_total,
        })
    }

    pub(crate) async fn admit_rpc(
        &self,
        request: Request<pb::AdmitRequest>,
    ) -> Result<pb::AdmitResponse> {
        require_role(&request, &[Role::Admin])?;
        let r = request.get_ref();
        let event = require_id(&r.event_id, "event_id")?;
        if !(1..=10_000).contains(&r.count) {
            return Err(staymesh_platform::rpc::Error::invalid(
                "count",
                "must be 1 to 10,000",
            ));
        }
        self.settings(event).await?;
        let admitted = self.lines.admit(event, r.count).await?;
        metrics::counter!("queue_admitted_total").increment(admitted as u64);
        Ok(pb::AdmitResponse {
            admitted: i32::try_from(admitted).unwrap_or(i32::MAX),
        })
    }

    pub(crate) async fn verify_admission_rpc(
        &self,
        request: Request<pb::VerifyAdmissionRequest>,
    ) -> Result<pb::VerifyAdmissionResponse> {
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let event = staymesh_platform::convert::id(&r.event_id, "event_id", &mut v);
        v.check(!r.user_id.is_empty(), "user_id", "is required");
        v.check(
            !r.admission_token.is_empty(),
            "admission_token",
            "is required",
        );
        v.into_result()?;
        let Some(event) = event else {
            return Err(staymesh_platform::rpc::Error::invalid(
                "event_id",
                "is required",
            ));
        };
        let verdict = self
            .verify(event, &r.user_id, &r.admission_token, r.consume)
            .await?;
        metrics::counter!("queue_verifications_total",
            "result" => if matches!(verdict, Verdict::Admitted(_)) { "admitted" } else { "refused" })
        .increment(1);
        Ok(match verdict {
            Verdict::Admitted(expires) => pb::VerifyAdmissionResponse {
                admitted: true,
                reason: String::new(),
                expires_at: Some(timestamp(expires)),
            },
            Verdict::Refused(reason) => pb::VerifyAdmissionResponse {
                admitted: false,
                reason,
                expires_at: None,
            },
        })
    }
}
