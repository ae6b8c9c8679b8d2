//! The line itself: places are handed out exactly once and in order, only
//! ever move forward, survive entering again, and admission follows them.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use staymesh_proto::queue as pb;

use crate::support::*;

/// A tick so long the ticker never admits: the test admits by hand.
const NEVER: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn ten_thousand_users_entering_at_once_get_places_one_to_ten_thousand_and_are_admitted_in_that_order()
 {
    const USERS: usize = 10_000;
    let app = spawn(NEVER).await;
    let event = app.queue(config(100, 600, 0)).await;
    let entered: Vec<(String, pb::Ticket)> = futures::stream::iter(0..USERS)
        .map(|n| {
            let app = &app;
            async move {
                let token = guest(n);
                let ticket = app.enter(event, &token).await;
                (token, ticket)
            }
        })
        .buffer_unordered(256)
        .collect()
        .await;
    let mut places: Vec<i64> = entered.iter().map(|(_, t)| t.position).collect();
    places.sort_unstable();
    assert_eq!(
        places,
        (1..=USERS as i64).collect::<Vec<_>>(),
        "places are 1..=10,000, each once"
    );
    assert!(
        entered
            .iter()
            .all(|(_, t)| state(t) == pb::TicketState::Waiting)
    );

    // Entering again (a refresh) keeps the ticket and the place.
    let (token, first) = &entered[17];
    let again = app.enter(event, token).await;
    assert_eq!(
        (&again.ticket_id, again.position),
        (&first.ticket_id, first.position)
    );

    // Admit in steps; after each, exactly the first `admitted` places are
    // in, and nobody's place grew.
    let mut last: HashMap<String, i64> = entered
        .iter()
        .map(|(token, t)| (token.clone(), t.position))
        .collect();
    let mut admitted = 0;
    for step in [1, 999, 3000, 6000] {
        assert_eq!(app.admit(event, step).await, step);
        admitted += i64::from(step);
        let now = app.positions(&entered, 64).await;
        for ((token, entry), ticket) in entered.iter().zip(&now) {
            let was = last[token];
            if entry.position <= admitted {
                assert_eq!(
                    state(ticket),
                    pb::TicketState::Admitted,
                    "place {} after {admitted}",
                    entry.position
                );
                assert!(!ticket.admission_token.is_empty());
                last.insert(token.clone(), 0);
            } else {
                assert_eq!(
                    state(ticket),
                    pb::TicketState::Waiting,
                    "place {} after {admitted}",
                    entry.position
                );
                assert_eq!(
                    ticket.position,
                    entry.position - admitted,
                    "the place moves up by those let in"
                );
                assert!(
                    ticket.position <= was,
                    "a place never grows: {was} -> {}",
                    ticket.position
                );
                last.insert(token.clone(), ticket.position);
            }
        }
    }
    let queue = app.get_queue(event).await;
    assert_eq!((queue.waiting, queue.admitted_total), (0, USERS as i64));
    app.stop().await;
}

#[tokio::test]
async fn leaving_frees_the_place_and_entering_again_goes_to_the_back() {
    let app = spawn(NEVER).await;
    let event = app.queue(config(10, 60, 0)).await;
    let tickets: Vec<pb::Ticket> = {
        let mut out = Vec::new();
        for n in 0..3 {
            out.push(app.enter(event, &guest(n)).await);
        }
        out
    };
    app.api
        .clone()
        .leave(authed(
            pb::LeaveRequest {
                event_id: event.to_string(),
                ticket_id: tickets[0].ticket_id.clone(),
            },
            &guest(0),
        ))
        .await
        .expect("leave");
    assert_eq!(
        state(&app.position(&tickets[0], &guest(0)).await),
        pb::TicketState::Left
    );
    assert_eq!(app.position(&tickets[2], &guest(2)).await.position, 2);
    let back = app.enter(event, &guest(0)).await;
    assert_ne!(back.ticket_id, tickets[0].ticket_id);
    assert_eq!((back.position, back.total_waiting), (3, 3));
    // The old ticket is no longer the user's.
    let gone = app
        .api
        .clone()
        .get_position(authed(
            pb::GetPositionRequest {
                event_id: event.to_string(),
                ticket_id: tickets[0].ticket_id.clone(),
            },
            &guest(0),
        ))
        .await
        .expect_err("replaced");
    assert_eq!(gone.code(), tonic::Code::NotFound);
    // Nor is anybody else's ticket theirs.
    let other = app
        .api
        .clone()
        .get_position(authed(
            pb::GetPositionRequest {
                event_id: event.to_string(),
                ticket_id: tickets[1].ticket_id.clone(),
            },
            &guest(2),
        ))
        .await
        .expect_err("another user's ticket");
    assert_eq!(other.code(), tonic::Code::NotFound);
    app.stop().await;
}

#[tokio::test]
async fn two_replicas_ticking_one_queue_admit_at_its_rate_not_twice_it() {
    const RATE: i32 = 20;
    let first = spawn(Duration::from_millis(100)).await;
    let second = spawn_on(first.settings.infra.clone(), Duration::from_millis(100)).await;
    // The crowd enters while both replicas tick; the measurement starts after.
    let event = first.queue(config(RATE, 600, 0)).await;
    futures::stream::iter(0..2_000)
        .map(|n| {
            let first = &first;
            async move { first.enter(event, &guest(n)).await }
        })
        .buffer_unordered(128)
        .collect::<Vec<_>>()
        .await;
    let start = first.get_queue(event).await.admitted_total;
    let started = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let end = second.get_queue(event).await.admitted_total;
    let seconds = started.elapsed().as_secs_f64();
    let admitted = (end - start) as f64;
    // At most the rate over the time, plus the one second the queue may
    // have saved up (and a tenth for the reads' own latency); two tickers
    // would admit about twice the rate.
    let most = f64::from(RATE) * (seconds + 1.1);
    let least = f64::from(RATE) * (seconds - 1.0);
    assert!(
        (least..=most).contains(&admitted),
        "{admitted} admitted in {seconds:.2} s at {RATE}/s (allowed {least:.0}..={most:.0})"
    );
    second.stop_replica().await;
    first.stop().await;
}
