//! `staymesh` as separate processes, the way pods run: the binary of this
//! build, and a child whose output is always read (so a chatty run never
//! fills a pipe and hangs) and kept for the failure message.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};

use staymesh_platform::InfraArgs;
use staymesh_platform::service::Descriptor;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// The `staymesh` binary of this build profile, built if needed (cargo does
/// nothing when it is up to date).
pub async fn staymesh_binary() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", "staymesh", "--bin", "staymesh"])
        .current_dir(&workspace)
        .status()
        .await
        .expect("run cargo build");
    assert!(status.success(), "cargo build -p staymesh failed");
    // A test runs from <target>/<profile>/deps/.
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target profile dir");
    let binary = profile_dir.join("staymesh");
    assert!(binary.exists(), "{} missing", binary.display());
    binary
}

/// `staymesh <service>` on the stores of `infra` (database, Redis and Kafka
/// prefixes), on free gRPC and metrics ports, trusting a throwaway token
/// key, with plain warning logs: the service as a pod of its own, for a test
/// to kill. The caller adds the service's own settings.
pub async fn service_command(service: &Descriptor, infra: &InfraArgs) -> Command {
    let key = staymesh_platform::auth::jwt::SigningKey::generate("test").public_key();
    let port = || crate::free_port().to_string();
    let name = service.env_name();
    let mut command = Command::new(staymesh_binary().await);
    command
        .arg(service.name)
        .env("STAYMESH_POSTGRES_URL", &infra.postgres_url)
        .env("STAYMESH_DATABASE_PREFIX", &infra.database_prefix)
        .env("STAYMESH_REDIS_URL", &infra.redis_url)
        .env("STAYMESH_REDIS_PREFIX", &infra.redis_prefix)
        .env("STAYMESH_KAFKA_PREFIX", &infra.kafka_prefix)
        .env(format!("STAYMESH_{name}_PORT"), port())
        .env(format!("STAYMESH_{name}_METRICS_PORT"), port())
        .env("STAYMESH_JWT_PUBLIC_KEYS", format!("{}:{}", key.kid, key.x))
        .env("STAYMESH_LOG_FORMAT", "pretty")
        .env("RUST_LOG", "warn");
    command
}

/// A child process with its output drained into memory.
#[derive(Debug)]
pub struct Process {
    pub child: Child,
    output: Arc<Mutex<String>>,
}

impl Process {
    /// Spawns `command` with stdout and stderr read in the background;
    /// the child is killed if this is dropped.
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn child process");
        let output = Arc::new(Mutex::new(String::new()));
        if let Some(out) = child.stdout.take() {
            tokio::spawn(drain(out, output.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(drain(err, output.clone()));
        }
        Self { child, output }
    }

    /// Everything it printed so far (stdout and stderr interleaved by line).
    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Its exit status if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("poll child")
    }

    /// Sends SIGTERM, as Kubernetes does before it removes a pod.
    pub async fn sigterm(&self) {
        self.signal("-TERM").await;
    }

    /// SIGKILL: no clean-up, no flush, as when a node dies.
    pub async fn sigkill(&mut self) {
        self.signal("-KILL").await;
        self.child.wait().await.expect("reap killed child");
    }

    async fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("running child").to_string();
        let status = Command::new("kill")
            .args([signal, &pid])
            .status()
            .await
            .expect("kill");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Waits for it to exit.
    pub async fn wait(&mut self) -> ExitStatus {
        self.child.wait().await.expect("wait for child")
    }
}

impl Drop for Process {
    /// A test failing while the child runs shows the child's last warnings
    /// and errors: why a service answered 503 is in its log, not the test's.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let output = self.output();
        let warnings: Vec<&str> = output
            .lines()
            .filter(|line| line.contains("WARN") || line.contains("ERROR"))
            .collect();
        let tail = &warnings[warnings.len().saturating_sub(60)..];
        eprintln!(
            "--- the child's last {} warnings and errors (of {}) ---\n{}",
            tail.len(),
            warnings.len(),
            tail.join("\n")
        );
    }
}

async fn drain(stream: impl AsyncRead + Unpin, into: Arc<Mutex<String>>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut text = into.lock().unwrap_or_else(|e| e.into_inner());
        text.push_str(&line);
        text.push('\n');
    }
}
