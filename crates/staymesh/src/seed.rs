//! `staymesh seed`: demo data with a progress bar.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{Cli, SeedArgs};

pub(crate) async fn run(cli: &Cli, args: &SeedArgs) -> anyhow::Result<()> {
    let (pool, _redis) = staymesh_accommodation::connect(&cli.infra)
        .await
        .context("accommodation database")?;
    let total = args.properties as usize;
    let bar = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template("seeding properties {bar:40} {pos}/{len} ({eta})")
            .context("progress template")?,
    );
    let created =
        staymesh_accommodation::seed::seed(&pool, total, &|done| bar.set_position(done as u64))
            .await
            .context("seeding properties")?;
    bar.finish();
    println!(
        "demo data: {total} properties ({created} new), host {}",
        staymesh_accommodation::seed::DEMO_HOST_ID
    );
    Ok(())
}
