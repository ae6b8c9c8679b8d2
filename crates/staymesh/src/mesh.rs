//! Runs parts of the mesh in this process: one service (a pod) or all of them
//! (`staymesh all`), each with its metrics endpoint, until a shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use staymesh_platform::Shutdown;
use staymesh_platform::auth::RejectAllTokens;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::cli::Cli;

/// A part of the mesh this binary can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Accommodation,
    Gateway,
}

impl Part {
    /// Everything that exists so far.
    pub(crate) const ALL: &'static [Part] = &[Part::Accommodation, Part::Gateway];
}

/// Creates and migrates every service's database.
pub(crate) async fn migrate(cli: &Cli) -> anyhow::Result<()> {
    staymesh_accommodation::connect(&cli.infra)
        .await
        .context("accommodation database")?;
    println!(
        "migrated {}",
        cli.infra.database_for(staymesh_accommodation::SERVICE)
    );
    Ok(())
}

/// Serves `parts` until `shutdown`; if one part fails, the others are stopped.
pub(crate) async fn serve(cli: &Cli, parts: &[Part], shutdown: Shutdown) -> anyhow::Result<()> {
    let mut tasks = JoinSet::new();
    let everything = parts.len() > 1;
    for part in parts {
        match part {
            Part::Accommodation => {
                let port = cli.ports.accommodation_port;
                let listener = bind(cli.server.addr(port)).await?;
                metrics(cli, cli.ports.accommodation_metrics(), &shutdown).await?;
                let settings = staymesh_accommodation::Settings {
                    infra: cli.infra.clone(),
                    server: cli.server.clone(),
                    token_verifier: Arc::new(RejectAllTokens),
                    redis_prefix: cli.infra.redis_prefix_for(staymesh_accommodation::SERVICE),
                };
                let shutdown = shutdown.clone();
                tasks.spawn(async move {
                    staymesh_accommodation::run(settings, listener, shutdown)
                        .await
                        .context("accommodation service")
                });
            }
            Part::Gateway => {
                // In one process the edge talks to the ports it just bound.
                let accommodation_url = if everything {
                    format!("http://127.0.0.1:{}", cli.ports.accommodation_port)
                } else {
                    cli.ports.accommodation_url.clone()
                };
                let channel = tonic::transport::Endpoint::from_shared(accommodation_url.clone())
                    .with_context(|| format!("STAYMESH_ACCOMMODATION_URL `{accommodation_url}`"))?
                    .connect_lazy();
                let backends = staymesh_gateway::Backends::new()
                    .with("staymesh.accommodation.v1.AccommodationService", channel);
                let options = staymesh_gateway::GatewayOptions::default()
                    .with_deadline(cli.server.request_timeout);
                let router = staymesh_gateway::router(backends, options)?;
                let listener = bind(cli.server.addr(cli.ports.http_port)).await?;
                metrics(cli, cli.ports.gateway_metrics_port, &shutdown).await?;
                let stop = shutdown.wait_owned();
                tasks.spawn(async move {
                    staymesh_gateway::serve(listener, router, stop)
                        .await
                        .context("HTTP gateway")
                });
            }
        }
    }
    print_urls(cli, parts);

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

fn print_urls(cli: &Cli, parts: &[Part]) {
    let host = cli.server.bind_host;
    for part in parts {
        match part {
            Part::Accommodation => {
                let port = cli.ports.accommodation_port;
                println!(
                    "accommodation  gRPC {host}:{port}  metrics http://{host}:{}/metrics",
                    cli.ports.accommodation_metrics()
                );
            }
            Part::Gateway => println!(
                "HTTP edge      http://{host}:{}  (openapi: /openapi.json)  metrics http://{host}:{}/metrics",
                cli.ports.http_port, cli.ports.gateway_metrics_port
            ),
        }
    }
}
