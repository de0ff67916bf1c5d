//! `handler`: the Azure Functions custom handler and its developer commands. Wiring only.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use tracing_subscriber::fmt::writer::MakeWriterExt;

use adt_bridge::adt::EventGridEvent;
use adt_bridge::config::delivery::delivery_settings;
use adt_bridge::config::eventhubs::TWINS_HUB;
use adt_bridge::config::eventhubs::{hub_settings, RECORDS_HUB};
use adt_bridge::config::{
    handler_settings, names, platform_credential, simulator_settings, transform_options,
    Environment, SettingsSource, SimulatorSettings,
};
use adt_bridge::demo::DemoOptions;
use adt_bridge::digital_twins::setup::setup;
use adt_bridge::digital_twins::{CredentialTokens, DigitalTwinsClient};
use adt_bridge::host::{workers, App, Server};
use adt_bridge::records::process;
use adt_bridge::simulator::models::models;
use adt_bridge::simulator::{relationships, twins, Factory, FactoryConfig};
use adt_bridge::sink::eventhubs::{
    credential as azure_credential, default_retry, EventHubsSink, KeyedWriter,
};
use adt_bridge::sink::stdout::StdoutSink;
use adt_bridge::sink::RecordSink;
use adt_bridge::tick_delivery::{
    AdtPatches, Simulator, SimulatorMode, TickDelivery, TwinsHubNotifications,
};
use adt_bridge::time::Timestamp;

/// mimalloc, built with transparent huge pages off (`no_thp`): glibc's malloc spends a few per
/// cent of the handler's CPU merging freed chunks after every request-sized buffer, and with
/// huge pages mimalloc's arenas would fault in 2 MiB at a time (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Simulate the chocolate factory through the bridge, answer the operators' questions, draw a chart.
    Demo(DemoArgs),
    /// Manage the factory's twins in an Azure Digital Twins instance.
    Twins {
        #[command(subcommand)]
        command: TwinsCommand,
    },
    /// Transform a JSON array of Event Grid or CloudEvents events and print the records as JSON lines.
    Transform {
        /// The events file.
        file: PathBuf,
    },
}

#[derive(Args)]
struct DemoArgs {
    /// Hours of factory time to simulate.
    #[arg(long, default_value_t = 24.0)]
    hours: f64,
    /// The factory's seed: the same seed gives the same day.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Folder for records.jsonl, answers.txt and chart.svg.
    #[arg(long, default_value = "demo-output")]
    out: PathBuf,
}

#[derive(Subcommand)]
enum TwinsCommand {
    /// Upload the factory's models and create its twins and relationships (idempotent).
    Setup {
        /// The instance URL; default: ADT_INSTANCE_URL.
        #[arg(long)]
        instance: Option<String>,
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
        Command::Demo(args) => run_demo(args),
        Command::Twins {
            command: TwinsCommand::Setup { instance },
        } => twins_setup(instance),
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
    let delivery = delivery_settings(&Environment)?;
    let sink: Arc<dyn RecordSink> = match args.sink {
        SinkChoice::Eventhubs => {
            let records = hub_settings(&Environment, RECORDS_HUB)?;
            let dead_letters = Environment.get(names::BRIDGE_DEADLETTER_EVENTHUB_NAME);
            let retry = default_retry();
            Arc::new(EventHubsSink::for_workers(
                records,
                dead_letters,
                retry,
                delivery.packing,
                settings.workers,
            ))
        }
        SinkChoice::Stdout => Arc::new(StdoutSink),
    };
    // The simulator's settings concern only its function: a bad one leaves the others serving.
    let simulator = simulator_settings(&Environment)
        .map_err(anyhow::Error::from)
        .and_then(simulator)
        .unwrap_or_else(|error| {
            let error = format!("{error:#}");
            tracing::error!(%error, "the FactorySimulator function cannot run; it will answer 500 until the setting is fixed");
            Simulator::misconfigured(error)
        });
    let server = Arc::new(Server {
        app: App::new(options, sink)
            .with_simulator(simulator)
            .with_deadletter_attempts(delivery.deadletter_attempts)
            .with_service_bus_hold(settings.service_bus_hold),
        max_request_bytes: settings.max_request_bytes,
    });
    // This thread only accepts connections; the workers serve them.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let workers = settings.workers;
        tracing::info!(port, workers, format = %server.app.options.format, "serving");
        workers::serve(listener, server, workers, shutdown_signal()?).await?;
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

/// The factory and, by SIMULATOR_MODE, where its ticks go. Nothing is dialled until a tick.
fn simulator(settings: SimulatorSettings) -> anyhow::Result<Simulator> {
    let factory = Factory::new(FactoryConfig::with_seed(settings.seed));
    let delivery: Option<Arc<dyn TickDelivery>> = match settings.mode {
        SimulatorMode::Off => None,
        SimulatorMode::Adt => {
            let url = settings.adt_instance_url.as_deref().unwrap_or_default();
            Some(Arc::new(AdtPatches(adt_client(url)?)))
        }
        SimulatorMode::EventHub => {
            let twins = hub_settings(&Environment, TWINS_HUB)?;
            let instance_host = settings
                .adt_instance_url
                .as_deref()
                .and_then(|url| url.split("://").nth(1))
                .map_or("chocolate-factory.simulator", |rest| {
                    rest.trim_end_matches('/')
                })
                .to_owned();
            Some(Arc::new(TwinsHubNotifications {
                writer: KeyedWriter::new(twins, default_retry()),
                instance_host,
            }))
        }
    };
    Ok(Simulator {
        factory,
        mode: settings.mode,
        delivery,
    })
}

/// A client for ADT with the platform's managed identity, or the developer's Azure CLI login.
fn adt_client(url: &str) -> anyhow::Result<DigitalTwinsClient> {
    let credential = azure_credential(platform_credential(&Environment))?;
    Ok(DigitalTwinsClient::new(
        url,
        Arc::new(CredentialTokens(credential)),
    )?)
}

fn twins_setup(instance: Option<String>) -> anyhow::Result<()> {
    let url = instance
        .or_else(|| Environment.get(names::ADT_INSTANCE_URL))
        .with_context(|| format!("pass --instance or set {}", names::ADT_INSTANCE_URL))?;
    let client = adt_client(&url)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(setup(&client, &models(), &twins(), &relationships()))?;
    println!("{report}");
    Ok(())
}

fn run_demo(args: DemoArgs) -> anyhow::Result<()> {
    let mut options = DemoOptions::ending_at(chrono::Utc::now());
    options.hours = args.hours;
    options.seed = args.seed;
    options.out_dir = args.out;
    let report = adt_bridge::demo::run(&options)?;
    println!("{report}");
    Ok(())
}

fn transform_file(file: &std::path::Path) -> anyhow::Result<()> {
    let options = transform_options(&Environment)?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let events: Vec<serde_json::Value> =
        serde_json::from_str(&text).context("the file must hold a JSON array of events")?;
    let outcome = process(
        events.iter().map(EventGridEvent),
        &options,
        Timestamp::now(),
    );
    for (_, body) in outcome.records.with_bodies() {
        println!("{body}");
    }
    for (index, unusable) in &outcome.unusable {
        eprintln!("event {index} is unusable: {unusable}");
    }
    eprintln!("{}", outcome.summary);
    Ok(())
}
