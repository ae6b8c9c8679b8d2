//! The queue service's domain functions, one per RPC: who may call and the
//! answer. What a request must hold (ids, ranges, required fields) is in the
//! contract's rules, checked by the codec before a handler runs.

use staymesh_platform::auth::{Role, require_caller, require_role};
use staymesh_platform::convert::{require_id, timestamp};
use staymesh_platform::rpc::Result;
use staymesh_proto::queue as pb;
use tonic::Request;
use uuid::Uuid;

use crate::line::Settings;
use crate::queues::{Queues, Verdict};
use crate::store::ConfigRow;
use crate::watch::WatchStream;

fn ids(event_id: &str, ticket_id: &str) -> Result<(Uuid, Uuid)> {
    Ok((
        require_id(event_id, "event_id")?,
        require_id(ticket_id, "ticket_id")?,
    ))
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

/// The settings a ConfigureQueue request asks for.
fn settings_of(c: &pb::QueueConfig) -> Settings {
    Settings {
        active: c.active,
        admit_per_second: c.admit_per_second,
        admission_ttl_seconds: c.admission_ttl_seconds,
        max_admitted: c.max_admitted,
    }
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
        let config = r
            .config
            .as_ref()
            .ok_or_else(|| staymesh_platform::rpc::Error::invalid("config", "is required"))?;
        let settings = settings_of(config);
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
        let event = require_id(&r.event_id, "event_id")?;
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
