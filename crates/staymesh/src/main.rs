//! The one staymesh binary. Every Kubernetes Deployment runs one subcommand
//! (`staymesh accommodation`, `staymesh gateway`); `staymesh all` runs the
//! whole mesh in one process for local work; `migrate` and `seed` prepare the
//! databases.

mod cli;
mod mesh;
mod seed;

use std::process::ExitCode;

use clap::Parser;
use staymesh_platform::Shutdown;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    // A bad flag or environment value fails start-up with one clear line.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("staymesh: {}", first.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("staymesh: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("staymesh: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let name = cli.command.name();
    if let Command::Keygen(args) = &cli.command {
        // Plain output for scripts: no telemetry, nothing to connect to.
        keygen(args);
        return Ok(());
    }
    let _telemetry = staymesh_platform::telemetry::init(name, cli.log_format)?;
    match &cli.command {
        Command::Migrate => mesh::migrate(&cli).await,
        Command::Seed(args) => seed::run(&cli, args).await,
        Command::Keygen(_) => Ok(()),
        Command::User => serve_one(&cli, mesh::Part::User).await,
        Command::Accommodation => serve_one(&cli, mesh::Part::Accommodation).await,
        Command::Coupon => serve_one(&cli, mesh::Part::Coupon).await,
        Command::Gateway => serve_one(&cli, mesh::Part::Gateway).await,
        Command::All => mesh::serve(&cli, mesh::Part::ALL, Shutdown::on_os_signals()).await,
    }
}

/// Runs one part of the mesh, as its pod does.
async fn serve_one(cli: &Cli, part: mesh::Part) -> anyhow::Result<()> {
    mesh::serve(cli, &[part], Shutdown::on_os_signals()).await
}

/// Prints a fresh signing key in the form STAYMESH_JWT_SIGNING_KEYS reads,
/// and its public half in the form STAYMESH_JWT_PUBLIC_KEYS reads.
fn keygen(args: &cli::KeygenArgs) {
    // Seconds since the epoch: unique enough for keys made by hand, and
    // newer keys sort after older ones.
    let kid = args.kid.clone().unwrap_or_else(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        format!("k{now}")
    });
    let key = staymesh_platform::auth::jwt::SigningKey::generate(kid);
    let public = key.public_key();
    println!("STAYMESH_JWT_SIGNING_KEYS={}", key.to_config());
    println!("STAYMESH_JWT_PUBLIC_KEYS={}:{}", public.kid, public.x);
}
