//! Daily settlement per host, in Asia/Seoul days: what became PAID that day,
//! what was refunded that day, their net, the platform's commission on it and
//! the payout. Settling a day replaces its rows as a whole under the day's
//! row lock, so rerunning a day (or two replicas settling it at once) gives
//! the same rows and never adds.

use std::time::Duration;

use chrono::{Days, NaiveDate};
use sqlx::PgPool;
use staymesh_platform::Shutdown;
use staymesh_platform::convert::today;
use staymesh_platform::rpc::Result;
use uuid::Uuid;

/// How often the daily job looks whether yesterday needs settling.
const JOB_EVERY: Duration = Duration::from_secs(3600);

/// One host's sums.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Line {
    pub host_id: Option<Uuid>,
    pub payment_count: i64,
    pub paid: i64,
    pub refunded: i64,
    pub net: i64,
    pub fee: i64,
    pub payout: i64,
}

/// Computes and stores `day`'s lines with a commission of `fee_percent`;
/// returns them.
pub async fn settle(pool: &PgPool, day: NaiveDate, fee_percent: u8) -> Result<Vec<Line>> {
    let mut tx = pool.begin().await?;
    // The day's marker row is the lock that serializes settling it.
    sqlx::query(
        "INSERT INTO settlement_day (day) VALUES ($1) \
         ON CONFLICT (day) DO UPDATE SET settled_at = now()",
    )
    .bind(day)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM settlement_line WHERE day = $1")
        .bind(day)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "WITH bounds AS ( \
             SELECT $1::date::timestamp AT TIME ZONE 'Asia/Seoul' AS lo, \
                    ($1::date + 1)::timestamp AT TIME ZONE 'Asia/Seoul' AS hi), \
         paid AS ( \
             SELECT host_id, count(*) AS n, sum(amount) AS total FROM payment, bounds \
             WHERE paid_at >= lo AND paid_at < hi \
               AND state IN ('PAID', 'PARTIALLY_REFUNDED', 'REFUNDED') \
             GROUP BY host_id), \
         refunded AS ( \
             SELECT p.host_id, sum(r.amount) AS total \
             FROM refund r JOIN payment p ON p.id = r.payment_id, bounds \
             WHERE r.state = 'DONE' AND r.refunded_at >= lo AND r.refunded_at < hi \
             GROUP BY p.host_id), \
         sums AS ( \
             SELECT host_id, coalesce(paid.n, 0) AS n, coalesce(paid.total, 0) AS paid, \
                    coalesce(refunded.total, 0) AS refunded \
             FROM paid FULL JOIN refunded USING (host_id)) \
         INSERT INTO settlement_line (day, host_id, payment_count, paid, refunded, net, fee, payout) \
         SELECT $1, host_id, n, paid, refunded, paid - refunded, \
                (paid - refunded) * $2 / 100, (paid - refunded) - (paid - refunded) * $2 / 100 \
         FROM sums",
    )
    .bind(day)
    .bind(i64::from(fee_percent))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    report(pool, day, day + Days::new(1), None).await
}

/// The lines of `[start, end)` summed per host (one host's with `host`),
/// from the stored days; days never settled, and today, are settled first.
pub async fn report_settling(
    pool: &PgPool,
    start: NaiveDate,
    end: NaiveDate,
    host: Option<Uuid>,
    fee_percent: u8,
) -> Result<Vec<Line>> {
    let today = today();
    let settled: Vec<NaiveDate> =
        sqlx::query_scalar("SELECT day FROM settlement_day WHERE day >= $1 AND day < $2")
            .bind(start)
            .bind(end)
            .fetch_all(pool)
            .await?;
    let mut day = start;
    while day < end && day <= today {
        if day == today || !settled.contains(&day) {
            settle(pool, day, fee_percent).await?;
        }
        day = day + Days::new(1);
    }
    report(pool, start, end, host).await
}

/// The stored lines of `[start, end)` summed per host.
async fn report(
    pool: &PgPool,
    start: NaiveDate,
    end: NaiveDate,
    host: Option<Uuid>,
) -> Result<Vec<Line>> {
    Ok(sqlx::query_as(
        "SELECT host_id, sum(payment_count)::bigint AS payment_count, sum(paid)::bigint AS paid, \
                sum(refunded)::bigint AS refunded, sum(net)::bigint AS net, sum(fee)::bigint AS fee, \
                sum(payout)::bigint AS payout \
         FROM settlement_line WHERE day >= $1 AND day < $2 AND ($3::uuid IS NULL OR host_id = $3) \
         GROUP BY host_id ORDER BY host_id",
    )
    .bind(start)
    .bind(end)
    .bind(host)
    .fetch_all(pool)
    .await?)
}

/// The lines summed (host_id empty).
pub fn total(lines: &[Line]) -> Line {
    lines.iter().fold(Line::default(), |sum, line| Line {
        host_id: None,
        payment_count: sum.payment_count + line.payment_count,
        paid: sum.paid + line.paid,
        refunded: sum.refunded + line.refunded,
        net: sum.net + line.net,
        fee: sum.fee + line.fee,
        payout: sum.payout + line.payout,
    })
}

/// The daily job: settles yesterday (Asia/Seoul) every hour, so a day is
/// settled soon after it ends and again should late refunds arrive.
pub(crate) async fn run(pool: PgPool, fee_percent: u8, shutdown: Shutdown) {
    loop {
        let yesterday = today() - Days::new(1);
        if let Err(error) = settle(&pool, yesterday, fee_percent).await {
            tracing::warn!(%error, %yesterday, "settlement failed");
        }
        if !shutdown.sleep(JOB_EVERY).await {
            break;
        }
    }
}
