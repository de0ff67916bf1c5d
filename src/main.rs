//! `handler`: the Azure Functions custom handler and its developer commands. Wiring only.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use tracing_subscriber::fmt::writer::MakeWriterExt;

use adt_bridge::adt::decode_event_grid;
use adt_bridge::config::eventhubs::{hub_settings, RECORDS_HUB};
use adt_bridge::config::{handler_settings, names, transform_options, Environment, SettingsSource};
use adt_bridge::host::{serve, App, Server};
use adt_bridge::records::transform_batch;
use adt_bridge::sink::eventhubs::{default_retry, EventHubsSink};
use adt_bridge::sink::stdout::StdoutSink;
use adt_bridge::sink::RecordSink;
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
    /// Serve the functions to the Azure Functions host (the default).
    Serve(ServeArgs),
    /// Transform a JSON array of Event Grid or CloudEvents events and print the records as JSON lines.
    Transform {
        /// The events file.
        file: PathBuf,
    },
}

#[derive(Args, Default)]
struct ServeArgs {
    /// Port to listen on (loopback only); default: FUNCTIONS_CUSTOMHANDLER_PORT.
    #[arg(long)]
    port: Option<u16>,
    /// Where records go.
    #[arg(long, value_enum, default_value_t = SinkChoice::Eventhubs)]
    sink: SinkChoice,
}

#[derive(Clone, Copy, Default, ValueEnum)]
enum SinkChoice {
    /// The records hub named by TsiEventHubConnection and TSI_EVENTHUB_NAME.
    #[default]
    Eventhubs,
    /// Print records on stdout as JSON lines (local runs without a records hub).
    Stdout,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing();
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => run_server(args),
        Command::Transform { file } => transform_file(&file),
    }
}

/// Process logs to stdout, errors to stderr: the host logs every stderr line as an error.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let writer = std::io::stderr
        .with_max_level(tracing::Level::ERROR)
        .or_else(std::io::stdout);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .with_target(false)
        .init();
}

fn run_server(args: ServeArgs) -> anyhow::Result<()> {
    let settings = handler_settings(&Environment)?;
    let port = args.port.or(settings.port).with_context(|| {
        format!(
            "app setting {} is not set (the Functions host sets it); pass --port to run by hand",
            names::FUNCTIONS_CUSTOMHANDLER_PORT
        )
    })?;
    // Bind before anything slow: the host polls GET / from the moment it starts us.
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .with_context(|| format!("binding 127.0.0.1:{port}"))?;
    listener.set_nonblocking(true)?;
    let options = transform_options(&Environment)?;
    let sink: Arc<dyn RecordSink> = match args.sink {
        SinkChoice::Eventhubs => {
            let records = hub_settings(&Environment, RECORDS_HUB)?;
            let dead_letters = Environment.get(names::BRIDGE_DEADLETTER_EVENTHUB_NAME);
            Arc::new(EventHubsSink::new(records, dead_letters, default_retry()))
        }
        SinkChoice::Stdout => Arc::new(StdoutSink),
    };
    let server = Arc::new(Server {
        app: App { options, sink },
        max_request_bytes: settings.max_request_bytes,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        tracing::info!(port, format = %server.app.options.format, "serving");
        serve(listener, server, shutdown_signal()?).await;
        tracing::info!("stopped");
        anyhow::Ok(())
    })
}

/// Completes on SIGTERM (the host stopping us) or Ctrl-C. The handlers are installed before this
/// returns, so a signal that arrives before the server's first poll is not missed.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        let mut interrupt =
            signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
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
