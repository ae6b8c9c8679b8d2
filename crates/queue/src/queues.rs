//! The waiting rooms as the handlers use them: the lines in Redis, their
//! settings in Postgres, tokens signed on the way out and checked on the way
//! in.

use sqlx::PgPool;
use staymesh_platform::convert::timestamp;
use staymesh_platform::rpc::{Error, Result};
use staymesh_proto::queue as pb;
use uuid::Uuid;

use crate::line::{Head, Lines, Place, Settings, Ticket};
use crate::store;
use crate::token::{Claims, Signer};
use crate::watch::Watchers;

#[derive(Debug, Clone)]
pub(crate) struct Queues {
    pub(crate) pool: PgPool,
    pub(crate) lines: Lines,
    pub(crate) signer: Signer,
    pub(crate) watchers: Watchers,
}

/// Why an admission was refused, or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Admitted(chrono::DateTime<chrono::Utc>),
    Refused(String),
}

impl Queues {
    /// Creates or changes a queue; it takes effect at once.
    pub(crate) async fn configure(
        &self,
        event: Uuid,
        settings: Settings,
        by: &str,
    ) -> Result<store::ConfigRow> {
        let row = store::upsert(&self.pool, event, settings, by).await?;
        self.lines.configure(event, row.settings()).await?;
        Ok(row)
    }

    /// The queue's settings; NOT_FOUND when it has none.
    pub(crate) async fn settings(&self, event: Uuid) -> Result<store::ConfigRow> {
        store::get(&self.pool, event)
            .await?
            .ok_or_else(|| Error::not_found("queue of event", event.to_string()))
    }

    /// Enters `user`; FAILED_PRECONDITION when the event has no active queue.
    pub(crate) async fn enter(&self, event: Uuid, user: &str) -> Result<pb::Ticket> {
        match self.lines.enter(event, user).await? {
            Some((head, ticket)) => Ok(self.to_proto(event, &head, &ticket)),
            None => Err(Error::Precondition(format!(
                "event {event} has no active waiting room"
            ))),
        }
    }

    /// The user's ticket `ticket_id`; NOT_FOUND when it is not theirs (or
    /// was replaced by a newer one).
    pub(crate) async fn ticket(
        &self,
        event: Uuid,
        user: &str,
        ticket_id: Uuid,
    ) -> Result<pb::Ticket> {
        let (head, mut tickets) = self.lines.positions(event, &[user]).await?;
        match tickets.pop().flatten() {
            Some(ticket) if ticket.ticket_id == ticket_id => {
                Ok(self.to_proto(event, &head, &ticket))
            }
            _ => Err(Error::not_found("ticket", ticket_id.to_string())),
        }
    }

    /// Checks a token for `user` and `event`, spending it when `consume`.
    pub(crate) async fn verify(
        &self,
        event: Uuid,
        user: &str,
        token: &str,
        consume: bool,
    ) -> Result<Verdict> {
        let Some(claims) = self.signer.read(token) else {
            return Ok(Verdict::Refused("not a valid admission token".into()));
        };
        if claims.event_id != event {
            return Ok(Verdict::Refused("the token is for another event".into()));
        }
        if claims.user_id != user {
            return Ok(Verdict::Refused("the token is another user's".into()));
        }
        let answer = self
            .lines
            .verify(
                event,
                user,
                claims.ticket_id,
                claims.expires.timestamp_millis(),
                consume,
            )
            .await?;
        Ok(if answer == "OK" {
            Verdict::Admitted(claims.expires)
        } else {
            Verdict::Refused(answer)
        })
    }

    /// A ticket on the wire, with a signed token when admitted.
    pub(crate) fn to_proto(&self, event: Uuid, head: &Head, ticket: &Ticket) -> pb::Ticket {
        let mut out = pb::Ticket {
            ticket_id: ticket.ticket_id.to_string(),
            event_id: event.to_string(),
            user_id: ticket.user_id.clone(),
            total_waiting: head.waiting,
            entered_at: Some(timestamp(ticket.entered_at)),
            ..Default::default()
        };
        match ticket.place {
            Place::Waiting(position) => {
                out.state = pb::TicketState::Waiting as i32;
                out.position = position;
                out.estimated_wait_seconds = estimated_wait(position, head.admit_per_second);
            }
            Place::Admitted { expires, .. } => {
                out.state = pb::TicketState::Admitted as i32;
                out.admission_token = self.signer.sign(&Claims {
                    event_id: event,
                    user_id: ticket.user_id.clone(),
                    ticket_id: ticket.ticket_id,
                    expires,
                });
                out.admission_expires_at = Some(timestamp(expires));
            }
            Place::Expired => out.state = pb::TicketState::Expired as i32,
            Place::Left => out.state = pb::TicketState::Left as i32,
        }
        out
    }
}

/// Seconds until `position` is admitted at `rate` a second, rounded up.
fn estimated_wait(position: i64, rate: i64) -> i32 {
    if rate <= 0 {
        return 0;
    }
    i32::try_from((position + rate - 1) / rate).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_wait_is_the_position_over_the_rate_rounded_up() {
        assert_eq!(super::estimated_wait(1, 10), 1);
        assert_eq!(super::estimated_wait(10, 10), 1);
        assert_eq!(super::estimated_wait(11, 10), 2);
        assert_eq!(super::estimated_wait(5, 0), 0);
    }
}
