use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Starts the binary with `extra` flags; runs `check` with its port, then stops it (also when `check` panics).
fn with_binary(extra: &[&str], check: impl FnOnce(u16) + std::panic::UnwindSafe) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dagster-plus-emulator"))
        .args(["--listen", "127.0.0.1:0", "--organization", "bin-org", "--api-token", "bin-token"])
        .args(extra)
        .env("DAGSTER_PLUS_EMULATOR_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout piped");
    BufReader::new(stdout).read_line(&mut line).expect("announcement");

    let result = std::panic::catch_unwind(|| {
        let addr = line
            .strip_suffix('\n')
            .and_then(|l| l.strip_prefix("listening on http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("unexpected announcement {line:?}"));
        let port: u16 = addr.parse().expect("numeric port");
        assert_ne!(port, 0);
        check(port);
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

fn deployment_query(port: u16) -> serde_json::Value {
    reqwest::blocking::Client::new()
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .header("Dagster-Cloud-Api-Token", "bin-token")
        .body(r#"{"query": "{ currentDeployment { deploymentName organizationName } }"}"#)
        .send()
        .and_then(|r| r.json())
        .expect("GraphQL reply")
}

#[test]
fn the_binary_announces_its_address_and_serves() {
    with_binary(&[], |port| {
        assert_eq!(deployment_query(port)["data"]["currentDeployment"]["organizationName"], "bin-org");
    });
}

#[test]
fn the_latency_flags_delay_every_graphql_request() {
    with_binary(&["--latency", "150", "--latency-jitter", "20", "--latency-seed", "3"], |port| {
        let settings: serde_json::Value =
            reqwest::blocking::get(format!("http://127.0.0.1:{port}/_emulator/simulation"))
                .and_then(|r| r.json())
                .expect("simulation settings");
        assert_eq!(
            (settings["requestLatencyMs"].as_u64(), settings["requestJitterMs"].as_u64()),
            (Some(150), Some(20))
        );
        for _ in 0..3 {
            let started = std::time::Instant::now();
            assert_eq!(deployment_query(port)["data"]["currentDeployment"]["organizationName"], "bin-org");
            let took = started.elapsed().as_millis();
            assert!(took >= 130, "a request took {took} ms, under the latency minus the jitter");
        }
    });
}

#[test]
fn the_binary_explains_itself() {
    let out = Command::new(env!("CARGO_BIN_EXE_dagster-plus-emulator")).arg("--help").output().expect("binary runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--state FILE") && text.contains("/_emulator/inventory"), "{text}");

    let bad =
        Command::new(env!("CARGO_BIN_EXE_dagster-plus-emulator")).arg("--organization").output().expect("binary runs");
    assert_eq!(bad.status.code(), Some(2));
}
