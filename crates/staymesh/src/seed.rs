//! `staymesh seed`: every service's demo data, in the list's order, with a
//! progress bar for the long parts.

use std::sync::{Arc, Mutex};

use anyhow::Context;
use clap::ArgMatches;
use indicatif::{ProgressBar, ProgressStyle};
use staymesh_platform::service::Seeding;

use crate::cli::{Cli, SeedArgs};
use crate::services::SERVICES;

pub(crate) async fn run(cli: &Cli, matches: &ArgMatches, args: &SeedArgs) -> anyhow::Result<()> {
    let style = ProgressStyle::with_template("seeding {msg} {bar:40} {pos}/{len} ({eta})")
        .context("progress template")?;
    for service in SERVICES {
        let Some(seed) = service.seed else { continue };
        // The bar appears once a service reports progress.
        let bar: Arc<Mutex<Option<ProgressBar>>> = Arc::default();
        let progress = {
            let (bar, style) = (bar.clone(), style.clone());
            let name = service.name;
            Arc::new(move |done: u64, total: u64| {
                let mut bar = bar.lock().unwrap_or_else(|e| e.into_inner());
                bar.get_or_insert_with(|| {
                    ProgressBar::new(total)
                        .with_style(style.clone())
                        .with_message(name)
                })
                .set_position(done);
            })
        };
        let seeding = Seeding {
            infra: cli.infra.clone(),
            matches: matches.clone(),
            properties: args.properties,
            progress,
        };
        let lines = seed(seeding)
            .await
            .map_err(|e| anyhow::anyhow!("seeding {}: {e}", service.name))?;
        if let Some(bar) = bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish();
        }
        for line in lines {
            println!("{line}");
        }
    }
    Ok(())
}
