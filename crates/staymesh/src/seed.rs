//! `staymesh seed`: demo accounts and properties, with a progress bar.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{Cli, SeedArgs};

pub(crate) async fn run(cli: &Cli, args: &SeedArgs) -> anyhow::Result<()> {
    let host_id = staymesh_accommodation::seed::DEMO_HOST_ID
        .parse()
        .context("the demo host id")?;
    let (users, _redis) = staymesh_user::connect(&cli.infra)
        .await
        .context("user database")?;
    let accounts = staymesh_user::seed::seed(&users, &cli.user, host_id)
        .await
        .context("seeding accounts")?;

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
    let (coupons, _redis) = staymesh_coupon::connect(&cli.infra)
        .await
        .context("coupon database")?;
    let admin = accounts
        .iter()
        .find(|a| a.role == staymesh_platform::auth::Role::Admin)
        .context("the demo admin")?;
    let created = staymesh_coupon::seed::seed(&coupons, &admin.user_id.to_string())
        .await
        .context("seeding coupons")?;
    println!(
        "demo coupon event {} (1,000 coupons){}",
        staymesh_coupon::seed::DEMO_EVENT_ID,
        if created { " (new)" } else { "" }
    );
    println!("demo accounts (email / password / role):");
    for account in accounts {
        println!(
            "  {:<22} {:<18} {:<6} {}{}",
            account.email,
            account.password,
            account.role.as_str(),
            account.user_id,
            if account.created { "  (new)" } else { "" }
        );
    }
    Ok(())
}
