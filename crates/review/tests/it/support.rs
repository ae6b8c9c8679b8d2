//! Starts the real review service on 127.0.0.1:0 against real Postgres and
//! the broker, in a database and topics of its own. Completed stays reach it
//! as real BookingCompleted events; the user and booking services it asks
//! are stood in for by `Known`, which answers from the stays a test declares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use staymesh_platform::kafka::Producer;
use staymesh_platform::media::MediaArgs;
use staymesh_platform::rpc::Result;
use staymesh_proto::review as pb;
use staymesh_proto::review::review_service_client::ReviewServiceClient;
use staymesh_proto::saga::BookingCompleted;
use staymesh_review::{DESCRIPTOR, Directory, LocalStore, ReviewArgs, Settings, Stay};
use staymesh_testkit::Running;
pub use staymesh_testkit::{FakeTokens, authed, violated_fields};
use tonic::transport::Channel;
use uuid::Uuid;

pub const ADMIN: &str = "admin:0190c0de-0000-7000-8000-0000000000ad";

/// A guest with a user id of their own, and their token.
pub fn guest() -> (Uuid, String) {
    let id = Uuid::now_v7();
    (id, format!("guest:{id}"))
}

/// Stays the booking service would report as COMPLETED to their guests.
#[derive(Debug, Default)]
pub struct Known(Mutex<HashMap<Uuid, Stay>>);

#[tonic::async_trait]
impl Directory for Known {
    async fn author_name(&self, _authorization: &str) -> Result<String> {
        Ok("손님".into())
    }

    async fn completed_stay(&self, booking_id: Uuid, authorization: &str) -> Result<Option<Stay>> {
        let stays = self.0.lock().unwrap();
        // As the booking service: only the guest's own booking is found.
        Ok(stays
            .get(&booking_id)
            .filter(|s| authorization.ends_with(&s.user_id.to_string()))
            .cloned())
    }
}

pub struct App {
    pub api: ReviewServiceClient<Channel>,
    pub pool: PgPool,
    pub settings: Settings,
    pub known: Arc<Known>,
    /// The directory the edge would write uploads to.
    pub store: LocalStore,
    producer: Producer,
    running: Running<staymesh_review::Error>,
}

pub async fn spawn() -> App {
    spawn_with(|_| {}).await
}

/// Starts the service after `configure` adjusted its settings. Images go
/// to a directory of the test's own.
pub async fn spawn_with(configure: impl FnOnce(&mut ReviewArgs)) -> App {
    let (infra, server) = staymesh_testkit::stores();
    let known = Arc::new(Known::default());
    let mut review = staymesh_testkit::own_args::<ReviewArgs>();
    configure(&mut review);
    let mut media = staymesh_testkit::own_args::<MediaArgs>();
    media.media_dir = std::env::temp_dir().join(format!("staymesh-review-{}", Uuid::now_v7()));
    let store = LocalStore::new(&media);
    // The service's own choice of store, as at start-up: S3 when configured.
    let chosen: Arc<dyn staymesh_review::ObjectStore> =
        match review.s3_store().expect("S3 settings") {
            Some(s3) => Arc::new(s3),
            None => Arc::new(store.clone()),
        };
    let settings = Settings {
        infra,
        server,
        review,
        token_verifier: Arc::new(FakeTokens),
        directory: known.clone(),
        store: chosen,
    };
    let running = {
        let settings = settings.clone();
        staymesh_testkit::spawn(&DESCRIPTOR, settings.infra.clone(), |listener, shutdown| {
            staymesh_review::run(settings, listener, shutdown)
        })
        .await
    };
    App {
        api: ReviewServiceClient::new(running.channel.clone()),
        pool: running.pool.clone(),
        producer: Producer::new(&settings.infra.kafka_brokers).expect("producer"),
        settings,
        known,
        store,
        running,
    }
}

/// A stay of `user` at `property`, completed at `completed_at`.
pub fn stay(user: Uuid, property: Uuid, completed_at: DateTime<Utc>) -> Stay {
    Stay {
        booking_id: Uuid::now_v7(),
        user_id: user,
        property_id: property,
        room_type_id: Uuid::now_v7(),
        completed_at,
    }
}

impl App {
    pub async fn stop(self) {
        self.running.stop().await;
        let _ = std::fs::remove_dir_all(&self.store.dir);
    }

    /// A granted upload of `content_type`, `length` bytes at most.
    pub async fn upload_grant(
        &self,
        token: &str,
        content_type: &str,
        length: i64,
    ) -> std::result::Result<pb::CreateImageUploadResponse, tonic::Status> {
        self.api
            .clone()
            .create_image_upload(authed(
                pb::CreateImageUploadRequest {
                    content_type: content_type.into(),
                    content_length: length,
                },
                token,
            ))
            .await
            .map(|r| r.into_inner())
    }

    /// Writes `bytes` where the edge stores the upload, as a browser's PUT would.
    pub fn put_file(&self, upload_id: &str, bytes: &[u8]) {
        let path = self.store.dir.join(format!("reviews/{upload_id}"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    pub fn file_exists(&self, upload_id: &str) -> bool {
        self.store.dir.join(format!("reviews/{upload_id}")).exists()
    }

    /// A review with these images.
    pub async fn create_with_images(
        &self,
        token: &str,
        booking: Uuid,
        images: &[&str],
    ) -> std::result::Result<pb::Review, tonic::Status> {
        self.api
            .clone()
            .create_review(authed(
                pb::CreateReviewRequest {
                    booking_id: booking.to_string(),
                    rating: 5,
                    text: "사진과 똑같은 숙소예요.".into(),
                    image_upload_ids: images.iter().map(|s| (*s).to_owned()).collect(),
                },
                token,
            ))
            .await
            .map(|r| r.into_inner().review.expect("review"))
    }

    /// Publishes the stay's BookingCompleted, as the booking service does.
    pub async fn completed(&self, stay: &Stay) {
        let event = BookingCompleted {
            saga_id: Uuid::now_v7().to_string(),
            booking_id: stay.booking_id.to_string(),
            user_id: stay.user_id.to_string(),
            property_id: stay.property_id.to_string(),
            room_type_id: stay.room_type_id.to_string(),
            paid_amount: None,
            completed_at: Some(staymesh_platform::convert::timestamp(stay.completed_at)),
        };
        self.producer
            .send(
                &self.settings.infra.events_topic("booking"),
                &event.booking_id,
                &event,
            )
            .await
            .expect("publish BookingCompleted");
    }

    /// Lets the booking service stand-in report the stay.
    pub fn knows(&self, stay: &Stay) {
        self.known
            .0
            .lock()
            .unwrap()
            .insert(stay.booking_id, stay.clone());
    }

    pub async fn create(
        &self,
        token: &str,
        booking: Uuid,
        rating: i32,
        text: &str,
    ) -> std::result::Result<pb::Review, tonic::Status> {
        self.api
            .clone()
            .create_review(authed(
                pb::CreateReviewRequest {
                    booking_id: booking.to_string(),
                    rating,
                    text: text.into(),
                    image_upload_ids: vec![],
                },
                token,
            ))
            .await
            .map(|r| r.into_inner().review.expect("review"))
    }

    pub async fn summary(&self, property: Uuid) -> pb::GetRatingSummaryResponse {
        self.api
            .clone()
            .get_rating_summary(tonic::Request::new(pb::GetRatingSummaryRequest {
                property_id: property.to_string(),
            }))
            .await
            .expect("summary")
            .into_inner()
    }

    pub async fn list(
        &self,
        property: Uuid,
        sort: pb::ReviewSort,
        page_size: i32,
        page_token: &str,
    ) -> pb::ListPropertyReviewsResponse {
        self.api
            .clone()
            .list_property_reviews(tonic::Request::new(pb::ListPropertyReviewsRequest {
                property_id: property.to_string(),
                sort: sort as i32,
                page_size,
                page_token: page_token.into(),
                ..Default::default()
            }))
            .await
            .expect("list")
            .into_inner()
    }
}
