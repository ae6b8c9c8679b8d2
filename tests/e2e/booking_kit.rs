//! What the booking tests share: a listing of their own, booking, paying at
//! the sandbox PG the way a browser does, waiting for a state, and the
//! reconciliation queries that prove nothing is held, reserved or charged
//! that a booking's final state does not explain.

use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use hyper::Method;
use serde_json::{Value, json};

use crate::support::*;

/// How long a saga may take to reach the state a test waits for.
pub const SAGA: Duration = Duration::from_secs(30);

/// A mesh (`staymesh all`) on the demo data with a short payment window
/// and the extra settings in `env`.
pub async fn mesh_with(window: &str, env: &[(&str, &str)]) -> (Deployment, Process) {
    let deployment = Deployment::new().await;
    deployment.run(&["migrate"]).await;
    deployment.run(&["seed", "--properties", "2"]).await;
    let mut command = deployment.command(&["all"]);
    command.env("STAYMESH_BOOKING_PAYMENT_WINDOW", window);
    command.envs(env.iter().copied());
    let mut mesh = Process::spawn(command);
    for service in ["user", "point", "booking", "saga", "payment"] {
        wait_serving(&deployment.url(service), &mut mesh, Duration::from_secs(60)).await;
    }
    wait_http(&deployment.edge(), &mut mesh, Duration::from_secs(60)).await;
    (deployment, mesh)
}

/// [`mesh_with`] with no extra settings.
pub async fn mesh(window: &str) -> (Deployment, Process) {
    mesh_with(window, &[]).await
}

/// The guest's point balance, as `GET /v1/me/points` answers it.
pub async fn balance(edge: &str, token: &str) -> Value {
    let url = format!("{edge}/v1/me/points");
    let got = unless_shed(|| http(Method::GET, &url, Some(token), None)).await;
    assert_eq!(got.status, 200, "{}", got.body);
    got.json()
}

/// A date as the contracts spell it.
pub fn date(d: NaiveDate) -> Value {
    json!({"year": d.year(), "month": d.month(), "day": d.day()})
}

/// A day `days` from today (in Korea, near enough for stays weeks away).
pub fn in_days(days: i64) -> NaiveDate {
    chrono::Utc::now().date_naive() + chrono::Duration::days(days)
}

/// A room type of a new property of the demo host, `rooms` rooms at
/// `price` a night for the next 90 days.
pub async fn listing(edge: &str, host: &str, rooms: i32, price: i64) -> String {
    listing_of_property(edge, host, rooms, price).await.1
}

/// [`listing`], with the property's id: (property id, room type id).
pub async fn listing_of_property(
    edge: &str,
    host: &str,
    rooms: i32,
    price: i64,
) -> (String, String) {
    let property = http(
        Method::POST,
        &format!("{edge}/v1/properties"),
        Some(host),
        Some(json!({"property": {"name": "테스트 스테이", "region": "부산", "address": "부산 해운대구 1"}})),
    )
    .await;
    assert_eq!(property.status, 200, "{}", property.body);
    let property_id = property.json()["property"]["propertyId"]
        .as_str()
        .expect("property id")
        .to_owned();
    let room_type = http(
        Method::POST,
        &format!("{edge}/v1/properties/{property_id}/room-types"),
        Some(host),
        Some(
            json!({"roomType": {"name": "디럭스", "baseOccupancy": 2, "maxOccupancy": 4,
            "extraGuestFee": {"amount": "10000", "currency": "KRW"}, "totalRooms": rooms}}),
        ),
    )
    .await;
    assert_eq!(room_type.status, 200, "{}", room_type.body);
    let room_type_id = room_type.json()["roomType"]["roomTypeId"]
        .as_str()
        .expect("room type id")
        .to_owned();
    let calendar = http(
        Method::PUT,
        &format!("{edge}/v1/room-types/{room_type_id}/calendar"),
        Some(host),
        Some(
            json!({"range": {"start": date(in_days(1)), "end": date(in_days(90))},
            "price": {"amount": price.to_string(), "currency": "KRW"}, "roomsForSale": rooms}),
        ),
    )
    .await;
    assert_eq!(calendar.status, 200, "{}", calendar.body);
    (property_id, room_type_id)
}

/// CreateBooking through the edge; `extra` adds fields (coupon, points, key).
pub async fn book(
    edge: &str,
    token: &str,
    room_type_id: &str,
    check_in: NaiveDate,
    nights: i64,
    extra: Value,
) -> Answer {
    let mut body = json!({
        "roomTypeId": room_type_id,
        "checkIn": date(check_in),
        "checkOut": date(check_in + chrono::Duration::days(nights)),
        "guests": 2,
        "idempotencyKey": uuid::Uuid::now_v7().to_string(),
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    http(
        Method::POST,
        &format!("{edge}/v1/bookings"),
        Some(token),
        Some(body),
    )
    .await
}

/// The booking as its guest reads it.
pub async fn get_booking(edge: &str, token: &str, id: &str) -> Value {
    let got = http(
        Method::GET,
        &format!("{edge}/v1/bookings/{id}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
    got.json()["booking"].clone()
}

/// Polls the booking until its state is one of `states`.
pub async fn wait_state(
    edge: &str,
    token: &str,
    id: &str,
    states: &[&str],
    limit: Duration,
) -> Value {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let booking = get_booking(edge, token, id).await;
        let state = booking["state"].as_str().unwrap_or_default();
        if states.iter().any(|s| format!("BOOKING_STATE_{s}") == state) {
            return booking;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "booking {id} still {state} after {limit:?}, not {states:?}: {booking}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A booking's Server-Sent Events from `GET /v1/bookings/{id}:watch`, read
/// the way a browser's EventSource does: `event:` and `data:` lines, events
/// parted by a blank line, comments (keep-alives) skipped.
pub struct Watch {
    body: hyper::body::Incoming,
    buffer: String,
}

/// One event of a watch.
#[derive(Debug)]
pub enum Seen {
    /// A `message`: its data (for a booking's watch, `{"booking": ...}`).
    Message(Value),
    /// An `error`: the error body the stream ended with.
    Error(Value),
    /// The `end` of the stream, or the connection closing.
    End,
}

/// Opens the booking's watch (see [`events`]).
pub async fn watch(edge: &str, token: &str, id: &str) -> Watch {
    events(edge, token, &format!("/v1/bookings/{id}:watch")).await
}

/// Opens a server-sent event stream of the edge at `path`; panics unless
/// the edge answers 200 text/event-stream. A 503 (the service shedding a
/// burst) or a 504 (the service too busy to open the stream in time: in a
/// 500-guest burst on two cores the booking service can wait seconds for a
/// Postgres connection) is retried with backoff, as the page's `watch`
/// (web/api.js) reopens the stream after a 5xx. Any other status fails.
pub async fn events(edge: &str, token: &str, path: &str) -> Watch {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, Empty<tonic::codegen::Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut attempt = 0;
    let response = loop {
        let request = hyper::Request::get(format!("{edge}{path}"))
            .header("authorization", format!("Bearer {token}"))
            .header("accept", "text/event-stream")
            .body(Empty::new())
            .expect("request");
        let response = client.request(request).await.expect("watch request");
        if response.status() == 200 {
            break response;
        }
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        attempt += 1;
        assert!(
            (status == 503 || status == 504) && attempt < 10,
            "{path}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
    };
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream",
        "{path}"
    );
    Watch {
        body: response.into_body(),
        buffer: String::new(),
    }
}

impl Watch {
    /// The next event.
    pub async fn next(&mut self) -> Seen {
        use http_body_util::BodyExt;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let raw: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut data) = ("message".to_owned(), String::new());
                for line in raw.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        event = value.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.strip_prefix(' ').unwrap_or(value));
                    }
                }
                let parse = || serde_json::from_str::<Value>(&data).expect("event data is JSON");
                match event.as_str() {
                    _ if data.is_empty() && event == "message" => continue,
                    "message" => return Seen::Message(parse()),
                    "error" => return Seen::Error(parse()),
                    "end" => return Seen::End,
                    other => panic!("unexpected event {other}: {data}"),
                }
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(bytes) = frame.data_ref() {
                        self.buffer.push_str(&String::from_utf8_lossy(bytes));
                    }
                }
                Some(Err(error)) => panic!("watch stream broke: {error}"),
                None => return Seen::End,
            }
        }
    }
}

/// Pays at the checkout page with `card` as a browser does, following the
/// PG's redirect back to the edge; returns the edge's answer.
pub async fn pay(checkout_url: &str, card: &str) -> Answer {
    let submit = || {
        http_raw(
            Method::POST,
            checkout_url,
            &[("content-type", "application/x-www-form-urlencoded")],
            format!("cardNumber={card}&action=pay"),
        )
    };
    // Under the whole suite's load on two cores the sandbox may answer
    // "could not reach its database; try again" (5xx, nothing paid); a
    // guest presses pay again.
    let form = retry_while(submit, |status| status >= 500).await;
    assert_eq!(form.status, 303, "{}", form.body);
    let back = form.headers["location"]
        .to_str()
        .expect("location")
        .to_owned();
    http(Method::GET, &back, None, None).await
}

/// The approving test card.
pub const CARD_OK: &str = "4242424242424242";
/// The declined test card.
pub const CARD_DECLINED: &str = "4000000000000002";

/// A connection to one service's database of the deployment.
pub async fn database(deployment: &Deployment, service: &str) -> sqlx::PgPool {
    let admin = std::env::var("STAYMESH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://staymesh:staymesh@127.0.0.1:5432/postgres".into());
    let url = format!(
        "{}/{}_{service}",
        admin.rsplit_once('/').expect("a database URL").0,
        deployment.prefix
    );
    sqlx::PgPool::connect(&url).await.expect("connect")
}

/// What every service holds for the bookings of `deployment`, checked
/// against the bookings' final states: nothing is left that a booking's
/// state does not explain. Returns the bookings' states and counts.
pub async fn reconcile(deployment: &Deployment) -> std::collections::BTreeMap<String, i64> {
    let booking = database(deployment, "booking").await;
    // id, state, paid, points, refunded, coupon, and what paid misses of the price.
    type BookingRow = (uuid::Uuid, String, i64, i64, i64, Option<uuid::Uuid>, i64);
    let rows: Vec<BookingRow> = sqlx::query_as(
        "SELECT id, state, paid_amount, points, refunded_amount, user_coupon_id, \
                price - discount - points - paid_amount FROM booking",
    )
    .fetch_all(&booking)
    .await
    .expect("bookings");
    let mut states = std::collections::BTreeMap::new();
    for (id, state, _, _, _, _, money_gap) in &rows {
        assert_eq!(*money_gap, 0, "paid = price - discount - points");
        // The tally is of the bookings the test made; `staymesh seed`'s
        // completed demo stay is history, not one of them.
        if *id != staymesh_platform::demo::COMPLETED_STAY_ID {
            *states.entry(state.clone()).or_insert(0) += 1;
        }
    }
    let in_state = |wanted: &[&str]| -> Vec<uuid::Uuid> {
        rows.iter()
            .filter(|r| wanted.contains(&r.1.as_str()))
            .map(|r| r.0)
            .collect()
    };
    let live = in_state(&[
        "PENDING",
        "AWAITING_PAYMENT",
        "CONFIRMED",
        "CANCELLING",
        "COMPLETED",
    ]);

    // Nights: held only for bookings awaiting payment, sold only for confirmed ones.
    let accommodation = database(deployment, "accommodation").await;
    let holds: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT booking_id, state FROM hold WHERE rooms > 0")
            .fetch_all(&accommodation)
            .await
            .expect("holds");
    for (id, state) in &holds {
        let booking_state = rows.iter().find(|r| r.0 == *id).map(|r| r.1.as_str());
        match state.as_str() {
            "HELD" => assert!(
                matches!(
                    booking_state,
                    Some("PENDING" | "AWAITING_PAYMENT" | "CANCELLING")
                ),
                "nights held for booking {id}, which is {booking_state:?}"
            ),
            "CONFIRMED" => assert!(
                matches!(
                    booking_state,
                    Some("CONFIRMED" | "COMPLETED" | "CANCELLING")
                ),
                "nights sold for booking {id}, which is {booking_state:?}"
            ),
            _ => {}
        }
    }
    let overbooked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM night WHERE held + sold > total")
            .fetch_one(&accommodation)
            .await
            .expect("nights");
    assert_eq!(overbooked, 0, "no night is overbooked");

    // Coupons and points: reserved or used only by live bookings.
    let coupon = database(deployment, "coupon").await;
    let coupons: Vec<(String, String)> =
        sqlx::query_as("SELECT booking_id, state FROM user_coupon WHERE booking_id IS NOT NULL")
            .fetch_all(&coupon)
            .await
            .expect("coupons");
    for (id, state) in &coupons {
        let id = uuid::Uuid::parse_str(id).expect("booking id");
        assert!(
            live.contains(&id),
            "coupon {state} for booking {id}, which is over"
        );
    }
    let point = database(deployment, "point").await;
    let reserved: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT booking_id, state FROM point_reservation WHERE state <> 'RELEASED'")
            .fetch_all(&point)
            .await
            .expect("point reservations");
    for (id, state) in &reserved {
        assert!(
            live.contains(id),
            "points {state} for booking {id}, which is over"
        );
    }

    // Money: PAID only for confirmed bookings; cancelled ones paid back.
    let payment = database(deployment, "payment").await;
    let payments: Vec<(uuid::Uuid, String, i64, i64)> =
        sqlx::query_as("SELECT booking_id, state, amount, refunded_amount FROM payment")
            .fetch_all(&payment)
            .await
            .expect("payments");
    for (id, state, amount, refunded) in &payments {
        let booking_state = rows.iter().find(|r| r.0 == *id).map(|r| r.1.as_str());
        if state == "PAID" {
            assert!(
                matches!(
                    booking_state,
                    Some("CONFIRMED" | "COMPLETED" | "CANCELLING")
                ),
                "payment PAID for booking {id}, which is {booking_state:?}"
            );
        }
        if booking_state == Some("CANCELLED") {
            assert!(
                matches!(
                    state.as_str(),
                    "CANCELLED" | "FAILED" | "REFUNDED" | "PARTIALLY_REFUNDED" | "READY"
                ),
                "payment {state} ({refunded} of {amount} refunded) for cancelled booking {id}"
            );
        }
    }
    states
}

/// Whether the browser's return to ApprovePayment must succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    MustSucceed,
    /// The payment service may be down (a test killed it): the return is
    /// answered 503 and the PG's webhook, retried, approves the payment.
    MayMeetAnOutage,
}

/// Books and, once awaiting payment, pays at once; returns the final booking.
pub async fn book_and_pay(
    edge: String,
    token: String,
    room: String,
    extra: Value,
    approval: Approval,
) -> Value {
    try_book_and_pay(edge, token, room, extra, approval)
        .await
        .unwrap_or_else(|refused| panic!("CreateBooking refused: {}", refused.body))
}

/// Like [`book_and_pay`], but CreateBooking's refusal with 400 (a coupon or
/// points the guest's other bookings hold) is an outcome, returned as `Err`.
pub async fn try_book_and_pay(
    edge: String,
    token: String,
    room: String,
    extra: Value,
    approval: Approval,
) -> Result<Value, Answer> {
    // A burst of hundreds of creates on two cores (debug build, beside the
    // other tests) may be shed with 503 or outlast the 10 s request timeout
    // (504), and so may a create while a test has killed the accommodation
    // service; a client retries under the same idempotency key, which is
    // what the key is for: a retry returns the booking the first created.
    let mut extra = extra;
    extra["idempotencyKey"] = json!(uuid::Uuid::now_v7().to_string());
    let create = || book(&edge, &token, &room, in_days(15), 2, extra.clone());
    let created = retry_while(create, |status| status == 503 || status == 504).await;
    if created.status == 400 {
        return Err(created);
    }
    assert_eq!(created.status, 200, "{}", created.body);
    let id = created.json()["booking"]["bookingId"]
        .as_str()
        .unwrap()
        .to_owned();
    // Watch instead of polling: five hundred guests share two cores with
    // the mesh, and a push costs nothing until the booking changes.
    let mut events = watch(&edge, &token, &id).await;
    let mut last = Value::Null;
    let mut paid = false;
    loop {
        let seen = tokio::time::timeout(Duration::from_secs(240), events.next())
            .await
            .unwrap_or_else(|_| panic!("booking {id} unfinished: {last}"));
        match seen {
            Seen::Message(message) => {
                let booking = message["booking"].clone();
                if booking["state"] == "BOOKING_STATE_AWAITING_PAYMENT" && !paid {
                    let approved = pay(booking["checkoutUrl"].as_str().unwrap(), CARD_OK).await;
                    let outage = approval == Approval::MayMeetAnOutage && approved.status == 503;
                    assert!(approved.status == 200 || outage, "{}", approved.body);
                    paid = true;
                }
                last = booking;
            }
            Seen::Error(error) => panic!("booking {id}'s watch failed: {error}"),
            Seen::End => break,
        }
    }
    // The stream ends once nothing but the guest moves the booking.
    assert!(
        matches!(
            last["state"].as_str(),
            Some("BOOKING_STATE_CONFIRMED" | "BOOKING_STATE_CANCELLED")
        ),
        "booking {id}'s watch ended at {last}"
    );
    Ok(last)
}

/// The seed's first-come-first-served event: 10% off, at most 20,000 won.
pub const DEMO_EVENT: &str = "0190c0de-0000-7000-8000-00000000e001";

/// Claims the demo coupon for `token` and waits until it is in the box.
pub async fn claim_demo_coupon(edge: &str, token: &str) -> String {
    let claimed = http(
        Method::POST,
        &format!("{edge}/v1/issuance-events/{DEMO_EVENT}:claim"),
        Some(token),
        Some(json!({})),
    )
    .await;
    assert_eq!(claimed.status, 200, "{}", claimed.body);
    let id = claimed.json()["userCoupon"]["userCouponId"]
        .as_str()
        .expect("a user coupon")
        .to_owned();
    staymesh_testkit::eventually(SAGA, "the coupon in the box", || async {
        coupon_state(edge, token, &id).await.as_deref() == Some("USER_COUPON_STATE_AVAILABLE")
    })
    .await;
    id
}

/// The state of one of the caller's coupons, if the box holds it.
pub async fn coupon_state(edge: &str, token: &str, id: &str) -> Option<String> {
    let url = format!("{edge}/v1/me/coupons");
    let mine = unless_shed(|| http(Method::GET, &url, Some(token), None)).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    mine.json()["userCoupons"]
        .as_array()?
        .iter()
        .find(|c| c["userCouponId"] == id)
        .and_then(|c| c["state"].as_str().map(str::to_owned))
}

/// The first field an HTTP 400 names, as the edge's JSON error carries it.
pub fn field(answer: &Answer) -> String {
    answer.json()["error"]["details"][0]["field"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `send` until it is not shed: dozens of guests at once beside the rest
/// of the suite on two cores may get 503 (nothing done); a client tries
/// again later. Only for reads and requests idempotent by key.
pub async fn unless_shed<F, Fut>(send: F) -> Answer
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    retry_while(send, |status| status == 503).await
}

/// `send`, again with a growing pause (ten times at most) while `retry`
/// says its status is one a client answers by trying again.
async fn retry_while<F, Fut>(send: F, retry: impl Fn(u16) -> bool) -> Answer
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let mut answer = send().await;
    for attempt in 1..=10 {
        if !retry(answer.status) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
        answer = send().await;
    }
    answer
}
