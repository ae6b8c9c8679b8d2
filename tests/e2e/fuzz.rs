//! The contract states its rules: schemathesis reads the edge's `/openapi.json`,
//! generates requests the document calls valid and requests it calls invalid, and
//! sends them to the whole mesh with a guest's, a host's and an admin's token.
//! No answer may be a 5xx, no valid request may be refused as INVALID_ARGUMENT
//! (tests/fuzz/checks.py), and no invalid one may be accepted.

use std::path::PathBuf;
use std::time::Duration;

use crate::support::*;

/// Test cases per operation and phase; bounded so the run stays within minutes.
const EXAMPLES: &str = "12";
/// A fixed seed makes a CI failure reproducible; `STAYMESH_FUZZ_SEED` explores others.
const SEED: &str = "20261203";

const CHECKS: &str =
    "not_a_server_error,negative_data_rejection,valid_requests_are_not_refused_as_invalid";

#[tokio::test]
async fn the_document_and_the_services_agree_on_generated_requests() {
    let deployment = Deployment::new().await;
    deployment.run(&["migrate"]).await;
    deployment.run(&["seed", "--properties", "3"]).await;
    let mut mesh = deployment.spawn(&["all"]);
    deployment.wait_all(&mut mesh).await;
    let edge = deployment.edge();

    let checks = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/checks.py");
    let seed = std::env::var("STAYMESH_FUZZ_SEED").unwrap_or_else(|_| SEED.to_owned());
    let mut failures = Vec::new();
    for (email, password) in [
        ("guest@staymesh.dev", "staymesh-guest-1"),
        ("host@staymesh.dev", "staymesh-host-1"),
        ("admin@staymesh.dev", "staymesh-admin-1"),
    ] {
        let token = login(&edge, email, password).await;
        let output = tokio::process::Command::new("schemathesis")
            .args([
                "run",
                &format!("{edge}/openapi.json"),
                "--checks",
                CHECKS,
                "--header",
                &format!("Authorization: Bearer {token}"),
                "--max-examples",
                EXAMPLES,
                "--seed",
                &seed,
                "--phases",
                "examples,coverage,fuzzing",
                // One worker: hypothesis parses lambdas' source with `ast`,
                // which CPython 3.11 does not make safe across threads.
                "--workers",
                "1",
                "--request-timeout",
                "10",
                "--warnings",
                "off",
            ])
            .env("SCHEMATHESIS_HOOKS", &checks)
            // Its cache and reports stay out of the source tree.
            .current_dir(env!("CARGO_TARGET_TMPDIR"))
            .env("NO_COLOR", "1")
            .kill_on_drop(true)
            .output()
            .await
            .expect("schemathesis runs (scripts/infra.sh tools installs it)");
        if !output.status.success() {
            failures.push(format!(
                "as {email} (seed {seed}):\n{}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        assert!(mesh.exited().is_none(), "the mesh died:\n{}", mesh.output());
    }
    mesh.sigterm().await;
    let status = tokio::time::timeout(Duration::from_secs(30), mesh.wait())
        .await
        .expect("exits within the drain timeout");
    deployment.clean_up().await;
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(status.success(), "{}", mesh.output());
}
