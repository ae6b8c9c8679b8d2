//! `staymesh saga dlq list` and `staymesh saga dlq replay`: the messages the
//! booking saga's consumers gave up on (the orchestrator's inputs and every
//! participant's commands), and sending them back once what made them fail
//! is fixed. A replayed message keeps its id, so an inbox still applies it
//! at most once.

use clap::FromArgMatches;
use staymesh_platform::InfraArgs;
use staymesh_platform::kafka::{DeadLetter, DeadLetters};
use staymesh_platform::service::{BoxError, TaskRun};

use crate::inputs;

/// `staymesh saga dlq <action>`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DlqArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Clone, clap::Subcommand)]
enum Action {
    /// Show every parked message, why it was parked and whether it was replayed.
    List,
    /// Send the parked messages not replayed yet back to their topics.
    Replay {
        /// Only this message (its envelope id), replayed or not; the others stay waiting.
        #[arg(long)]
        id: Option<String>,
    },
}

/// The saga's dead-letter topics.
fn topics(infra: &InfraArgs) -> Vec<String> {
    inputs::all_topics(infra)
        .into_iter()
        .filter(|t| t.ends_with(".dlq"))
        .collect()
}

pub(crate) async fn task(run: TaskRun) -> Result<Vec<String>, BoxError> {
    let args = DlqArgs::from_arg_matches(&run.task)?;
    let letters = DeadLetters::new(
        &run.infra.kafka_brokers,
        &run.infra.consumer_group("dlq-replay"),
    )?;
    let topics = topics(&run.infra);
    match args.action {
        Action::List => {
            let all = letters.list(&topics)?;
            let waiting = all.iter().filter(|l| !l.replayed).count();
            let mut out = vec![format!(
                "{} dead-lettered message(s), {waiting} waiting for a replay",
                all.len()
            )];
            out.extend(all.iter().map(line));
            Ok(out)
        }
        Action::Replay { id: None } => {
            let sent = letters.replay(&letters.waiting(&topics)?, true).await?;
            let mut out = vec![format!("replayed {} message(s)", sent.len())];
            out.extend(sent.iter().map(line));
            Ok(out)
        }
        Action::Replay { id: Some(id) } => {
            let chosen: Vec<DeadLetter> = letters
                .list(&topics)?
                .into_iter()
                .filter(|l| l.message_id == id)
                .take(1)
                .collect();
            if chosen.is_empty() {
                return Err(format!("no dead-lettered message has id {id}").into());
            }
            let sent = letters.replay(&chosen, false).await?;
            let mut out = vec![format!("replayed {} message(s)", sent.len())];
            out.extend(sent.iter().map(line));
            Ok(out)
        }
    }
}

/// One message on one line: where it is, what it is, why it is there.
fn line(l: &DeadLetter) -> String {
    format!(
        "{}/{}/{}  {}  {}  id={}  key={}  from={}  group={}  {} after {} attempt(s): {}",
        l.topic,
        l.partition,
        l.offset,
        if l.replayed { "replayed" } else { "waiting" },
        l.message_type,
        l.message_id,
        l.key,
        l.source_topic,
        l.consumer_group,
        l.reason,
        l.attempts,
        l.error,
    )
}
