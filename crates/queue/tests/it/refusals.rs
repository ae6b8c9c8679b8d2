//! Every refusal names what is wrong: bad fields, the wrong caller, a queue
//! that is not there or not active.

use std::time::Duration;

use staymesh_proto::queue as pb;
use tonic::Code;
use uuid::Uuid;

use crate::support::*;

#[tokio::test]
async fn bad_input_and_wrong_callers_are_refused_with_the_reason() {
    let app = spawn(Duration::from_secs(3600)).await;
    let mut api = app.api.clone();
    let event = Uuid::now_v7();

    // No queue, then an inactive one: nothing to enter.
    let none = api
        .enter(authed(
            pb::EnterRequest {
                event_id: event.to_string(),
            },
            &guest(1),
        ))
        .await
        .expect_err("no queue");
    assert_eq!(none.code(), Code::FailedPrecondition, "{none:?}");
    app.configure(
        event,
        pb::QueueConfig {
            active: false,
            ..config(5, 60, 0)
        },
    )
    .await;
    let inactive = api
        .enter(authed(
            pb::EnterRequest {
                event_id: event.to_string(),
            },
            &guest(1),
        ))
        .await
        .expect_err("inactive");
    assert_eq!(inactive.code(), Code::FailedPrecondition, "{inactive:?}");

    let anonymous = api
        .enter(tonic::Request::new(pb::EnterRequest {
            event_id: event.to_string(),
        }))
        .await
        .expect_err("anonymous");
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    let guest_configures = api
        .configure_queue(authed(
            pb::ConfigureQueueRequest {
                event_id: event.to_string(),
                config: Some(config(5, 60, 0)),
            },
            &guest(1),
        ))
        .await
        .expect_err("a guest");
    assert_eq!(guest_configures.code(), Code::PermissionDenied);

    let bad = api
        .configure_queue(authed(
            pb::ConfigureQueueRequest {
                event_id: event.to_string(),
                config: Some(config(0, 5, -1)),
            },
            ADMIN,
        ))
        .await
        .expect_err("bad settings");
    assert_eq!(
        violated_fields(&bad),
        [
            "config.admit_per_second",
            "config.admission_ttl_seconds",
            "config.max_admitted"
        ]
    );
    let bad_event = api
        .enter(authed(
            pb::EnterRequest {
                event_id: "x".into(),
            },
            &guest(1),
        ))
        .await
        .expect_err("bad id");
    assert_eq!(violated_fields(&bad_event), ["event_id"]);
    let bad_ticket = api
        .get_position(authed(
            pb::GetPositionRequest {
                event_id: event.to_string(),
                ticket_id: "nope".into(),
            },
            &guest(1),
        ))
        .await
        .expect_err("bad ticket id");
    assert_eq!(violated_fields(&bad_ticket), ["ticket_id"]);
    let bad_count = api
        .admit(authed(
            pb::AdmitRequest {
                event_id: event.to_string(),
                count: 0,
            },
            ADMIN,
        ))
        .await
        .expect_err("count 0");
    assert_eq!(violated_fields(&bad_count), ["count"]);
    let unknown = api
        .get_queue(authed(
            pb::GetQueueRequest {
                event_id: Uuid::now_v7().to_string(),
            },
            ADMIN,
        ))
        .await
        .expect_err("no such queue");
    assert_eq!(unknown.code(), Code::NotFound);
    let missing = app
        .admission
        .clone()
        .verify_admission(pb::VerifyAdmissionRequest {
            event_id: event.to_string(),
            ..Default::default()
        })
        .await
        .expect_err("no user or token");
    assert_eq!(violated_fields(&missing), ["user_id", "admission_token"]);
    app.stop().await;
}
