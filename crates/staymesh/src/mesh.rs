//! Runs parts of the mesh in this process: one service (a pod) or all of them
//! (`staymesh all`), each with its metrics endpoint, until a shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use staymesh_platform::Shutdown;
use staymesh_platform::auth::TokenVerifier;
use staymesh_platform::auth::jwks;
use staymesh_user::Keyring;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::cli::Cli;

/// A part of the mesh this binary can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    User,
    Accommodation,
    Coupon,
    Gateway,
}

impl Part {
    /// Everything that exists so far.
    pub(crate) const ALL: &'static [Part] =
        &[Part::User, Part::Accommodation, Part::Coupon, Part::Gateway];
}

/// Creates and migrates every service's database.
pub(crate) async fn migrate(cli: &Cli) -> anyhow::Result<()> {
    staymesh_user::connect(&cli.infra)
        .await
        .context("user database")?;
    println!(
        "migrated {}",
        cli.infra.database_for(staymesh_user::SERVICE)
    );
    staymesh_accommodation::connect(&cli.infra)
        .await
        .context("accommodation database")?;
    println!(
        "migrated {}",
        cli.infra.database_for(staymesh_accommodation::SERVICE)
    );
    staymesh_coupon::connect(&cli.infra)
        .await
        .context("coupon database")?;
    println!(
        "migrated {}",
        cli.infra.database_for(staymesh_coupon::SERVICE)
    );
    Ok(())
}

/// How the services of this process verify access tokens: with the user
/// service in the process, its own keys; otherwise fixed keys from the
/// configuration or the user service's JWKS, kept fresh.
fn token_verifier(
    cli: &Cli,
    keyring: Option<&Keyring>,
    shutdown: &Shutdown,
) -> anyhow::Result<Arc<dyn TokenVerifier>> {
    Ok(match keyring {
        Some(keyring) if cli.auth.jwt_public_keys.trim().is_empty() => keyring.verifier(),
        _ => jwks::verifier(&cli.auth, shutdown).context("token verification keys")?,
    })
}

/// Where the edge reaches a service: in one process the port just bound,
/// otherwise the configured URL.
fn backend(
    everything: bool,
    port: u16,
    url: &str,
    service: &str,
) -> anyhow::Result<tonic::transport::Channel> {
    let url = if everything {
        format!("http://127.0.0.1:{port}")
    } else {
        url.to_owned()
    };
    Ok(tonic::transport::Endpoint::from_shared(url.clone())
        .with_context(|| format!("the {service} URL `{url}`"))?
        .connect_lazy())
}

/// Serves `parts` until `shutdown`; if one part fails, the others are stopped.
pub(crate) async fn serve(cli: &Cli, parts: &[Part], shutdown: Shutdown) -> anyhow::Result<()> {
    let mut tasks = JoinSet::new();
    let everything = parts.len() > 1;
    let keyring = if parts.contains(&Part::User) {
        Some(
            Keyring::from_config(&cli.user.jwt_signing_keys)
                .context("STAYMESH_JWT_SIGNING_KEYS")?,
        )
    } else {
        None
    };
    for part in parts {
        match part {
            Part::User => {
                let listener = bind(cli.server.addr(cli.ports.user_port)).await?;
                metrics(cli, cli.ports.user_metrics(), &shutdown).await?;
                let settings = staymesh_user::Settings {
                    infra: cli.infra.clone(),
                    server: cli.server.clone(),
                    user: cli.user.clone(),
                    keyring: keyring.clone().context("the user service's keys")?,
                    redis_prefix: cli.infra.redis_prefix_for(staymesh_user::SERVICE),
                };
                let shutdown = shutdown.clone();
                tasks.spawn(async move {
                    staymesh_user::run(settings, listener, shutdown)
                        .await
                        .context("user service")
                });
            }
            Part::Accommodation => {
                let port = cli.ports.accommodation_port;
                let listener = bind(cli.server.addr(port)).await?;
                metrics(cli, cli.ports.accommodation_metrics(), &shutdown).await?;
                let settings = staymesh_accommodation::Settings {
                    infra: cli.infra.clone(),
                    server: cli.server.clone(),
                    token_verifier: token_verifier(cli, keyring.as_ref(), &shutdown)?,
                    redis_prefix: cli.infra.redis_prefix_for(staymesh_accommodation::SERVICE),
                };
                let shutdown = shutdown.clone();
                tasks.spawn(async move {
                    staymesh_accommodation::run(settings, listener, shutdown)
                        .await
                        .context("accommodation service")
                });
            }
            Part::Coupon => {
                let listener = bind(cli.server.addr(cli.ports.coupon_port)).await?;
                metrics(cli, cli.ports.coupon_metrics(), &shutdown).await?;
                let settings = staymesh_coupon::Settings::new(
                    cli.infra.clone(),
                    cli.server.clone(),
                    cli.coupon.clone(),
                    token_verifier(cli, keyring.as_ref(), &shutdown)?,
                );
                let shutdown = shutdown.clone();
                tasks.spawn(async move {
                    staymesh_coupon::run(settings, listener, shutdown)
                        .await
                        .context("coupon service")
                });
            }
            Part::Gateway => {
                let backends = staymesh_gateway::Backends::new()
                    .with(
                        "staymesh.user.v1.UserService",
                        backend(everything, cli.ports.user_port, &cli.auth.user_url, "user")?,
                    )
                    .with(
                        "staymesh.accommodation.v1.AccommodationService",
                        backend(
                            everything,
                            cli.ports.accommodation_port,
                            &cli.ports.accommodation_url,
                            "accommodation",
                        )?,
                    )
                    .with(
                        "staymesh.coupon.v1.CouponService",
                        backend(
                            everything,
                            cli.ports.coupon_port,
                            &cli.ports.coupon_url,
                            "coupon",
                        )?,
                    );
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
            Part::User => println!(
                "user           gRPC {host}:{}  metrics http://{host}:{}/metrics",
                cli.ports.user_port,
                cli.ports.user_metrics()
            ),
            Part::Accommodation => {
                let port = cli.ports.accommodation_port;
                println!(
                    "accommodation  gRPC {host}:{port}  metrics http://{host}:{}/metrics",
                    cli.ports.accommodation_metrics()
                );
            }
            Part::Coupon => println!(
                "coupon         gRPC {host}:{}  metrics http://{host}:{}/metrics",
                cli.ports.coupon_port,
                cli.ports.coupon_metrics()
            ),
            Part::Gateway => println!(
                "HTTP edge      http://{host}:{}  (openapi: /openapi.json)  metrics http://{host}:{}/metrics",
                cli.ports.http_port, cli.ports.gateway_metrics_port
            ),
        }
    }
}
