//! The one staymesh binary. Every Kubernetes Deployment runs one subcommand
//! (`staymesh accommodation`, `staymesh gateway`); `staymesh all` runs the
//! whole mesh in one process for local work; `migrate` and `seed` prepare the
//! databases.

mod cli;
mod config;
mod mesh;
mod seed;
mod services;

/// Every service of the process allocates through mimalloc (see the
/// workspace's Cargo.toml for why).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::ArgMatches;
use staymesh_platform::Shutdown;
use staymesh_platform::service::TaskRun;

use crate::cli::{Cli, Command};
use crate::mesh::Part;

fn main() -> ExitCode {
    // A bad flag or environment value fails start-up with one clear line.
    let (cli, matches) = match cli::parse() {
        Ok(parsed) => parsed,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        // `staymesh` alone: the whole help, not one line of it.
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
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
    match runtime.block_on(run(cli, matches)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("staymesh: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, matches: ArgMatches) -> anyhow::Result<()> {
    let service = matches.subcommand_name().and_then(services::find);
    match &cli.command {
        // Plain output for scripts: no telemetry, nothing to connect to.
        Some(Command::Keygen(args)) => {
            keygen(args);
            return Ok(());
        }
        Some(Command::Services(args)) => {
            mesh::list(&cli, &matches, args.names);
            return Ok(());
        }
        Some(Command::Config(args)) => {
            print!("{}", config::render(&cli::command(), args.markdown));
            return Ok(());
        }
        _ => {}
    }
    // `staymesh payment settle`: a service's one-shot task, plain output.
    if let Some(service) = service
        && let Some((name, task_matches)) = matches
            .subcommand_matches(service.name)
            .and_then(|m| m.subcommand())
        && let Some(task) = service.tasks.iter().find(|t| t.name == name)
    {
        let run = TaskRun {
            infra: cli.infra.clone(),
            matches: matches.clone(),
            task: task_matches.clone(),
        };
        let lines = (task.run)(run)
            .await
            .map_err(|e| anyhow::anyhow!("{} {name}: {e}", service.name))?;
        for line in lines {
            println!("{line}");
        }
        return Ok(());
    }
    let name = match (&cli.command, service) {
        (_, Some(service)) => format!("staymesh-{}", service.name),
        (Some(command), None) => command.telemetry_name().to_owned(),
        (None, None) => "staymesh".to_owned(),
    };
    let _telemetry = staymesh_platform::telemetry::init(&name, cli.log_format)?;
    let signals = Shutdown::on_os_signals;
    match (&cli.command, service) {
        (_, Some(service)) => {
            mesh::serve(&cli, &matches, &[service], Part::Services, signals()).await
        }
        (Some(Command::Gateway), _) => {
            mesh::serve(&cli, &matches, &[], Part::Edge, signals()).await
        }
        (Some(Command::PgSandbox), _) => {
            mesh::serve(&cli, &matches, &[], Part::PgSandbox, signals()).await
        }
        (Some(Command::All), _) => {
            mesh::serve(&cli, &matches, services::SERVICES, Part::All, signals()).await
        }
        (Some(Command::Migrate), _) => mesh::migrate(&cli).await,
        (Some(Command::Seed(args)), _) => seed::run(&cli, &matches, args).await,
        (Some(Command::Keygen(_) | Command::Services(_) | Command::Config(_)), _)
        | (None, None) => Ok(()),
    }
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
