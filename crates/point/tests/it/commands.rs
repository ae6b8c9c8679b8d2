//! The point service as a saga participant over Kafka: reserve, commit and
//! release by command, each answered once on the replies topic however often
//! it arrives; a reservation the balance cannot cover is a FAILED reply.

use staymesh_proto::saga::{self, SagaStep, StepOutcome, step_reply::Detail};
use staymesh_testkit::saga::{command, send_command, wait_replies};
use uuid::Uuid;

use crate::support::*;

#[tokio::test]
async fn reserve_commit_and_release_by_command_are_answered_once_each() {
    let app = spawn().await;
    let user = Uuid::now_v7();
    app.earn(user, 5_000, None).await;
    let booking = Uuid::now_v7();
    let saga_id = format!("saga-{booking}");
    let reserve = command(
        &booking,
        &saga::ReservePointsCommand {
            saga_id: saga_id.clone(),
            booking_id: booking.to_string(),
            user_id: user.to_string(),
            points: 3_000,
        },
    );
    send_command(app.infra(), "point", &reserve).await;
    send_command(app.infra(), "point", &reserve).await;
    let commit = command(
        &booking,
        &saga::CommitPointsCommand {
            saga_id: saga_id.clone(),
            booking_id: booking.to_string(),
        },
    );
    send_command(app.infra(), "point", &commit).await;
    let replies = wait_replies(&app.pool, app.infra(), &booking, 2).await;
    assert_eq!(
        replies.len(),
        2,
        "the duplicate reserve is answered once: {replies:?}"
    );
    assert_eq!(replies[0].step(), SagaStep::ReservePoints);
    assert_eq!(
        replies[0].outcome(),
        StepOutcome::Succeeded,
        "{}",
        replies[0].reason
    );
    assert_eq!(replies[0].command_id, reserve.id);
    assert_eq!(
        replies[0].detail,
        Some(Detail::ReservePoints(saga::ReservePointsResult {
            points: 3_000
        }))
    );
    assert_eq!(replies[1].step(), SagaStep::CommitPoints);
    assert_eq!(replies[1].outcome(), StepOutcome::Succeeded);
    assert_eq!(app.balance(user).await.balance, 2_000);

    // A cancellation gives the spent points back.
    let release = command(
        &booking,
        &saga::ReleasePointsCommand {
            saga_id: saga_id.clone(),
            booking_id: booking.to_string(),
        },
    );
    send_command(app.infra(), "point", &release).await;
    let replies = wait_replies(&app.pool, app.infra(), &booking, 3).await;
    assert_eq!(replies[2].step(), SagaStep::ReleasePoints);
    assert_eq!(replies[2].outcome(), StepOutcome::Succeeded);
    assert_eq!(app.balance(user).await.balance, 5_000);

    // More than is available: a business refusal, answered FAILED.
    let greedy = Uuid::now_v7();
    let too_much = command(
        &greedy,
        &saga::ReservePointsCommand {
            saga_id: format!("saga-{greedy}"),
            booking_id: greedy.to_string(),
            user_id: user.to_string(),
            points: 5_001,
        },
    );
    send_command(app.infra(), "point", &too_much).await;
    let replies = wait_replies(&app.pool, app.infra(), &greedy, 1).await;
    assert_eq!(replies[0].outcome(), StepOutcome::Failed);
    assert!(!replies[0].reason.is_empty());
    assert_eq!(app.balance(user).await.reserved, 0);
    app.stop().await;
}
