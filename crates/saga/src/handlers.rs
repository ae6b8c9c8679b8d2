//! GetSaga and ListSagas: every saga with its steps, attempts and timings,
//! for operators (internal: not routed by the edge). `api` wires these to
//! the gRPC trait.

use staymesh_platform::FieldViolations;
use staymesh_platform::convert::{self, Page, require_id, timestamp};
use staymesh_platform::rpc::{Error, Result};
use staymesh_proto::saga::{self as pb, SagaKind, SagaState};

use crate::api::SagasApi;
use crate::flow::{Saga, StepRow, Steps, kind_name, state_name, step_of, step_state};
use crate::store::{self, SAGA_COLUMNS};

fn step_to_proto(row: &StepRow) -> pb::StepRecord {
    pb::StepRecord {
        step: step_of(&row.step) as i32,
        state: step_state(row) as i32,
        attempts: row.attempts,
        command_id: row
            .command_ids
            .last()
            .map(|id| id.to_string())
            .unwrap_or_default(),
        reason: row.reason.clone(),
        started_at: Some(timestamp(row.started_at)),
        finished_at: row.finished_at.map(timestamp),
        deadline: row.deadline.map(timestamp),
    }
}

fn to_proto(s: &Saga, steps: &Steps) -> pb::Saga {
    let mut ordered: Vec<&StepRow> = steps.values().collect();
    ordered.sort_by_key(|r| r.seq);
    let current = ordered
        .iter()
        .rev()
        .find(|r| r.finished_at.is_none())
        .map_or(0, |r| step_of(&r.step) as i32);
    pb::Saga {
        saga_id: s.id.to_string(),
        booking_id: s.booking_id.to_string(),
        kind: s.kind() as i32,
        state: s.state() as i32,
        current_step: if s.is_finished() { 0 } else { current },
        steps: ordered.into_iter().map(step_to_proto).collect(),
        failure_reason: s.failure_reason.clone(),
        created_at: Some(timestamp(s.created_at)),
        updated_at: Some(timestamp(s.updated_at)),
        finished_at: s.finished_at.map(timestamp),
    }
}

impl SagasApi {
    pub(crate) async fn get_saga(&self, r: &pb::GetSagaRequest) -> Result<pb::GetSagaResponse> {
        let id = require_id(&r.saga_id, "saga_id")?;
        let mut conn = self.pool.acquire().await?;
        let saga: Option<Saga> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {SAGA_COLUMNS} FROM saga WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        let saga = saga.ok_or_else(|| Error::not_found("saga", id.to_string()))?;
        let steps = store::steps_of(&mut conn, id).await?;
        Ok(pb::GetSagaResponse {
            saga: Some(to_proto(&saga, &steps)),
        })
    }

    pub(crate) async fn list_sagas(
        &self,
        r: &pb::ListSagasRequest,
    ) -> Result<pb::ListSagasResponse> {
        let mut v = FieldViolations::new();
        let state = SagaState::try_from(r.state).unwrap_or_else(|_| {
            v.add("state", "is not a saga state");
            SagaState::Unspecified
        });
        let kind = SagaKind::try_from(r.kind).unwrap_or_else(|_| {
            v.add("kind", "is not a saga kind");
            SagaKind::Unspecified
        });
        let booking = if r.booking_id.is_empty() {
            None
        } else {
            convert::id(&r.booking_id, "booking_id", &mut v)
        };
        let page = Page::parse(r.page_size, &r.page_token, &mut v);
        v.into_result()?;
        let state = (state != SagaState::Unspecified).then(|| state_name(state));
        let kind = (kind != SagaKind::Unspecified).then(|| kind_name(kind));
        let mut conn = self.pool.acquire().await?;
        let sagas: Vec<Saga> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {SAGA_COLUMNS} FROM saga WHERE ($1::text IS NULL OR state = $1) \
               AND ($2::text IS NULL OR kind = $2) AND ($3::uuid IS NULL OR booking_id = $3) \
             ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"
        )))
        .bind(state)
        .bind(kind)
        .bind(booking)
        .bind(page.fetch())
        .bind(page.offset)
        .fetch_all(&mut *conn)
        .await?;
        let (sagas, next_page_token) = page.finish(sagas);
        let mut out = Vec::with_capacity(sagas.len());
        for saga in &sagas {
            let steps = store::steps_of(&mut conn, saga.id).await?;
            out.push(to_proto(saga, &steps));
        }
        Ok(pb::ListSagasResponse {
            sagas: out,
            next_page_token,
        })
    }
}
