//! Every service, the sandbox PG and the edge as a process of its own, the
//! way they run as pods: each can be killed (SIGKILL, as a node dies) and
//! started again while the others go on.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::*;

/// How long a process may take to become ready.
const START: Duration = Duration::from_secs(60);

/// The running processes of one deployment, by subcommand.
pub struct Pods {
    pub deployment: Deployment,
    env: Vec<(String, String)>,
    running: BTreeMap<String, Process>,
}

impl Pods {
    /// Migrates and seeds `deployment`, then starts every service, the
    /// sandbox PG and the edge, each with `env`, and waits until all are ready.
    pub async fn start(deployment: Deployment, env: &[(&str, &str)]) -> Self {
        deployment.run(&["migrate"]).await;
        deployment.run(&["seed", "--properties", "2"]).await;
        // One signing key for the deployment, so a restarted user service
        // keeps honouring the tokens it issued before.
        let keygen = deployment.run(&["keygen", "--kid", "e2e"]).await;
        let signing = keygen
            .lines()
            .find_map(|l| l.strip_prefix("STAYMESH_JWT_SIGNING_KEYS="))
            .expect("keygen prints the signing key")
            .to_owned();
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        env.push(("STAYMESH_JWT_SIGNING_KEYS".into(), signing));
        let mut pods = Self {
            deployment,
            env,
            running: BTreeMap::new(),
        };
        let services: Vec<String> = pods
            .deployment
            .services
            .iter()
            .map(|s| s.name.clone())
            .collect();
        for name in services
            .iter()
            .map(String::as_str)
            .chain(["pg-sandbox", "gateway"])
        {
            pods.spawn(name);
        }
        for name in services
            .iter()
            .map(String::as_str)
            .chain(["pg-sandbox", "gateway"])
        {
            pods.wait_ready(name).await;
        }
        pods
    }

    fn spawn(&mut self, name: &str) {
        let mut command = self.deployment.command(&[name]);
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        // A pod's name, as a StatefulSet or a restarted container keeps it:
        // the process started again takes back its partitions at once.
        command.env("STAYMESH_KAFKA_INSTANCE_ID", format!("{name}-0"));
        self.running
            .insert(name.to_owned(), Process::spawn(command));
    }

    async fn wait_ready(&mut self, name: &str) {
        let process = self.running.get_mut(name).expect("started");
        match name {
            "gateway" => wait_http(&self.deployment.edge(), process, START).await,
            "pg-sandbox" => wait_http(&self.deployment.pg(), process, START).await,
            service => wait_serving(&self.deployment.url(service), process, START).await,
        }
    }

    /// SIGKILL: no drain, no flush, nothing finished.
    pub async fn kill(&mut self, name: &str) {
        let mut process = self.running.remove(name).expect("running");
        process.sigkill().await;
    }

    /// Starts `name` again and waits until it is ready.
    pub async fn start_again(&mut self, name: &str) {
        self.spawn(name);
        self.wait_ready(name).await;
    }

    /// SIGTERM to all; each must exit cleanly. Then the databases go.
    pub async fn stop(mut self) {
        for process in self.running.values() {
            process.sigterm().await;
        }
        for (name, process) in &mut self.running {
            let status = tokio::time::timeout(Duration::from_secs(30), process.wait())
                .await
                .unwrap_or_else(|_| panic!("{name} did not drain in 30 s"));
            assert!(
                status.success(),
                "{name} exited with {status}:\n{}",
                process.output()
            );
        }
        self.deployment.clean_up().await;
    }
}
