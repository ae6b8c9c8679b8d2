//! `staymesh migrate`, `seed` and `all` as a user runs them: gRPC with
//! reflection, the HTTP edge, and a clean exit on SIGTERM.

use std::time::Duration;

use chrono::Datelike;

use crate::support::*;

#[tokio::test]
async fn the_mesh_starts_serves_grpc_and_http_and_drains_on_sigterm() {
    let deployment = Deployment::new().await;
    let migrated = deployment.run(&["migrate"]).await;
    assert!(migrated.contains("migrated"), "{migrated}");
    let seeded = deployment.run(&["seed", "--properties", "40"]).await;
    assert!(seeded.contains("40 properties (40 new)"), "{seeded}");
    let again = deployment.run(&["seed", "--properties", "40"]).await;
    assert!(
        again.contains("(0 new)"),
        "seeding twice adds nothing: {again}"
    );

    let mut mesh = deployment.spawn(&["all"]);
    // Every service of the list answers health, and the edge is ready.
    deployment.wait_all(&mut mesh).await;
    let readyz = format!("{}/readyz", deployment.edge());
    staymesh_testkit::eventually(Duration::from_secs(30), "/readyz 200", || async {
        http_get(&readyz).await.0 == 200
    })
    .await;
    let grpc = format!("127.0.0.1:{}", deployment.port("accommodation"));

    // grpcurl needs no proto files: reflection serves the contracts.
    let services = grpcurl(&["-plaintext", &grpc, "list"]).await;
    for service in [
        "staymesh.accommodation.v1.AccommodationService",
        "staymesh.accommodation.v1.InventoryService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            services.lines().any(|l| l == service),
            "{service} missing from:\n{services}"
        );
    }
    assert!(
        !services.contains("staymesh.booking") && !services.contains("staymesh.user"),
        "only served services are listed:\n{services}"
    );
    let user_grpc = format!("127.0.0.1:{}", deployment.port("user"));
    let services = grpcurl(&["-plaintext", &user_grpc, "list"]).await;
    assert!(
        services
            .lines()
            .any(|l| l == "staymesh.user.v1.UserService"),
        "{services}"
    );

    let check_in = chrono::Utc::now().date_naive() + chrono::Duration::days(14);
    let check_out = check_in + chrono::Duration::days(2);
    let request = serde_json::json!({
        "region": "제주",
        "checkIn": {"year": check_in.year(), "month": check_in.month(), "day": check_in.day()},
        "checkOut": {"year": check_out.year(), "month": check_out.month(), "day": check_out.day()},
        "guests": 2,
        "sort": "SEARCH_SORT_PRICE_ASC"
    })
    .to_string();
    let found = grpcurl(&[
        "-plaintext",
        "-d",
        &request,
        &grpc,
        "staymesh.accommodation.v1.AccommodationService/SearchAvailability",
    ])
    .await;
    let found: serde_json::Value = serde_json::from_str(&found).expect("grpcurl JSON");
    let results = found["results"].as_array().expect("results");
    assert!(
        !results.is_empty(),
        "seeded 제주 properties are found: {found}"
    );
    assert!(results.iter().all(|r| r["region"] == "제주"));
    let property_id = results[0]["propertyId"].as_str().expect("id").to_owned();

    // The same through the HTTP edge, at the annotated paths.
    let edge = format!("http://127.0.0.1:{}", deployment.http_port);
    let (status, body) = http_get(&format!("{edge}/healthz")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = http_get(&format!(
        "{edge}/v1/search?region=%EC%A0%9C%EC%A3%BC&check_in={check_in}&check_out={check_out}&guests=2&sort=SEARCH_SORT_PRICE_ASC"
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let searched: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(searched["results"][0]["propertyId"], property_id.as_str());
    let (status, body) = http_get(&format!("{edge}/v1/properties/{property_id}")).await;
    assert_eq!(status, 200, "{body}");
    let detail: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(detail["property"]["region"], "제주");
    assert!(
        detail["property"]["roomTypes"]
            .as_array()
            .is_some_and(|r| (2..=4).contains(&r.len()))
    );
    let (status, body) = http_get(&format!(
        "{edge}/v1/search?check_in={check_out}&check_out={check_in}&guests=2"
    ))
    .await;
    assert_eq!(status, 400, "{body}");
    let error: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(error["error"]["details"][0]["field"], "check_out", "{body}");
    let (status, body) = http_get(&format!("{edge}/openapi.json")).await;
    assert_eq!(status, 200);
    assert!(body.contains("/v1/properties/{property_id}"));

    // A sale through the edge: the seeded event is listed, a guest claims once.
    let (status, body) = http_get(&format!("{edge}/v1/issuance-events")).await;
    assert_eq!(status, 200, "{body}");
    let listed: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let event_id = listed["events"][0]["eventId"]
        .as_str()
        .expect("an open event")
        .to_owned();
    assert_eq!(listed["events"][0]["state"], "ISSUANCE_EVENT_STATE_OPEN");
    let token = login(&edge, "guest@staymesh.dev", "staymesh-guest-1").await;
    let claim_url = format!("{edge}/v1/issuance-events/{event_id}:claim");
    let claimed = http(
        hyper::Method::POST,
        &claim_url,
        Some(&token),
        Some(serde_json::json!({})),
    )
    .await;
    assert_eq!(claimed.status, 200, "{}", claimed.body);
    assert_eq!(claimed.json()["result"], "CLAIM_RESULT_CLAIMED");
    let again = http(
        hyper::Method::POST,
        &claim_url,
        Some(&token),
        Some(serde_json::json!({})),
    )
    .await;
    assert_eq!(again.json()["result"], "CLAIM_RESULT_ALREADY_CLAIMED");
    let anonymous = http(
        hyper::Method::POST,
        &claim_url,
        None,
        Some(serde_json::json!({})),
    )
    .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mine = http(
            hyper::Method::GET,
            &format!("{edge}/v1/me/coupons"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(mine.status, 200, "{}", mine.body);
        if mine.json()["userCoupons"]
            .as_array()
            .is_some_and(|c| c.len() == 1)
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "claimed coupon never listed: {}",
            mine.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Points through the edge: the seeded lots, an admin's earn checked
    // against the user service, and an unknown user named as the bad field.
    let points = |method, path: &str, who: Option<&str>, body| {
        let url = format!("{edge}{path}");
        let who = who.map(str::to_owned);
        async move { http(method, &url, who.as_deref(), body).await }
    };
    let balance = points(hyper::Method::GET, "/v1/me/points", Some(&token), None).await;
    assert_eq!(balance.status, 200, "{}", balance.body);
    assert_eq!(
        balance.json()["balance"],
        "10000",
        "the seeded lots: {}",
        balance.body
    );
    assert_eq!(balance.json()["expiringSoon"], "5000", "{}", balance.body);
    let admin = login(&edge, "admin@staymesh.dev", "staymesh-admin-1").await;
    let guest_id = staymesh_platform::demo::GUEST_ID;
    let earn = serde_json::json!({"amount": 1500, "reason": "Winter promotion", "idempotencyKey": "e2e-1"});
    let path = format!("/v1/users/{guest_id}/points:earn");
    let earned = points(hyper::Method::POST, &path, Some(&admin), Some(earn.clone())).await;
    assert_eq!(earned.status, 200, "{}", earned.body);
    assert_eq!(
        earned.json()["entry"]["balanceAfter"],
        "11500",
        "{}",
        earned.body
    );
    let history = points(
        hyper::Method::GET,
        "/v1/me/points/history?page_size=2",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(history.status, 200, "{}", history.body);
    assert_eq!(
        history.json()["entries"][0]["description"],
        "Winter promotion",
        "{}",
        history.body
    );
    assert!(
        !history.json()["nextPageToken"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );
    let stranger = format!("/v1/users/{}/points:earn", uuid::Uuid::now_v7());
    let unknown = points(
        hyper::Method::POST,
        &stranger,
        Some(&admin),
        Some(earn.clone()),
    )
    .await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert_eq!(
        unknown.json()["error"]["details"][0]["field"],
        "user_id",
        "{}",
        unknown.body
    );
    let by_guest = points(hyper::Method::POST, &path, Some(&token), Some(earn)).await;
    assert_eq!(by_guest.status, 403, "only admins earn: {}", by_guest.body);

    // Prometheus metrics count the RPCs served.
    let (status, metrics) = http_get(&format!(
        "http://127.0.0.1:{}/metrics",
        deployment.metrics_port("accommodation")
    ))
    .await;
    assert_eq!(status, 200);
    assert!(metrics.contains("grpc_server_requests_total"), "{metrics}");

    // SIGTERM while requests are in flight: every one of them completes
    // before the process exits 0.
    let in_flight = in_flight_reads(&deployment, 600).await;
    mesh.sigterm().await;
    let answers = futures::future::join_all(in_flight).await;
    let failed: Vec<_> = answers
        .iter()
        .filter_map(|a| a.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} in-flight requests failed during the drain: {:?}",
        failed.len(),
        answers.len(),
        &failed[..failed.len().min(3)]
    );
    let exit = tokio::time::timeout(Duration::from_secs(20), mesh.wait())
        .await
        .expect("exits within the drain timeout");
    assert!(exit.success(), "clean exit on SIGTERM: {exit}");
    deployment.clean_up().await;
}

/// Starts `count` ListHostProperties calls at once (pages of 100 read from
/// Postgres: searches answer from memory too fast to be caught running) and
/// returns them once the accommodation service has received every one and
/// some are still running (its own `grpc_server_requests_started_total` and
/// `_in_flight` say so).
async fn in_flight_reads(
    deployment: &Deployment,
    count: usize,
) -> Vec<tokio::task::JoinHandle<Result<(), tonic::Status>>> {
    use staymesh_proto::accommodation as pb;
    use staymesh_proto::accommodation::accommodation_service_client::AccommodationServiceClient;
    let metrics_url = format!(
        "http://127.0.0.1:{}/metrics",
        deployment.metrics_port("accommodation")
    );
    let method = "ListHostProperties";
    let before = metric_sum(&metrics_url, "grpc_server_requests_started_total", method).await;
    let channel = tonic::transport::Endpoint::from_shared(deployment.url("accommodation"))
        .expect("url")
        .connect()
        .await
        .expect("connect");
    let calls: Vec<_> = (0..count)
        .map(|_| {
            let mut client = AccommodationServiceClient::new(channel.clone());
            let request = pb::ListHostPropertiesRequest {
                host_id: staymesh_platform::demo::HOST_ID.to_string(),
                page_size: 100,
                page_token: String::new(),
            };
            tokio::spawn(async move { client.list_host_properties(request).await.map(|_| ()) })
        })
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let started = metric_sum(&metrics_url, "grpc_server_requests_started_total", method).await;
        let running = metric_sum(&metrics_url, "grpc_server_requests_in_flight", method).await;
        if started - before >= count as f64 {
            assert!(
                running > 0.0,
                "all {count} reads finished before SIGTERM could catch them in flight"
            );
            return calls;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the service received {} of {count} reads",
            started - before
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The sum of a Prometheus metric's samples whose labels mention `method`.
async fn metric_sum(url: &str, metric: &str, method: &str) -> f64 {
    let (status, text) = http_get(url).await;
    assert_eq!(status, 200);
    text.lines()
        .filter(|l| l.starts_with(metric) && l.contains(method))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn a_bad_setting_fails_start_up_with_one_clear_line() {
    let deployment = Deployment::new().await;
    let output = deployment
        .command(&["all"])
        .env("STAYMESH_REQUEST_TIMEOUT", "soon")
        .output()
        .await
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("soon"), "{stderr}");
}

#[tokio::test]
async fn readme_lists_every_setting_the_binary_reads() {
    let deployment = Deployment::new().await;
    let table = deployment.run(&["config", "--markdown"]).await;
    let readme_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md");
    let start =
        "<!-- generated by `staymesh config --markdown`; a test fails when this differs -->\n";
    let end = "<!-- end of generated configuration -->";
    let from = readme
        .find(start)
        .expect("README.md marks its configuration table")
        + start.len();
    let to = readme[from..].find(end).expect("end marker") + from;
    assert_eq!(
        &readme[from..to],
        table,
        "README.md's configuration table is stale: paste `staymesh config --markdown` between its markers"
    );
}

#[tokio::test]
async fn every_listed_service_is_a_subcommand_with_its_port_settings() {
    let deployment = Deployment::new().await;
    let help = deployment.run(&["--help"]).await;
    let config = deployment.run(&["config"]).await;
    for service in &deployment.services {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&service.name)),
            "`staymesh {}` missing from:\n{help}",
            service.name
        );
        let env = service.name.to_ascii_uppercase();
        for suffix in ["PORT", "METRICS_PORT", "URL"] {
            let variable = format!("STAYMESH_{env}_{suffix}");
            assert!(config.contains(&variable), "{variable} missing:\n{config}");
        }
    }
}
