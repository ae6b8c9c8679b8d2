//! Redis through a fred connection pool.

use fred::prelude::*;

use crate::error::Error;

/// A pool of multiplexed Redis connections, cheap to clone.
pub type RedisPool = fred::clients::Pool;

/// Connects a pool and waits until every connection is up.
pub async fn connect(url: &str, size: u32) -> Result<RedisPool, Error> {
    let config =
        Config::from_url(url).map_err(|e| Error::Config(format!("STAYMESH_REDIS_URL: {e}")))?;
    let pool = Builder::from_config(config)
        .with_connection_config(|c| {
            c.connection_timeout = std::time::Duration::from_secs(5);
        })
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
        .build_pool(size as usize)?;
    pool.init().await?;
    Ok(pool)
}

/// Checks that Redis answers (readiness).
pub async fn ping(pool: &RedisPool) -> Result<(), Error> {
    let _: String = pool.ping(None).await?;
    Ok(())
}
