//! `dagster-plus-emulator`: serve the emulator over HTTP until interrupted.

mod args;

use std::io::Write;
use std::process::ExitCode;

use dagster_plus_emulator::{serve_and_announce, EmulatorConfig, SimulationUpdate};
use tracing_subscriber::filter::LevelFilter;

use args::{Command, USAGE};

fn main() -> ExitCode {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(Command::Run(args)) => args,
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: args::Args) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let simulation = SimulationUpdate {
        request_latency_ms: Some(args.latency_ms),
        request_jitter_ms: Some(args.latency_jitter_ms),
        latency_seed: Some(args.latency_seed),
        ..SimulationUpdate::default()
    };
    let config = EmulatorConfig {
        organization: args.organization,
        api_token: args.api_token,
        state_file: args.state,
        simulation,
    };
    // Scripts wait for this exact line, so print it only once requests can be served.
    let server = serve_and_announce(config, listener, |addr| {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{addr}")?;
        stdout.flush()
    });
    tokio::select! {
        result = server => result,
        _ = tokio::signal::ctrl_c() => {
            tracing::info!("interrupted; shutting down");
            Ok(())
        }
    }
}

fn init_logging() {
    let level = match std::env::var("DAGSTER_PLUS_EMULATOR_LOG").ok().as_deref() {
        Some("error") => LevelFilter::ERROR,
        Some("warn") => LevelFilter::WARN,
        Some("debug") => LevelFilter::DEBUG,
        Some("trace") => LevelFilter::TRACE,
        Some("off") => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    };
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(false).with_max_level(level).init();
}
