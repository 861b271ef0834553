//! Command-line parsing, by hand: a handful of flags do not justify a parser crate.

use std::net::SocketAddr;
use std::path::PathBuf;

use thiserror::Error;

pub const USAGE: &str = "\
dagster-plus-emulator: a local stand-in for the Dagster+ GraphQL API

USAGE:
    dagster-plus-emulator --organization ORG --api-token TOKEN [--listen ADDR] [--state FILE]
                          [--latency MS [--latency-jitter MS] [--latency-seed N]]

OPTIONS:
    --listen ADDR          Address to bind (default 127.0.0.1:0; port 0 picks a free port).
                           Prints `listening on http://ADDR` on stdout once ready.
    --organization ORG     Organization name; minted agent tokens look like agent:ORG:<hex>.
    --api-token TOKEN      User token accepted as an organization admin
                           (header Dagster-Cloud-Api-Token).
    --state FILE           Load state from FILE if it exists and write it back after
                           every change, so a restart keeps all tokens and deployments.
    --latency MS           Answer every GraphQL request after MS milliseconds, like a remote
                           API (default 0). Also settable at run time: requestLatencyMs.
    --latency-jitter MS    Plus or minus up to MS milliseconds per request (default 0).
    --latency-seed N       Seed of the jitter, so runs are reproducible (default 0).
    -h, --help             Show this help.

ENDPOINTS:
    POST /graphql, POST /{deployment}/graphql   The GraphQL API.
    GET  /_emulator/inventory                   Everything in the store, as JSON.
    GET  /_emulator/operations                  Request counts per root field.
    POST /_emulator/reset-counters              Zero the counts.
    POST /_emulator/deployments                 Seed a full deployment: {\"name\": \"staging\"}.
    POST /_emulator/agents/heartbeat            Heartbeat a simulated agent: {\"label\": \"bd-agent\"}.
    POST /_emulator/agents/stop                 Make it NOT_RUNNING: {\"label\": \"bd-agent\"}.
    GET|POST /_emulator/simulation              Load delay, failing-image pattern, heartbeat timeout,
                                                deletion delay (camelCase keys, milliseconds).
    GET|POST|DELETE /_emulator/faults           Inject 503 / 429 / resets / slow or dropped
                                                responses into the next N or a seeded fraction
                                                of GraphQL requests.

ENVIRONMENT:
    DAGSTER_PLUS_EMULATOR_LOG   Log level on stderr: error, warn, info (default), debug, trace.
";

#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    pub listen: SocketAddr,
    pub organization: String,
    pub api_token: String,
    pub state: Option<PathBuf>,
    pub latency_ms: u64,
    pub latency_jitter_ms: u64,
    pub latency_seed: u64,
}

#[derive(Debug, PartialEq)]
pub enum Command {
    Run(Args),
    Help,
}

#[derive(Debug, Error, PartialEq)]
pub enum ArgsError {
    #[error("unknown argument {0:?}")]
    Unknown(String),
    #[error("{0} needs a value")]
    MissingValue(&'static str),
    #[error("{0} is required")]
    Required(&'static str),
    #[error("{flag} {value:?} is not a whole number")]
    BadNumber { flag: &'static str, value: String },
    #[error("--listen {value:?} is not an address like 127.0.0.1:8080: {reason}")]
    BadListen { value: String, reason: String },
}

/// Accepts `--flag value` and `--flag=value`.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, ArgsError> {
    let mut listen = None;
    let mut organization = None;
    let mut api_token = None;
    let mut state = None;
    let mut latency = None;
    let mut jitter = None;
    let mut seed = None;
    let mut iter = args.into_iter();
    while let Some(arg) = iter.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let slot = match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--listen" => (&mut listen, "--listen"),
            "--organization" => (&mut organization, "--organization"),
            "--api-token" => (&mut api_token, "--api-token"),
            "--state" => (&mut state, "--state"),
            "--latency" => (&mut latency, "--latency"),
            "--latency-jitter" => (&mut jitter, "--latency-jitter"),
            "--latency-seed" => (&mut seed, "--latency-seed"),
            _ => return Err(ArgsError::Unknown(arg)),
        };
        let value = match inline {
            Some(v) => v,
            None => iter.next().ok_or(ArgsError::MissingValue(slot.1))?,
        };
        *slot.0 = Some(value);
    }
    let listen_text = listen.unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listen = listen_text.parse().map_err(|e: std::net::AddrParseError| ArgsError::BadListen {
        value: listen_text.clone(),
        reason: e.to_string(),
    })?;
    Ok(Command::Run(Args {
        listen,
        organization: organization.ok_or(ArgsError::Required("--organization"))?,
        api_token: api_token.ok_or(ArgsError::Required("--api-token"))?,
        state: state.map(PathBuf::from),
        latency_ms: number(latency, "--latency")?,
        latency_jitter_ms: number(jitter, "--latency-jitter")?,
        latency_seed: number(seed, "--latency-seed")?,
    }))
}

fn number(value: Option<String>, flag: &'static str) -> Result<u64, ArgsError> {
    value.map_or(Ok(0), |v| v.parse().map_err(|_| ArgsError::BadNumber { flag, value: v }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_both_flag_styles() {
        let cmd = parse(strings(&[
            "--listen=127.0.0.1:0",
            "--organization",
            "acme",
            "--api-token",
            "t",
            "--state",
            "s.json",
        ]));
        let Ok(Command::Run(args)) = cmd else { panic!("expected run: {cmd:?}") };
        assert_eq!(args.organization, "acme");
        assert_eq!(args.state, Some(PathBuf::from("s.json")));
        assert_eq!(parse(strings(&["--help"])), Ok(Command::Help));
        assert_eq!(parse(strings(&["--organization", "a"])), Err(ArgsError::Required("--api-token")));
        assert!(matches!(parse(strings(&["--bogus"])), Err(ArgsError::Unknown(_))));
        assert_eq!(parse(strings(&["--state"])), Err(ArgsError::MissingValue("--state")));
        let base = ["--organization", "a", "--api-token", "t"];
        let Ok(Command::Run(args)) = parse(strings(&[&base[..], &["--latency=50", "--latency-jitter", "5"]].concat()))
        else {
            panic!("latency flags parse")
        };
        assert_eq!((args.latency_ms, args.latency_jitter_ms, args.latency_seed), (50, 5, 0));
        assert!(matches!(
            parse(strings(&[&base[..], &["--latency", "fast"]].concat())),
            Err(ArgsError::BadNumber { flag: "--latency", .. })
        ));
    }
}
