//! A Kafka-protocol broker of a test's own (Tansu with SQLite storage), so a
//! test can kill and restart it without disturbing the others; its data
//! (offsets included) survives a restart.

use std::path::PathBuf;
use std::time::Duration;

/// A broker process on a free port of 127.0.0.1.
#[derive(Debug)]
pub struct Broker {
    pub port: u16,
    dir: PathBuf,
    child: Option<tokio::process::Child>,
}

impl Broker {
    pub async fn start() -> Self {
        // Not an ephemeral port: while the broker is down, an outgoing
        // connection could take it.
        let port = crate::free_port();
        let dir = std::env::temp_dir().join(format!("staymesh-tansu-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("broker dir");
        let mut broker = Self {
            port,
            dir,
            child: None,
        };
        broker.restart().await;
        broker
    }

    /// Its bootstrap address.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the broker process (again) and waits until it accepts connections.
    pub async fn restart(&mut self) {
        self.kill().await;
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let child = tokio::process::Command::new("tansu")
            .args([
                "broker",
                "--cluster-id",
                "staymesh-test",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "sqlite://broker.db",
            ])
            .current_dir(&self.dir)
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("tansu on PATH (scripts/infra.sh installs it)");
        self.child = Some(child);
        let address = self.address();
        crate::eventually(Duration::from_secs(30), "broker listening", || {
            let address = address.clone();
            async move { tokio::net::TcpStream::connect(address).await.is_ok() }
        })
        .await;
    }

    /// Kills the broker (SIGKILL: no clean shutdown).
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
