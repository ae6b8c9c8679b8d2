//! Configuration shared by every service, read from `STAYMESH_*` environment
//! variables (or flags) with defaults that work against the local
//! infrastructure that `make up` starts.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Where the shared infrastructure is.
#[derive(Debug, Clone, clap::Args)]
pub struct InfraArgs {
    /// Postgres URL of a database the services can connect to for administration;
    /// each service creates and uses its own database next to it.
    #[arg(
        long,
        env = "STAYMESH_POSTGRES_URL",
        default_value = "postgres://staymesh:staymesh@127.0.0.1:5432/postgres"
    )]
    pub postgres_url: String,

    /// Prefix of each service's database name: `<prefix>_<service>`.
    #[arg(long, env = "STAYMESH_DATABASE_PREFIX", default_value = "staymesh", value_parser = parse_identifier)]
    pub database_prefix: String,

    /// Postgres connections per service.
    #[arg(long, env = "STAYMESH_POSTGRES_POOL", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub postgres_pool: u32,

    /// Redis URL.
    #[arg(
        long,
        env = "STAYMESH_REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis_url: String,

    /// Prefix of every Redis key: `<prefix>:<service>:...` (several
    /// deployments or test runs can share one Redis).
    #[arg(long, env = "STAYMESH_REDIS_PREFIX", default_value = "staymesh")]
    pub redis_prefix: String,

    /// Redis connections per service.
    #[arg(long, env = "STAYMESH_REDIS_POOL", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub redis_pool: u32,

    /// Kafka bootstrap servers, comma separated.
    #[arg(long, env = "STAYMESH_KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    pub kafka_brokers: String,

    /// First part of every Kafka topic and consumer group name
    /// (`<prefix>.<domain>.events`), so deployments can share a broker.
    #[arg(long, env = "STAYMESH_KAFKA_PREFIX", default_value = "staymesh", value_parser = parse_identifier)]
    pub kafka_prefix: String,

    /// This replica's static consumer-group membership (Kafka's
    /// `group.instance.id`), e.g. its pod name; unique among a service's
    /// replicas. A replica restarted after a crash then takes its partitions
    /// back at once, where a dynamic member's partitions wait for the dead
    /// member's session to time out (and Tansu 0.6 may never reassign them).
    /// Unset: dynamic membership, which hands partitions over at once on a
    /// clean shutdown.
    #[arg(long, env = "STAYMESH_KAFKA_INSTANCE_ID", value_parser = parse_instance_id)]
    pub kafka_instance_id: Option<String>,
}

impl InfraArgs {
    /// The Redis key prefix of a service.
    pub fn redis_prefix_for(&self, service: &str) -> String {
        format!("{}:{}", self.redis_prefix, service)
    }

    /// The one naming function of topics: `<prefix>.<domain>.<kind>`, e.g.
    /// `staymesh.coupon.events`, `staymesh.point.commands`,
    /// `staymesh.saga.replies`.
    pub fn topic(&self, domain: &str, kind: &str) -> String {
        format!("{}.{domain}.{kind}", self.kafka_prefix)
    }

    /// A domain's events topic: facts it announces.
    pub fn events_topic(&self, domain: &str) -> String {
        self.topic(domain, "events")
    }

    /// A domain's commands topic: what the saga asks it to do.
    pub fn commands_topic(&self, domain: &str) -> String {
        self.topic(domain, "commands")
    }

    /// A consumer group name: `<prefix>-<name>`.
    pub fn consumer_group(&self, name: &str) -> String {
        format!("{}-{name}", self.kafka_prefix)
    }

    /// The database name of a service.
    pub fn database_for(&self, service: &str) -> String {
        format!("{}_{}", self.database_prefix, service)
    }
}

/// How a gRPC server listens and protects itself.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Address the servers bind: 127.0.0.1 locally, 0.0.0.0 in a pod.
    #[arg(long, env = "STAYMESH_BIND_HOST", default_value = "127.0.0.1")]
    pub bind_host: IpAddr,

    /// Longest time one RPC may take before it fails with DEADLINE_EXCEEDED / CANCELLED.
    #[arg(long, env = "STAYMESH_REQUEST_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// RPCs served at once per server; more wait in line.
    #[arg(long, env = "STAYMESH_CONCURRENCY_LIMIT", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency_limit: u32,

    /// How long in-flight RPCs may finish after SIGTERM; keep it below the pod's grace period.
    #[arg(long, env = "STAYMESH_DRAIN_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub drain_timeout: Duration,
}

impl ServerArgs {
    /// The socket address for a port on the bind host.
    pub fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.bind_host, port)
    }
}

/// Parses `250ms`, `10s`, `2m`, `1h`, `14d` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 250ms, 10s, 2m or 14d"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        "d" => Ok(Duration::from_secs(n * 86_400)),
        _ => Err(format!(
            "`{text}` has unknown unit `{unit}` (use ms, s, m, h or d)"
        )),
    }
}

/// A Kafka group instance id: what a pod name may hold, at most 249 bytes.
fn parse_instance_id(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 249
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` must be letters, digits, '.', '_' and '-' (at most 249)"
        ))
    }
}

/// Accepts names safe to splice into SQL as identifiers: `[a-z_][a-z0-9_]*`, at most 40 bytes.
pub fn parse_identifier(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 40
        && text.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` must be lowercase letters, digits and _ (at most 40)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("ten").is_err());
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("14d"), Ok(Duration::from_secs(14 * 86_400)));
        assert!(parse_duration("5w").is_err());
    }

    #[test]
    fn identifiers_reject_sql_metacharacters() {
        assert!(parse_identifier("staymesh_test_1").is_ok());
        assert!(parse_identifier("Staymesh").is_err());
        assert!(parse_identifier("a;drop").is_err());
        assert!(parse_identifier("").is_err());
    }
}
