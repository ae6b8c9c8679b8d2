//! The web page in a real browser: the edge serves the page built into the
//! binary, and `tests/web` (Node's test runner driving Debian's Chromium
//! through playwright-core) books, pays, cancels, waits in a waiting room,
//! claims, reviews with an image and edits a host's calendar, as a guest
//! and a host would. Screenshots land in the target directory.

use std::path::PathBuf;
use std::time::Duration;

use crate::support::*;

/// The demo properties the page searches (a few per region).
const PROPERTIES: &str = "24";

#[tokio::test]
async fn guests_and_hosts_use_the_web_page_in_a_real_browser() {
    let deployment = Deployment::new().await;
    deployment.run(&["migrate"]).await;
    deployment.run(&["seed", "--properties", PROPERTIES]).await;
    let media = std::env::temp_dir().join(format!("staymesh-web-media-{}", uuid::Uuid::now_v7()));
    let edge = deployment.edge();
    let mut command = deployment.command(&["all"]);
    // The PG sends the browser back to the page, which approves the payment.
    command
        .env(
            "STAYMESH_PAYMENT_RETURN_URL",
            format!("{edge}/payment-return"),
        )
        .env("STAYMESH_MEDIA_DIR", &media);
    let mut mesh = Process::spawn(command);
    deployment.wait_all(&mut mesh).await;

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots");
    let output = tokio::process::Command::new("node")
        .args(["--test", "--test-concurrency=1", "tests/web/"])
        .current_dir(&root)
        .env("STAYMESH_EDGE", &edge)
        .env("STAYMESH_WEB_ARTIFACTS", &artifacts)
        .env("NO_COLOR", "1")
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs (scripts/infra.sh tools installs playwright-core and chromium)");
    let alive = mesh.exited().is_none();
    mesh.sigterm().await;
    let _ = tokio::time::timeout(Duration::from_secs(30), mesh.wait()).await;
    deployment.clean_up().await;
    let _ = std::fs::remove_dir_all(&media);
    assert!(
        output.status.success(),
        "the browser tests failed (screenshots in {}):\n{}\n{}",
        artifacts.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(alive, "the mesh died:\n{}", mesh.output());
}
