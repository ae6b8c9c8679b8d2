//! Runs parts of the mesh in this process: one service (a pod), the edge, or
//! all of them (`staymesh all`), each with its metrics endpoint, until a
//! shutdown signal. Which services exist comes from the one list.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::ArgMatches;
use staymesh_platform::Shutdown;
use staymesh_platform::auth::TokenVerifier;
use staymesh_platform::auth::jwks;
use staymesh_platform::service::{Descriptor, Launch, Prepared, ServiceUrls};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::cli::{Cli, Endpoint};
use crate::services::SERVICES;

/// Creates and migrates every service's database.
pub(crate) async fn migrate(cli: &Cli) -> anyhow::Result<()> {
    for service in SERVICES {
        service
            .migrate(&cli.infra)
            .await
            .with_context(|| format!("{} database", service.name))?;
        println!("migrated {}", cli.infra.database_for(service.name));
    }
    Ok(())
}

/// Where every service is reached from this process: the ports this process
/// binds for its own services when it runs them all, the configured URL
/// otherwise.
fn urls(matches: &ArgMatches, local: &[&Descriptor], everything: bool) -> ServiceUrls {
    let mut urls = ServiceUrls::default();
    for service in SERVICES {
        let endpoint = Endpoint::of(service, matches);
        let url = if everything && local.iter().any(|d| d.name == service.name) {
            format!("http://127.0.0.1:{}", endpoint.port)
        } else {
            endpoint.url
        };
        urls.insert(service.name, url);
    }
    urls
}

/// How the services of this process verify access tokens: with the token
/// issuer in the process, its own keys; otherwise fixed keys from the
/// configuration or the issuer's JWKS, kept fresh.
fn token_verifier(
    cli: &Cli,
    prepared: &[Box<dyn Prepared>],
    urls: &ServiceUrls,
    shutdown: &Shutdown,
) -> anyhow::Result<Arc<dyn TokenVerifier>> {
    let local = prepared.iter().find_map(|p| p.token_verifier());
    Ok(match local {
        Some(verifier) if cli.auth.jwt_public_keys.trim().is_empty() => verifier,
        _ => {
            let issuer = urls.get(jwks::ISSUER)?;
            jwks::verifier(&cli.auth, issuer, shutdown).context("token verification keys")?
        }
    })
}

/// What besides `services` a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// The services alone (a pod).
    Services,
    /// The HTTP edge.
    Edge,
    /// The sandbox PG.
    PgSandbox,
    /// The services, the edge and the sandbox PG (`staymesh all`).
    All,
}

/// Serves `services` (and the edge and the sandbox PG as `part` says) until
/// `shutdown`; if one part fails, the others are stopped.
pub(crate) async fn serve(
    cli: &Cli,
    matches: &ArgMatches,
    services: &[&'static Descriptor],
    part: Part,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let everything = services.len() > 1;
    let edge = matches!(part, Part::Edge | Part::All);
    // Every service reads its settings before anything listens, so a bad
    // value stops start-up with its name.
    let prepared = services
        .iter()
        .map(|service| {
            (service.prepare)(matches)
                .map_err(|e| anyhow::anyhow!("{} settings: {e}", service.name))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let urls = urls(matches, services, everything);
    let verifier = if prepared.is_empty() {
        None
    } else {
        Some(token_verifier(cli, &prepared, &urls, &shutdown)?)
    };

    let mut tasks = JoinSet::new();
    for (service, ready) in services.iter().zip(prepared) {
        let endpoint = Endpoint::of(service, matches);
        let listener = bind(cli.server.addr(endpoint.port)).await?;
        metrics(cli, endpoint.metrics_port, &shutdown).await?;
        let launch = Launch {
            infra: cli.infra.clone(),
            server: cli.server.clone(),
            listener,
            shutdown: shutdown.clone(),
            token_verifier: verifier.clone().context("a token verifier")?,
            urls: urls.clone(),
        };
        let name = service.name;
        tasks.spawn(async move {
            ready
                .run(launch)
                .await
                .map_err(|e| anyhow::anyhow!("{name} service: {e}"))
        });
        print_service(cli, service, &endpoint);
    }
    if edge {
        let mut backends = staymesh_gateway::Backends::new();
        for service in SERVICES {
            let url = urls.get(service.name)?;
            let channel = tonic::transport::Endpoint::from_shared(url.to_owned())
                .with_context(|| format!("the {} URL `{url}`", service.name))?
                .connect_lazy();
            for grpc in service.edge_services {
                backends.insert(*grpc, channel.clone());
            }
        }
        let options = staymesh_gateway::GatewayOptions::default()
            .with_deadline(cli.server.request_timeout)
            .with_media(staymesh_gateway::media::MediaStore {
                dir: cli.media.media_dir.clone(),
                secret: cli.media.media_secret.clone(),
            });
        let router = staymesh_gateway::router(backends, options)?;
        let listener = bind(cli.server.addr(cli.edge.http_port)).await?;
        metrics(cli, cli.edge.gateway_metrics_port, &shutdown).await?;
        let stop = shutdown.wait_owned();
        tasks.spawn(async move {
            staymesh_gateway::serve(listener, router, stop)
                .await
                .context("HTTP gateway")
        });
        print_edge(cli);
    }

    if matches!(part, Part::PgSandbox | Part::All) {
        let listener = bind(cli.server.addr(cli.pg_sandbox.pg_sandbox_port)).await?;
        let run = staymesh_pg_sandbox::run(
            cli.infra.clone(),
            cli.pg_sandbox.clone(),
            listener,
            shutdown.clone(),
        );
        tasks.spawn(async move { run.await.context("sandbox PG") });
        print_pg_sandbox(cli);
    }

    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        let result = joined
            .context("a part of the mesh panicked")
            .and_then(|r| r);
        if let Err(error) = result {
            tracing::error!(error = format!("{error:#}"), "stopping the mesh");
            shutdown.trigger();
            failure.get_or_insert(error);
        }
    }
    match failure {
        Some(error) => Err(error),
        None => {
            tracing::info!("stopped cleanly");
            Ok(())
        }
    }
}

/// `staymesh services`: each service's ports, URL and gRPC services.
pub(crate) fn list(cli: &Cli, matches: &ArgMatches, names_only: bool) {
    for service in SERVICES {
        if names_only {
            println!("{}", service.name);
        } else {
            print_service(cli, service, &Endpoint::of(service, matches));
        }
    }
    if !names_only {
        print_edge(cli);
    }
}

fn print_pg_sandbox(cli: &Cli) {
    let host = cli.server.bind_host;
    println!(
        "{:<14} http://{host}:{}  (a PortOne-style PG for development: checkout pages, signed webhooks)",
        "sandbox PG", cli.pg_sandbox.pg_sandbox_port
    );
}

fn print_edge(cli: &Cli) {
    let host = cli.server.bind_host;
    println!(
        "{:<14} http://{host}:{}  (openapi: /openapi.json)  metrics http://{host}:{}/metrics",
        "HTTP edge", cli.edge.http_port, cli.edge.gateway_metrics_port
    );
}

fn print_service(cli: &Cli, service: &Descriptor, endpoint: &Endpoint) {
    let host = cli.server.bind_host;
    println!(
        "{:<14} grpc://{host}:{}  metrics http://{host}:{}/metrics  {}",
        service.name,
        endpoint.port,
        endpoint.metrics_port,
        service.grpc_services.join(" ")
    );
}

async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
}

async fn metrics(cli: &Cli, port: u16, shutdown: &Shutdown) -> anyhow::Result<()> {
    let addr = cli.server.addr(port);
    staymesh_platform::metrics_http::serve(addr, shutdown.clone())
        .await
        .with_context(|| format!("cannot serve metrics on {addr}"))?;
    Ok(())
}
