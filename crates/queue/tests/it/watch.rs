//! Position streams: a watcher sees its place fall and its admission, and
//! one that reconnects carries on with the same ticket.

use std::time::Duration;

use futures::StreamExt;
use staymesh_proto::queue as pb;

use crate::support::*;

fn watch_request(ticket: &pb::Ticket, token: &str) -> tonic::Request<pb::WatchPositionRequest> {
    authed(
        pb::WatchPositionRequest {
            event_id: ticket.event_id.clone(),
            ticket_id: ticket.ticket_id.clone(),
        },
        token,
    )
}

#[tokio::test]
async fn a_watcher_sees_its_place_fall_then_its_admission_and_the_stream_ends() {
    let app = spawn(Duration::from_millis(100)).await;
    // Two a second: six ahead take about three seconds.
    let event = app.queue(config(2, 60, 0)).await;
    for n in 0..6 {
        app.enter(event, &guest(n)).await;
    }
    let me = guest(99);
    let ticket = app.enter(event, &me).await;
    assert!(
        ticket.position >= 1 && ticket.estimated_wait_seconds >= 1,
        "{ticket:?}"
    );
    let mut stream = app
        .api
        .clone()
        .watch_position(watch_request(&ticket, &me))
        .await
        .expect("watch")
        .into_inner();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while let Some(next) = tokio::time::timeout_at(deadline, stream.next())
        .await
        .expect("the stream ends within 20 s")
    {
        seen.push(next.expect("update").ticket.expect("ticket"));
    }
    let places: Vec<i64> = seen
        .iter()
        .filter(|t| state(t) == pb::TicketState::Waiting)
        .map(|t| t.position)
        .collect();
    assert!(places.len() >= 3, "the place was shown falling: {places:?}");
    assert!(
        places.windows(2).all(|w| w[1] < w[0]),
        "each update a smaller place: {places:?}"
    );
    let last = seen.last().expect("updates");
    assert_eq!(state(last), pb::TicketState::Admitted, "{seen:?}");
    assert!(!last.admission_token.is_empty());

    // Reconnecting after the end gives the ticket as it is, and ends.
    let again: Vec<_> = app
        .api
        .clone()
        .watch_position(watch_request(&ticket, &me))
        .await
        .expect("watch again")
        .into_inner()
        .collect()
        .await;
    assert_eq!(again.len(), 1);
    let again = again[0]
        .as_ref()
        .expect("ticket")
        .ticket
        .clone()
        .expect("ticket");
    assert_eq!(
        (state(&again), &again.ticket_id),
        (pb::TicketState::Admitted, &ticket.ticket_id)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_watcher_that_reconnects_resumes_its_ticket() {
    let app = spawn(Duration::from_secs(3600)).await;
    let event = app.queue(config(10, 60, 0)).await;
    for n in 0..5 {
        app.enter(event, &guest(n)).await;
    }
    let me = guest(99);
    let ticket = app.enter(event, &me).await;
    assert_eq!(ticket.position, 6);
    let first: pb::Ticket = {
        let mut stream = app
            .api
            .clone()
            .watch_position(watch_request(&ticket, &me))
            .await
            .expect("watch")
            .into_inner();
        stream
            .next()
            .await
            .expect("first")
            .expect("ok")
            .ticket
            .expect("ticket")
        // The client goes away here.
    };
    assert_eq!(first.position, 6);
    app.admit(event, 4).await;
    let mut stream = app
        .api
        .clone()
        .watch_position(watch_request(&ticket, &me))
        .await
        .expect("watch again")
        .into_inner();
    let resumed = stream
        .next()
        .await
        .expect("first")
        .expect("ok")
        .ticket
        .expect("ticket");
    assert_eq!(
        (&resumed.ticket_id, resumed.position),
        (&ticket.ticket_id, 2)
    );
    app.admit(event, 2).await;
    let admitted = tokio::time::timeout(Duration::from_secs(5), async {
        let mut last = None;
        while let Some(next) = stream.next().await {
            last = next.expect("ok").ticket;
        }
        last
    })
    .await
    .expect("admitted within 5 s")
    .expect("a ticket");
    assert_eq!(state(&admitted), pb::TicketState::Admitted);
    app.stop().await;
}
