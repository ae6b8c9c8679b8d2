//! `staymesh-bench payments`: how long the browser's return takes to make a
//! payment PAID, end to end: the edge's `GET /v1/payments:approve` (the
//! return URL the sandbox PG redirects to), the payment service reading the
//! payment back from the PG and committing PAID with its event. Next to a
//! bare tonic echo measured in the same run.
//!
//! Before the load, the run registers `--payments` payments (CreatePayment,
//! as the saga does) and pays each at the sandbox's checkout with the test
//! card that never redirects, after telling the sandbox to drop that many
//! webhooks: so each payment is paid at the PG and still READY with us, and
//! only the measured browser return can approve it. Every measured call
//! takes a payment of its own and must answer PAYMENT_STATE_PAID.
//!
//! Load only ever goes to loopback addresses.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context as _, bail};
use clap::Args;
use prost::Message as _;
use serde::Serialize;
use serde_json::json;
use staymesh_platform::convert::{money, timestamp};
use staymesh_platform::demo;
use staymesh_proto::payment::CreatePaymentRequest;
use staymesh_proto::payment::payment_booking_service_client::PaymentBookingServiceClient;
use tonic::Status;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::load::{self, Call, Settings};
use crate::{LoadArgs, Row, echo, ensure_loopback, print_results, row, scenarios};

/// The sandbox card that is charged but never sends the browser back.
const NO_RETURN_CARD: &str = "4000000000000119";
/// Payments registered and paid at once while preparing.
const PREPARE_AT_ONCE: usize = 32;

/// Loads the browser's return (ApprovePayment through the edge) next to a bare tonic echo.
#[derive(Debug, Args)]
pub(crate) struct PaymentArgs {
    /// Payment gRPC URL (for CreatePayment); must be a loopback address.
    #[arg(long, default_value = "http://127.0.0.1:50056")]
    payment_target: String,
    /// The HTTP edge, where the browser returns; must be a loopback address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    edge: String,
    /// The sandbox PG; must be a loopback address.
    #[arg(long, default_value = "http://127.0.0.1:8090")]
    pg: String,
    /// The sandbox PG's API secret (for its fault switch).
    #[arg(
        long,
        env = "STAYMESH_PG_SANDBOX_API_SECRET",
        default_value = "sandbox-secret"
    )]
    pg_api_secret: String,
    /// Payments prepared; half for the warm-up, half measured.
    #[arg(long, default_value_t = 4_000, value_parser = clap::value_parser!(u32).range(2..=200_000))]
    payments: u32,
    #[command(flatten)]
    load: LoadArgs,
}

/// Everything the payment mode prints.
#[derive(Debug, Serialize)]
struct Output {
    edge: String,
    cores: usize,
    payments: usize,
    prepare_secs: f64,
    settings: Settings,
    scenarios: Vec<Row>,
}

/// A payment paid at the PG, waiting for the browser's return.
#[derive(Debug, Clone)]
struct Paid {
    return_url: String,
}

pub(crate) async fn run(args: PaymentArgs) -> anyhow::Result<()> {
    ensure_loopback("--payment-target", &args.payment_target)?;
    ensure_loopback("--edge", &args.edge)?;
    ensure_loopback("--pg", &args.pg)?;
    let mut settings = args.load.settings();
    // Each call spends a payment; the warm-up has the same budget.
    settings.max_requests = settings.max_requests.min(u64::from(args.payments / 2));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(settings.concurrency)
        .build()?;
    let channel = scenarios::connect(&args.payment_target, 1)
        .await
        .with_context(|| {
            format!(
                "cannot reach {} (is staymesh running? `make up` starts it)",
                args.payment_target
            )
        })?
        .remove(0);

    // The echo first: the prepared payments are then loaded at once, well
    // before the reconciler (every 30 s by default) would look at them.
    let payload = CreatePaymentRequest::default().encode_to_vec().into();
    let server = echo::start().await?;
    let echo_channels =
        scenarios::connect(&format!("http://{}", server.addr), settings.connections).await?;
    eprintln!("echo (in-process, {})...", server.addr);
    let echo = load::run(&settings, scenarios::echo(&echo_channels, payload)).await?;
    drop(echo_channels);
    server.stop().await?;
    let baseline = echo.req_per_sec;
    let started = std::time::Instant::now();
    eprintln!(
        "preparing {} payments paid at {}...",
        args.payments, args.pg
    );
    let faults = format!("{}/sandbox/faults", args.pg.trim_end_matches('/'));
    let authorization = format!("PortOne {}", args.pg_api_secret);
    http.put(&faults)
        .header("authorization", &authorization)
        .json(&json!({"dropWebhooks": args.payments}))
        .send()
        .await?
        .error_for_status()
        .context("the sandbox PG's fault switch (is --pg-api-secret right?)")?;
    let prepared = prepare(&channel, &http, args.payments as usize, &args.edge).await;
    // Whatever happened, the sandbox goes back to delivering webhooks.
    http.delete(&faults)
        .header("authorization", &authorization)
        .send()
        .await?
        .error_for_status()?;
    let paid: Arc<[Paid]> = prepared?.into();
    let prepare_secs = started.elapsed().as_secs_f64();

    let mut rows = vec![row("echo (bare tonic)", echo, baseline)];
    eprintln!("browser returns through {}...", args.edge);
    let report = load::run(&settings, browser_returns(&http, &paid)).await?;
    rows.push(row("return -> PAID (edge)", report, baseline));

    let output = Output {
        edge: args.edge,
        cores,
        payments: paid.len(),
        prepare_secs,
        settings,
        scenarios: rows,
    };
    print_results(
        &output,
        &output.scenarios,
        &output.settings,
        args.load.json,
        &format!(
            "edge {}  cores {}  payments {} (prepared in {:.1}s)",
            output.edge, output.cores, output.payments, output.prepare_secs
        ),
        "each return approves a payment of its own (HTTP/1.1 keep-alive to the edge)",
    )
}

/// Registers `count` payments and pays each at the PG; their return URLs.
async fn prepare(
    channel: &Channel,
    http: &reqwest::Client,
    count: usize,
    edge: &str,
) -> anyhow::Result<Vec<Paid>> {
    let mut paid = Vec::with_capacity(count);
    let due = chrono::Utc::now() + chrono::Duration::hours(1);
    while paid.len() < count {
        let batch = PREPARE_AT_ONCE.min(count - paid.len());
        let payments = (0..batch).map(|_| {
            let mut client = PaymentBookingServiceClient::new(channel.clone());
            let booking = Uuid::now_v7();
            let request = CreatePaymentRequest {
                booking_id: booking.to_string(),
                user_id: demo::GUEST_ID.to_string(),
                host_id: demo::HOST_ID.to_string(),
                amount: Some(money(50_000)),
                order_name: format!("bench {booking}"),
                expires_at: Some(timestamp(due)),
                saga_id: String::new(),
            };
            async move {
                let payment = client
                    .create_payment(request)
                    .await
                    .context("CreatePayment")?
                    .into_inner()
                    .payment
                    .context("CreatePayment answered no payment")?;
                let key = payment
                    .checkout_url
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let checkout = http
                    .post(&payment.checkout_url)
                    .form(&[("cardNumber", NO_RETURN_CARD), ("action", "pay")])
                    .send()
                    .await?;
                if !checkout.status().is_success() {
                    bail!("the sandbox checkout answered {}", checkout.status());
                }
                Ok(Paid {
                    return_url: format!(
                        "{edge}/v1/payments:approve?paymentKey={key}&orderId={}",
                        payment.order_id
                    ),
                })
            }
        });
        for prepared in futures::future::join_all(payments).await {
            paid.push(prepared?);
        }
    }
    Ok(paid)
}

/// Worker calls: the next unused payment's browser return, which must answer PAID.
fn browser_returns(http: &reqwest::Client, paid: &Arc<[Paid]>) -> impl FnMut(usize) -> Call {
    let next = Arc::new(AtomicUsize::new(0));
    let http = http.clone();
    let paid = Arc::clone(paid);
    move |_worker| {
        let (http, paid, next) = (http.clone(), Arc::clone(&paid), Arc::clone(&next));
        Box::new(move || {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let http = http.clone();
            let url = paid.get(index).map(|p| p.return_url.clone());
            Box::pin(async move {
                let url =
                    url.ok_or_else(|| Status::resource_exhausted("no prepared payment left"))?;
                let answer = http
                    .get(&url)
                    .send()
                    .await
                    .map_err(|e| Status::unavailable(e.to_string()))?;
                let status = answer.status();
                let body = answer
                    .text()
                    .await
                    .map_err(|e| Status::unavailable(e.to_string()))?;
                if status.is_success() && body.contains("PAYMENT_STATE_PAID") {
                    Ok(())
                } else {
                    Err(Status::unknown(format!("{status}: {body}")))
                }
            })
        })
    }
}
