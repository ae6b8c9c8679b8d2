//! The engine on a real Postgres, given its inputs in an order Kafka may
//! deliver them in: replies and payment events come on different topics, so
//! one can overtake the other.

use chrono::{Datelike, Utc};
use sqlx::PgPool;
use staymesh_platform::convert::timestamp;
use staymesh_platform::db::{self, DbSettings};
use staymesh_proto::common::{Date, Money};
use staymesh_proto::saga::{self as pb, SagaState, SagaStep, StepOutcome, step_reply::Detail};
use uuid::Uuid;

use crate::commands::Topics;
use crate::config::SagaArgs;
use crate::engine::Engine;
use crate::flow::{state_name, step_of};

/// A saga database of its own, migrated, and what drops it.
async fn database() -> (PgPool, Engine, DbSettings) {
    let (infra, _) = staymesh_testkit::stores();
    let settings = DbSettings {
        admin_url: infra.postgres_url.clone(),
        database: format!("{}_saga", infra.database_prefix),
        max_connections: 2,
    };
    let pool = db::connect(&settings, &crate::MIGRATOR)
        .await
        .expect("saga database");
    let engine = Engine {
        topics: Topics::new(&infra),
        args: staymesh_testkit::own_args::<SagaArgs>(),
    };
    (pool, engine, settings)
}

fn date(d: chrono::NaiveDate) -> Option<Date> {
    Some(Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    })
}

/// A booking of one night a month ahead, no coupon, no points, due in an hour.
pub(crate) fn requested(saga: Uuid, booking: Uuid) -> pb::BookingRequested {
    let check_in = Utc::now().date_naive() + chrono::Days::new(30);
    let due = Utc::now() + chrono::Duration::hours(1);
    pb::BookingRequested {
        saga_id: saga.to_string(),
        booking_id: booking.to_string(),
        user_id: Uuid::now_v7().to_string(),
        property_id: Uuid::now_v7().to_string(),
        host_id: Uuid::now_v7().to_string(),
        room_type_id: Uuid::now_v7().to_string(),
        check_in: date(check_in),
        check_out: date(check_in + chrono::Days::new(1)),
        guests: 2,
        rooms: 1,
        price: Some(Money {
            amount: 80_000,
            currency: "KRW".into(),
        }),
        order_name: "test stay".into(),
        payment_due_at: Some(timestamp(due)),
        ..Default::default()
    }
}

/// The step the saga has a command in flight for, and that command's id.
async fn in_flight(pool: &PgPool, saga: Uuid) -> (SagaStep, Uuid) {
    let (step, command): (String, Uuid) = sqlx::query_as(
        "SELECT step, command_ids[array_upper(command_ids, 1)] FROM saga_step \
         WHERE saga_id = $1 AND state = 'SENT' ORDER BY seq DESC LIMIT 1",
    )
    .bind(saga)
    .fetch_one(pool)
    .await
    .expect("a step in flight");
    (step_of(&step), command)
}

/// Answers the step in flight with success, as its participant would.
async fn succeed(engine: &Engine, pool: &PgPool, saga: Uuid, booking: Uuid) -> SagaStep {
    let (step, command) = in_flight(pool, saga).await;
    let detail = (step == SagaStep::CreatePayment).then(|| {
        Detail::CreatePayment(pb::CreatePaymentResult {
            payment_id: Uuid::now_v7().to_string(),
            checkout_url: "http://127.0.0.1:1/checkout/x".into(),
            expires_at: None,
        })
    });
    let reply = pb::StepReply {
        saga_id: saga.to_string(),
        booking_id: booking.to_string(),
        step: step as i32,
        command_id: command.to_string(),
        outcome: StepOutcome::Succeeded as i32,
        reason: String::new(),
        detail,
    };
    let mut tx = pool.begin().await.expect("begin");
    engine.reply(&mut tx, &reply).await.expect("reply");
    tx.commit().await.expect("commit");
    step
}

async fn state_and_cause(pool: &PgPool, saga: Uuid) -> (String, String) {
    sqlx::query_as("SELECT state, cause FROM saga WHERE id = $1")
        .bind(saga)
        .fetch_one(pool)
        .await
        .expect("saga")
}

#[tokio::test]
async fn a_decline_that_overtakes_the_reply_starting_the_wait_cancels_for_payment_failed() {
    let (pool, engine, settings) = database().await;
    let (saga, booking) = (Uuid::now_v7(), Uuid::now_v7());
    let mut tx = pool.begin().await.expect("begin");
    engine
        .start(&mut tx, &requested(saga, booking))
        .await
        .expect("start");
    tx.commit().await.expect("commit");
    // Every participant agrees until the booking shows its checkout.
    while in_flight(&pool, saga).await.0 != SagaStep::MarkAwaitingPayment {
        succeed(&engine, &pool, saga, booking).await;
    }

    // The guest is declined before MarkAwaitingPayment's reply arrives.
    let declined = pb::PaymentFailed {
        saga_id: saga.to_string(),
        booking_id: booking.to_string(),
        payment_id: String::new(),
        reason: "card declined".into(),
    };
    let mut tx = pool.begin().await.expect("begin");
    engine
        .payment_failed(&mut tx, &declined)
        .await
        .expect("payment failed");
    tx.commit().await.expect("commit");
    assert_eq!(
        succeed(&engine, &pool, saga, booking).await,
        SagaStep::MarkAwaitingPayment
    );

    // It does not wait for a payment that failed: it undoes the booking,
    // and the booking will read PAYMENT_FAILED, not expire an hour later.
    let (state, cause) = state_and_cause(&pool, saga).await;
    assert_eq!(
        (state.as_str(), cause.as_str()),
        (state_name(SagaState::Compensating), "PAYMENT_FAILED")
    );
    let (next, _) = in_flight(&pool, saga).await;
    assert_ne!(next, SagaStep::AwaitPayment);
    pool.close().await;
    db::drop_database(&settings.admin_url, &settings.database)
        .await
        .expect("drop the test database");
}
