//! `handler`: the Azure Functions custom handler and its developer commands. Wiring only.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use adt_bridge::adt::decode_event_grid;
use adt_bridge::config::{transform_options, Environment};
use adt_bridge::records::transform_batch;
use adt_bridge::time::Timestamp;

#[derive(Parser)]
#[command(
    name = "handler",
    version,
    about = "Azure Digital Twins notifications to time-series records"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Transform a JSON array of Event Grid or CloudEvents events and print the records as JSON lines.
    Transform {
        /// The events file.
        file: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Transform { file }) => transform_file(&file),
        None => anyhow::bail!(
            "serving is not built yet; try `handler transform samples/twin-updates.json`"
        ),
    }
}

fn transform_file(file: &std::path::Path) -> anyhow::Result<()> {
    let options = transform_options(&Environment)?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let events: Vec<serde_json::Value> =
        serde_json::from_str(&text).context("the file must hold a JSON array of events")?;
    let now = Timestamp::from_instant(chrono::Utc::now(), 7);
    let decoded = events
        .iter()
        .map(|e| decode_event_grid(e, options.decoded_kinds()));
    let outcome = transform_batch(decoded, &options, now);
    for record in &outcome.records {
        println!("{}", record.body);
    }
    for (index, unusable) in &outcome.unusable {
        eprintln!("event {index} is unusable: {unusable}");
    }
    eprintln!("{}", outcome.summary);
    Ok(())
}
