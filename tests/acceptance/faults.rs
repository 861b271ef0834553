//! Under injected faults (a seeded 20% of Dagster+ requests failing with 503, 429 + Retry-After or a
//! connection reset, plus creates whose response is dropped after they were committed), applies converge
//! within two runs and what exists in the emulator is exactly what the state records. The same holds for a
//! registry whose AWS calls go through a TCP fault proxy in front of moto (connections reset, or answered
//! by moto with the answer thrown away), where the SDK's own retries repeat non-idempotent creates.

use std::collections::BTreeSet;

use crate::support::*;
use dagster_plus_emulator::{FaultKind, FaultSpec};
use serde_json::Value;

const DEPLOYMENTS: usize = 10;
const REPOSITORY: &str = "dagster/faults";

fn configuration(emulator: &dagster_plus_emulator::RunningEmulator, aws_endpoint: &str) -> String {
    let mut config = provider_block_with_aws(emulator, aws_endpoint);
    config.push_str(&format!("\nresource \"dagsterbranch_registry\" \"ci\" {{\n  name = \"{REPOSITORY}\"\n  tags = {{ team = \"data\" }}\n}}\n"));
    config.push_str("\nresource \"dagsterbranch_agent\" \"bd\" {\n  label = \"faulty-agent\"\n}\n");
    config.push_str(&format!(
        r#"
resource "dagsterbranch_deployment" "branch" {{
  count  = {DEPLOYMENTS}
  repo   = "acme/faults"
  branch = "feature/${{count.index}}"
  commit {{
    hash      = "c0ffee${{count.index}}"
    timestamp = 1718000000
  }}
  code_location {{
    name        = "etl"
    image       = "ghcr.io/acme/etl:${{count.index}}"
    module_name = "etl.definitions"
  }}
  code_location {{
    name        = "ml"
    image       = "ghcr.io/acme/ml:${{count.index}}"
    module_name = "ml.definitions"
  }}
}}
"#
    ));
    config
}

#[test]
fn converges_within_two_applies_with_no_duplicates_or_orphans() {
    let emulator = start_emulator();
    let faults = [
        FaultSpec::fraction(FaultKind::Unavailable, 0.07, 11),
        FaultSpec::fraction(FaultKind::RateLimited, 0.07, 12).retry_after(1),
        FaultSpec::fraction(FaultKind::ConnectionReset, 0.06, 13),
        // Committed, then the response is lost: the provider must find what it made instead of repeating it.
        FaultSpec::next(FaultKind::DropResponse, 1).only("createAgentToken"),
        FaultSpec::fraction(FaultKind::DropResponse, 0.3, 14).only("createOrUpdateBranchDeployment"),
        FaultSpec::fraction(FaultKind::DropResponse, 0.2, 15).only("addOrUpdateLocationFromDocument"),
    ];
    for fault in faults {
        emulator.inject_fault(fault).expect("fault plan");
    }
    // AWS side: 18% of connections broken, and the first response of each non-idempotent create thrown
    // away after moto committed it, so every ambiguous create path runs each time.
    let moto = Moto::start();
    let proxy = FaultProxy::start(moto.addr(), ProxyFaults { reset: 0.08, drop_response: 0.10, seed: 21 });
    proxy.drop_next_response(&["CreateRepository", "CreateUser", "CreateAccessKey"]);
    let mut ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    moto.configure(&mut ws, "testing", "testing");
    ws.write(&configuration(&emulator, &proxy.url()));

    let mut applies = 0;
    loop {
        applies += 1;
        let run = ws.run(&["apply", "-auto-approve", "-no-color", "-parallelism=10"]);
        if run.code == 0 {
            break;
        }
        assert!(applies < 2, "apply #{applies} failed under faults:\n{}", run.describe());
    }
    let plan = ws.plan();
    assert_eq!(plan.code, 0, "not converged after {applies} apply(s):\n{}", plan.stdout);
    let report = emulator.faults();
    emulator.clear_faults();
    let aws_report = proxy.report();
    drop(proxy);

    // What the state says exists…
    let resources = ws.state_resources();
    let state_deployments: BTreeSet<String> = resources
        .iter()
        .filter(|r| r["type"] == "dagsterbranch_deployment")
        .map(|r| r["values"]["name"].as_str().unwrap_or_default().to_string())
        .collect();
    let agent = resources.iter().find(|r| r["type"] == "dagsterbranch_agent").expect("agent in state");
    let state_token = agent["values"]["token_id"].as_str().expect("owned token").to_string();

    // …against what the emulator holds.
    let inventory = emulator.inventory();
    let branch_deployments: Vec<&Value> = inventory["deployments"]
        .as_array()
        .expect("deployments")
        .iter()
        .filter(|d| d["deploymentType"] == "BRANCH")
        .collect();
    let remote_deployments: BTreeSet<String> =
        branch_deployments.iter().map(|d| d["deploymentName"].as_str().unwrap_or_default().to_string()).collect();
    let live_tokens: Vec<String> =
        agent_tokens(&emulator).into_iter().filter(|t| t["revoked"] == false).map(|t| t["id"].to_string()).collect();
    let location_counts: Vec<usize> =
        branch_deployments.iter().map(|d| d["locations"].as_array().map_or(0, Vec::len)).collect();

    // The registry: state against moto's whole ECR and IAM inventory.
    let registry = resources.iter().find(|r| r["type"] == "dagsterbranch_registry").expect("registry in state");
    let registry = &registry["values"];
    let text = |attribute: &str| {
        registry[attribute].as_str().unwrap_or_else(|| panic!("registry `{attribute}` missing: {registry}")).to_string()
    };
    let (user, key) = (text("user_name"), text("access_key_id"));
    assert_eq!(registry["tags"], serde_json::json!({ "team": "data" }), "the ownership marker stays out of `tags`");
    let aws = moto.aws_inventory();
    let aws_orphans = aws.repositories.iter().filter(|r| **r != REPOSITORY).count()
        + aws.users.iter().filter(|u| **u != user).count()
        + aws.keys.iter().filter(|(_, k)| *k != key).count();
    let aws_missing = usize::from(!aws.repositories.iter().any(|r| r == REPOSITORY))
        + usize::from(!aws.users.contains(&user))
        + usize::from(!aws.keys.contains(&(user.clone(), key.clone())));

    let orphans = remote_deployments.difference(&state_deployments).count()
        + live_tokens.iter().filter(|t| **t != state_token).count();
    let missing = state_deployments.difference(&remote_deployments).count();
    let duplicates = branch_deployments.len() - remote_deployments.len() + live_tokens.len().saturating_sub(1);
    let injected: u64 = report.injected.values().sum();
    println!(
        "faults injected: {injected} {:?}; aws faults: {aws_report}; applies needed: {applies}; duplicates: {duplicates}; orphans: {orphans}; missing: {missing}; aws orphans: {aws_orphans}; aws missing: {aws_missing}",
        report.injected
    );
    assert!(injected >= 20, "too few faults fired to mean anything: {:?}", report.injected);
    assert!(
        report.injected.get("drop_response").copied().unwrap_or(0) >= 1,
        "no response was dropped: {:?}",
        report.injected
    );
    assert_eq!(state_deployments.len(), DEPLOYMENTS);
    assert_eq!((duplicates, orphans, missing), (0, 0, 0));
    assert_eq!(live_tokens, vec![state_token]);
    assert!(
        location_counts.iter().all(|&n| n == 2),
        "every deployment has exactly its two locations: {location_counts:?}"
    );
    assert_eq!(aws_report.targeted, 3, "every targeted create lost its response: {aws_report}");
    assert!(
        aws_report.reset + aws_report.dropped_response >= 6,
        "too few AWS faults fired to mean anything: {aws_report}"
    );
    assert_eq!(aws.repositories, vec![REPOSITORY.to_string()], "exactly one repository: {aws:?}");
    assert_eq!(aws.users, vec![user.clone()], "exactly one IAM user: {aws:?}");
    assert_eq!(aws.keys, vec![(user, key)], "exactly one access key, the one in state: {aws:?}");
    assert_eq!((aws_orphans, aws_missing), (0, 0));
}

/// A provider block for `url`, with one agent token to create, so a plan must talk to Dagster+.
fn one_new_token(url: &str) -> String {
    format!(
        "{}\nresource \"dagsterbranch_agent_token\" \"t\" {{\n  description = \"endpoint check\"\n}}\n",
        provider_config(url, None)
    )
}

/// An API that cannot be reached fails plan and apply within seconds (no minute of retries), and the
/// message names the cause: connection refused, a host that does not resolve, a failed TLS handshake.
#[test]
fn an_unreachable_api_fails_plan_and_apply_fast_naming_the_cause() {
    let emulator = start_emulator();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let tls_to_plain_http = emulator.url().replace("http://", "https://");
    let cases = [
        (format!("http://127.0.0.1:{closed_port}"), "connection refused"),
        ("http://dagster-plus.invalid".to_string(), "does not resolve"),
        (tls_to_plain_http, "TLS handshake"),
    ];
    for (url, cause) in &cases {
        let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
        ws.write(&one_new_token(url));
        for command in [&["plan"][..], &["apply", "-auto-approve"][..]] {
            let run = ws.run_json(command);
            assert_eq!(run.run.code, 1, "{url}: terraform {command:?} must fail:\n{}", run.run.describe());
            let error = run.error_containing(cause);
            assert!(
                error.text().contains("that `url`") || error.text().contains("Check `url`"),
                "{url}: the message must say what to fix:\n{}",
                error.describe()
            );
            eprintln!("{url}: terraform {} failed in {:?}", command[0], run.run.elapsed);
            assert!(
                run.run.elapsed < std::time::Duration::from_secs(10),
                "{url}: terraform {command:?} took {:?}; an error no retry can fix must end at once",
                run.run.elapsed
            );
        }
        assert!(ws.state_resources().is_empty(), "{url}: nothing may be recorded");
    }
    assert_eq!(mutation_count(&emulator), 0);
}

/// Host names in `url` and the AWS `endpoint_url` resolve through the provider's own resolver (src/dns/:
/// /etc/hosts, then DNS; the static release binary cannot use getaddrinfo): `localhost` reaches the
/// emulator and moto for a whole create, re-plan and destroy.
#[test]
fn endpoints_named_localhost_work_end_to_end() {
    let emulator = start_emulator();
    let moto = Moto::start();
    let localhost = |url: String| url.replace("://127.0.0.1:", "://localhost:");
    let (dagster_url, aws_url) = (localhost(emulator.url()), localhost(moto.url()));
    assert!(dagster_url.starts_with("http://localhost:") && aws_url.starts_with("http://localhost:"));
    let mut ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    moto.configure(&mut ws, "testing", "testing");
    ws.write(&format!(
        "{}\nresource \"dagsterbranch_agent_token\" \"t\" {{\n  description = \"by name\"\n}}\n\
         resource \"dagsterbranch_registry\" \"ci\" {{\n  name = \"dagster/by-name\"\n}}\n",
        provider_config(&dagster_url, Some(&aws_url))
    ));
    ws.apply();
    assert!(mutation_count(&emulator) > 0, "the token must have been created in the emulator");
    assert_eq!(moto.aws_inventory().repositories, ["dagster/by-name"]);
    ws.assert_empty_plan("after an apply through `localhost`");
    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert!(moto.aws_inventory().repositories.is_empty(), "destroy must delete the repository");
}

/// A token of another organization, or a bad token, fails the plan of new objects with what to fix, and
/// nothing is written.
#[test]
fn a_wrong_organization_or_token_fails_at_plan_with_nothing_written() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(
        &one_new_token(&emulator.url()).replace(&format!("organization = \"{ORG}\""), "organization = \"other-org\""),
    );
    let plan = ws.run_json(&["plan"]);
    assert_eq!(plan.run.code, 1, "{}", plan.run.describe());
    let error = plan.error_containing("belongs to the Dagster+ organization `test-org`");
    assert!(error.text().contains("configured for `other-org`"), "{}", error.describe());
    ws.failing_apply().error_containing("configured for `other-org`");

    ws.write(&one_new_token(&emulator.url()).replace(ADMIN_TOKEN, "user:test-org:1:not-a-real-token"));
    let plan = ws.run_json(&["plan"]);
    assert_eq!(plan.run.code, 1, "{}", plan.run.describe());
    plan.error_containing("invalid or revoked");

    assert_eq!(mutation_count(&emulator), 0, "nothing may be written");
    assert!(ws.state_resources().is_empty());
}

/// A provider argument known only after apply (here `url` from another resource) is refused at plan, naming
/// the argument. It must not fall back to `DAGSTER_CLOUD_URL` (set here to a working emulator) or to
/// `https://ORG.dagster.cloud`, which would plan against another endpoint than the one configured.
#[test]
fn an_unknown_provider_url_is_refused_at_plan_not_replaced_by_a_fallback() {
    let emulator = start_emulator();
    let mut ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.env("DAGSTER_CLOUD_URL", &emulator.url());
    let config = one_new_token("${terraform_data.endpoint.id}");
    ws.write(&format!("resource \"terraform_data\" \"endpoint\" {{\n  input = \"dagster-plus\"\n}}\n{config}"));
    let plan = ws.run_json(&["plan"]);
    assert_eq!(plan.run.code, 1, "the plan must fail:\n{}", plan.run.describe());
    let unknown = plan
        .errors()
        .find(|d| d.summary == "Provider argument `url` is not known until apply")
        .unwrap_or_else(|| panic!("no error naming `url`:\n{}", plan.listing()));
    assert!(unknown.detail.contains("-target"), "the diagnostic must say what to do:\n{}", plan.listing());
    assert_eq!(mutation_count(&emulator), 0, "nothing may be written");
    assert!(ws.state_resources().is_empty());
}
