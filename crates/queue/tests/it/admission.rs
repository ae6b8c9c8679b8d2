//! Admission tokens: what they admit, once, and what they never admit; and
//! the cap on users let in at once.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use staymesh_proto::queue as pb;
use staymesh_testkit::user_of;
use uuid::Uuid;

use crate::support::*;

const NEVER: Duration = Duration::from_secs(3600);

/// Two users admitted at `event`: (token, ticket) each.
async fn two_admitted(app: &App, event: Uuid) -> [(String, pb::Ticket); 2] {
    let (a, b) = (guest(1), guest(2));
    let (ta, tb) = (app.enter(event, &a).await, app.enter(event, &b).await);
    assert_eq!(app.admit(event, 2).await, 2);
    let (ta, tb) = (app.position(&ta, &a).await, app.position(&tb, &b).await);
    assert_eq!(state(&ta), pb::TicketState::Admitted);
    assert_eq!(state(&tb), pb::TicketState::Admitted);
    [(a, ta), (b, tb)]
}

/// Waits (at most 15 s) until the admitted `ticket`'s token is refused as
/// expired; meanwhile it must still admit.
async fn until_expired(app: &App, ticket: &pb::Ticket, token: &str) {
    let event = Uuid::parse_str(&ticket.event_id).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let checked = app
            .verify(event, user_of(token), &ticket.admission_token, false)
            .await;
        if checked.reason == "expired" {
            return;
        }
        assert!(checked.admitted, "{checked:?}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the token never expired"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_token_admits_its_user_at_its_event_once() {
    let app = spawn(NEVER).await;
    let event = app.queue(config(10, 600, 0)).await;
    let other_event = app.queue(config(10, 600, 0)).await;
    let [(a, ta), (b, _)] = two_admitted(&app, event).await;
    let token = &ta.admission_token;

    let checked = app.verify(event, user_of(&a), token, false).await;
    assert!(checked.admitted, "{checked:?}");
    assert_eq!(checked.expires_at, ta.admission_expires_at);

    let wrong_user = app.verify(event, user_of(&b), token, true).await;
    assert!(!wrong_user.admitted);
    assert!(wrong_user.reason.contains("another user"), "{wrong_user:?}");
    let wrong_event = app.verify(other_event, user_of(&a), token, true).await;
    assert!(!wrong_event.admitted);
    assert!(
        wrong_event.reason.contains("another event"),
        "{wrong_event:?}"
    );
    let mut forged = token.clone();
    forged.insert(3, 'x');
    let forged = app.verify(event, user_of(&a), &forged, true).await;
    assert!(!forged.admitted);
    assert!(forged.reason.contains("not a valid"), "{forged:?}");

    // Spent once, by the first of many racing calls.
    let spent: Vec<bool> = futures::stream::iter(0..20)
        .map(|_| app.verify(event, user_of(&a), token, true))
        .buffer_unordered(20)
        .map(|answer| answer.admitted)
        .collect()
        .await;
    assert_eq!(spent.iter().filter(|ok| **ok).count(), 1, "{spent:?}");
    let again = app.verify(event, user_of(&a), token, true).await;
    assert!(!again.admitted);
    assert_eq!(again.reason, "already used");
    app.stop().await;
}

#[tokio::test]
async fn a_token_is_refused_after_it_expires_and_after_its_user_left() {
    let app = spawn(Duration::from_millis(100)).await;
    let event = app.queue(config(1, 10, 0)).await;
    let [(a, ta), (b, tb)] = two_admitted(&app, event).await;
    app.api
        .clone()
        .leave(authed(
            pb::LeaveRequest {
                event_id: event.to_string(),
                ticket_id: tb.ticket_id.clone(),
            },
            &b,
        ))
        .await
        .expect("leave");
    let left = app
        .verify(event, user_of(&b), &tb.admission_token, true)
        .await;
    assert!(!left.admitted);
    assert_eq!(left.reason, "left the queue");

    // The shortest life a token may have is ten seconds: until then it
    // still admits (checked without spending it), then it is refused.
    until_expired(&app, &ta, &a).await;
    let expired = app
        .verify(event, user_of(&a), &ta.admission_token, true)
        .await;
    assert!(!expired.admitted);
    assert_eq!(expired.reason, "expired");
    assert_eq!(
        state(&app.position(&ta, &a).await),
        pb::TicketState::Expired
    );
    app.stop().await;
}

#[tokio::test]
async fn no_more_than_max_admitted_hold_a_live_token_at_any_moment() {
    const MAX: i32 = 25;
    const USERS: usize = 300;
    let app = spawn(Duration::from_millis(50)).await;
    let event = app.queue(config(1_000, 600, MAX)).await;
    let entered: Vec<(String, pb::Ticket)> = futures::stream::iter(0..USERS)
        .map(|n| {
            let app = &app;
            async move { (guest(n), app.enter(event, &guest(n)).await) }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    // Everyone watches; when let in, spends the token a moment later,
    // freeing the place for the next.
    let done = Arc::new(AtomicBool::new(false));
    let most = Arc::new(AtomicI64::new(0));
    let sampler = {
        let (app_api, done, most) = (app.api.clone(), done.clone(), most.clone());
        tokio::spawn(async move {
            let mut samples = 0;
            while !done.load(Ordering::Relaxed) {
                let queue = app_api
                    .clone()
                    .get_queue(authed(
                        pb::GetQueueRequest {
                            event_id: event.to_string(),
                        },
                        ADMIN,
                    ))
                    .await
                    .expect("get queue")
                    .into_inner();
                most.fetch_max(queue.admitted, Ordering::Relaxed);
                samples += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            samples
        })
    };
    let spent: HashSet<String> = futures::stream::iter(entered)
        .map(|(token, ticket)| {
            let app = &app;
            async move {
                let mut stream = app
                    .api
                    .clone()
                    .watch_position(authed(
                        pb::WatchPositionRequest {
                            event_id: ticket.event_id.clone(),
                            ticket_id: ticket.ticket_id.clone(),
                        },
                        &token,
                    ))
                    .await
                    .expect("watch")
                    .into_inner();
                let mut last = None;
                while let Some(next) = stream.next().await {
                    last = next.expect("update").ticket;
                }
                let last = last.expect("a ticket");
                assert_eq!(state(&last), pb::TicketState::Admitted);
                tokio::time::sleep(Duration::from_millis(20)).await;
                let used = app
                    .verify(event, user_of(&token), &last.admission_token, true)
                    .await;
                assert!(used.admitted, "{used:?}");
                token
            }
        })
        .buffer_unordered(USERS)
        .collect()
        .await;
    done.store(true, Ordering::Relaxed);
    let samples = sampler.await.expect("sampler");
    assert_eq!(spent.len(), USERS, "everyone got in, in turn");
    let most = most.load(Ordering::Relaxed);
    assert!(
        most <= i64::from(MAX),
        "{most} live tokens at once (cap {MAX}) over {samples} samples"
    );
    assert!(
        most >= i64::from(MAX / 2),
        "the cap was reached at times: {most} over {samples} samples"
    );
    app.stop().await;
}

#[tokio::test]
async fn entering_again_after_an_admission_ran_out_gives_a_ticket_the_sweep_leaves_alone() {
    let app = spawn(NEVER).await;
    let event = app.queue(config(10, 10, 0)).await;
    let (a, b) = (guest(1), guest(2));
    let first = app.enter(event, &a).await;
    assert_eq!(app.admit(event, 1).await, 1);
    let second = app.enter(event, &b).await;
    // A's token runs out unused (ten seconds is the shortest life)...
    until_expired(&app, &app.position(&first, &a).await, &a).await;
    let again = app.enter(event, &a).await;
    assert_ne!(again.ticket_id, first.ticket_id);
    assert_eq!(
        (state(&again), again.position),
        (pb::TicketState::Waiting, 2)
    );
    // ...and the next admission sweeps it: B goes in, A's new ticket waits on.
    app.configure(event, config(10, 10, 1)).await;
    assert_eq!(app.admit(event, 1).await, 1);
    assert_eq!(
        state(&app.position(&second, &b).await),
        pb::TicketState::Admitted
    );
    let now = app.position(&again, &a).await;
    assert_eq!((state(&now), now.position), (pb::TicketState::Waiting, 1));
    app.stop().await;
}
