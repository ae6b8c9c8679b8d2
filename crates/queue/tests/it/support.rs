//! Starts the real queue service on 127.0.0.1:0 against real Postgres and
//! Redis, in a database and key prefix of its own, and talks to it.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use staymesh_platform::InfraArgs;
use staymesh_proto::queue as pb;
use staymesh_proto::queue::admission_service_client::AdmissionServiceClient;
use staymesh_proto::queue::queue_service_client::QueueServiceClient;
use staymesh_queue::{DESCRIPTOR, QueueArgs, Settings};
use staymesh_testkit::Running;
pub use staymesh_testkit::{FakeTokens, authed, violated_fields};
use tonic::transport::Channel;
use uuid::Uuid;

pub const ADMIN: &str = "admin:0190c0de-0000-7000-8000-0000000000ad";

/// The token of guest number `n`.
pub fn guest(n: usize) -> String {
    format!("guest:guest-{n:06}")
}

/// A running replica of the service.
pub struct App {
    pub api: QueueServiceClient<Channel>,
    pub admission: AdmissionServiceClient<Channel>,
    pub settings: Settings,
    running: Running<staymesh_queue::Error>,
}

/// A replica ticking every `tick` and updating watchers every 100 ms.
pub async fn spawn(tick: Duration) -> App {
    let (infra, _) = staymesh_testkit::stores();
    spawn_on(infra, tick).await
}

/// Another replica on the same database and Redis keys.
pub async fn spawn_on(infra: InfraArgs, tick: Duration) -> App {
    let (_, server) = staymesh_testkit::stores();
    let mut queue: QueueArgs = staymesh_testkit::own_args();
    queue.queue_tick = tick;
    queue.queue_watch_every = Duration::from_millis(100);
    let settings = Settings {
        redis_prefix: infra.redis_prefix_for(staymesh_queue::SERVICE),
        infra,
        server,
        queue,
        token_verifier: Arc::new(FakeTokens),
    };
    let running = {
        let settings = settings.clone();
        staymesh_testkit::spawn(&DESCRIPTOR, settings.infra.clone(), |listener, shutdown| {
            staymesh_queue::run(settings, listener, shutdown)
        })
        .await
    };
    App {
        api: QueueServiceClient::new(running.channel.clone()),
        admission: AdmissionServiceClient::new(running.channel.clone()),
        settings,
        running,
    }
}

/// A queue's settings.
pub fn config(rate: i32, ttl: i32, max: i32) -> pb::QueueConfig {
    pb::QueueConfig {
        active: true,
        admit_per_second: rate,
        admission_ttl_seconds: ttl,
        max_admitted: max,
        ..Default::default()
    }
}

impl App {
    /// Stops the service and drops its database.
    pub async fn stop(self) {
        self.running.stop().await;
    }

    /// Stops this replica, leaving the database to the others.
    pub async fn stop_replica(self) {
        self.running.stop_replica().await;
    }

    /// A new event's queue with these settings.
    pub async fn queue(&self, config: pb::QueueConfig) -> Uuid {
        let event = Uuid::now_v7();
        self.configure(event, config).await;
        event
    }

    pub async fn configure(&self, event: Uuid, config: pb::QueueConfig) {
        self.api
            .clone()
            .configure_queue(authed(
                pb::ConfigureQueueRequest {
                    event_id: event.to_string(),
                    config: Some(config),
                },
                ADMIN,
            ))
            .await
            .expect("configure");
    }

    pub async fn enter(&self, event: Uuid, token: &str) -> pb::Ticket {
        self.api
            .clone()
            .enter(authed(
                pb::EnterRequest {
                    event_id: event.to_string(),
                },
                token,
            ))
            .await
            .expect("enter")
            .into_inner()
            .ticket
            .expect("ticket")
    }

    pub async fn position(&self, ticket: &pb::Ticket, token: &str) -> pb::Ticket {
        self.api
            .clone()
            .get_position(authed(
                pb::GetPositionRequest {
                    event_id: ticket.event_id.clone(),
                    ticket_id: ticket.ticket_id.clone(),
                },
                token,
            ))
            .await
            .expect("position")
            .into_inner()
            .ticket
            .expect("ticket")
    }

    /// The tickets of `users` (tokens), read `width` at a time.
    pub async fn positions(
        &self,
        tickets: &[(String, pb::Ticket)],
        width: usize,
    ) -> Vec<pb::Ticket> {
        futures::stream::iter(tickets)
            .map(|(token, ticket)| self.position(ticket, token))
            .buffered(width)
            .collect()
            .await
    }

    pub async fn admit(&self, event: Uuid, count: i32) -> i32 {
        self.api
            .clone()
            .admit(authed(
                pb::AdmitRequest {
                    event_id: event.to_string(),
                    count,
                },
                ADMIN,
            ))
            .await
            .expect("admit")
            .into_inner()
            .admitted
    }

    pub async fn get_queue(&self, event: Uuid) -> pb::GetQueueResponse {
        self.api
            .clone()
            .get_queue(authed(
                pb::GetQueueRequest {
                    event_id: event.to_string(),
                },
                ADMIN,
            ))
            .await
            .expect("get queue")
            .into_inner()
    }

    /// VerifyAdmission's answer.
    pub async fn verify(
        &self,
        event: Uuid,
        user: &str,
        token: &str,
        consume: bool,
    ) -> pb::VerifyAdmissionResponse {
        self.admission
            .clone()
            .verify_admission(pb::VerifyAdmissionRequest {
                event_id: event.to_string(),
                user_id: user.to_owned(),
                admission_token: token.to_owned(),
                consume,
            })
            .await
            .expect("verify")
            .into_inner()
    }
}

pub fn state(ticket: &pb::Ticket) -> pb::TicketState {
    pb::TicketState::try_from(ticket.state).expect("a ticket state")
}
