//! Terraform compatibility matrix: the core lifecycle of every resource and each version-gated protocol
//! feature, under every Terraform build that `scripts/dev-setup --matrix` installs.
//!
//! Run it with `scripts/compat` (which installs the builds and prints the table). The per-version tests are
//! `#[ignore]`d so that `scripts/test` does not need the ~1.3 GB of extra Terraform builds; `scripts/compat`
//! and CI run them with `--ignored`. Only `matrix_lists_the_builds_dev_setup_installs` runs in the plain suite.
//!
//! The provider itself never looks at Terraform's version: what differs per client is decided by Terraform
//! (which RPCs it calls, which fields it sends and reads). This file knows the versions only to assert what
//! each client must show.
//!
//! Adding a resource: write its `pub fn lifecycle(Terraform)` in the resource's module and list it in
//! `LIFECYCLES`.
//! Adding a Terraform build: one line in `scripts/dev-setup`'s `TERRAFORM_MATRIX` and one in `matrix!` below.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::deployment::REPO;
use crate::support::*;
use dagster_plus_emulator::RunningEmulator;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------------------
// The matrix

/// One cell of the table.
#[derive(Debug)]
enum Outcome {
    Works,
    /// The client predates the feature; the check asserted what Terraform does instead (usually refusing the
    /// configuration) and that nothing else broke.
    NotOffered,
    /// The client offers the feature but the provider has nothing that uses it (yet). No column is in this state
    /// today; the variant stays for the next feature a client ships before the provider uses it.
    #[allow(dead_code)]
    NotImplemented,
    Failed(String),
}

impl Outcome {
    fn label(&self) -> &'static str {
        match self {
            Outcome::Works => "works",
            Outcome::NotOffered => "not offered by this client",
            Outcome::NotImplemented => "not implemented by the provider",
            Outcome::Failed(_) => "FAILED",
        }
    }
}

/// Core lifecycle of one resource type: create, empty re-plan, in-place update, import, drift, destroy.
type Lifecycle = fn(Terraform);

/// Each is the resource module's own lifecycle (which that module also runs under the latest Terraform), so
/// the matrix tests exactly what the per-resource tests do, including every import form the build offers.
const LIFECYCLES: &[(&str, Lifecycle)] = &[
    ("dagsterbranch_agent_token", crate::agent_token::lifecycle),
    ("dagsterbranch_agent", crate::agent::lifecycle),
    ("dagsterbranch_deployment", crate::deployment::lifecycle),
    ("dagsterbranch_registry", crate::registry::lifecycle),
];

/// A feature that exists from some Terraform minor on. `check(terraform, offered)` asserts the behaviour on
/// its side of the gate and says which outcome it saw.
struct Feature {
    name: &'static str,
    since: (u32, u32),
    check: fn(Terraform, bool) -> Outcome,
}

const FEATURES: &[Feature] = &[
    Feature { name: "import {} blocks", since: (1, 5), check: import_block },
    Feature { name: "provider functions", since: (1, 8), check: provider_functions },
    Feature { name: "moved from dagsterplus_agent_token", since: (1, 8), check: moved_from_dagsterplus },
    Feature { name: "ephemeral resources", since: (1, 10), check: ephemeral_resources },
    Feature { name: "write-only attributes", since: (1, 11), check: write_only_attributes },
    Feature { name: "resource identity (import by identity)", since: (1, 12), check: resource_identity },
    Feature { name: "list resources (terraform query)", since: (1, 14), check: list_resources },
    Feature { name: "actions (terraform apply -invoke)", since: (1, 14), check: actions },
];

/// Runs every lifecycle and feature check under one build, records the row for `scripts/compat`, and fails
/// if any cell failed (after running all of them, so one failure does not hide the rest of the row).
fn run_build(version: &'static str) {
    let started = Instant::now();
    let terraform = Terraform::Version(version);
    let reported = terraform.reported_version();
    assert_eq!(reported, version, "{} is not the build it claims to be", terraform.binary().display());

    let mut cells = Vec::new();
    let mut failures = Vec::new();
    let mut record = |column: String, group: &str, outcome: Outcome, elapsed: Duration| {
        if let Outcome::Failed(message) = &outcome {
            failures.push(format!("{column}: {message}"));
        }
        cells.push(json!({
            "column": column,
            "group": group,
            "outcome": outcome.label(),
            "seconds": elapsed.as_secs_f64(),
        }));
    };

    for (resource, lifecycle) in LIFECYCLES {
        let (outcome, elapsed) = timed(|| {
            lifecycle(terraform);
            Outcome::Works
        });
        record(resource.to_string(), "core", outcome, elapsed);
    }
    let core_seconds = started.elapsed().as_secs_f64();
    for feature in FEATURES {
        let offered = terraform.minor() >= feature.since;
        let (outcome, elapsed) = timed(|| (feature.check)(terraform, offered));
        record(feature.name.to_string(), "feature", outcome, elapsed);
    }

    let row = json!({
        "version": version,
        "cells": cells,
        "core_seconds": core_seconds,
        "total_seconds": started.elapsed().as_secs_f64(),
    });
    if let Some(dir) = std::env::var_os("COMPAT_RESULTS_DIR") {
        std::fs::create_dir_all(&dir).expect("results dir");
        let path = std::path::Path::new(&dir).join(format!("{version}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&row).unwrap()).expect("write results");
    }
    eprintln!("terraform {version}: core {core_seconds:.1}s, total {:.1}s", started.elapsed().as_secs_f64());
    assert!(failures.is_empty(), "Terraform {version}:\n{}", failures.join("\n"));
}

/// Runs one cell, turning a failed assertion into `Outcome::Failed` with its message.
fn timed(cell: impl FnOnce() -> Outcome) -> (Outcome, Duration) {
    let started = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(cell)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".to_string());
        Outcome::Failed(message)
    });
    (outcome, started.elapsed())
}

macro_rules! matrix {
    ($($test:ident => $version:literal,)*) => {
        const VERSIONS: &[&str] = &[$($version),*];
        $(
            #[test]
            #[ignore = "compatibility matrix: run `scripts/compat` (installs the Terraform builds)"]
            fn $test() {
                run_build($version);
            }
        )*
    };
}

// Every Terraform minor with a build on PyPI (there is none for 1.7).
matrix! {
    terraform_1_00_3 => "1.0.3",
    terraform_1_06_6 => "1.6.6",
    terraform_1_08_4 => "1.8.4",
    terraform_1_09_8 => "1.9.8",
    terraform_1_10_5 => "1.10.5",
    terraform_1_11_4 => "1.11.4",
    terraform_1_12_2 => "1.12.2",
    terraform_1_13_5 => "1.13.5",
    terraform_1_14_9 => "1.14.9",
    terraform_1_15_5 => "1.15.5",
}

/// The list above and the builds `scripts/dev-setup --matrix` installs must not drift apart.
#[test]
fn matrix_lists_the_builds_dev_setup_installs() {
    let script = std::fs::read_to_string(repo_root().join("scripts/dev-setup")).expect("read scripts/dev-setup");
    let block = script
        .split("TERRAFORM_MATRIX=(")
        .nth(1)
        .and_then(|rest| rest.split("\n)").next())
        .expect("TERRAFORM_MATRIX=( … ) in scripts/dev-setup");
    let installed: Vec<&str> = block
        .lines()
        .filter_map(|line| line.trim().strip_prefix('"'))
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(installed, VERSIONS, "scripts/dev-setup TERRAFORM_MATRIX vs tests/acceptance/compat.rs matrix!");
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

fn plan_summary(ws: &Workspace, expected: &str, context: &str) {
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{context}: expected changes:\n{}", plan.describe());
    assert!(plan.stdout.contains(expected), "{context}: expected `{expected}`:\n{}", plan.stdout);
}

/// Every diagnostic Terraform printed, whichever stream (a command it does not know goes to stdout on some
/// builds).
fn all_output(run: &Run) -> String {
    format!("{}\n{}", run.stdout, run.stderr)
}

/// `terraform providers schema -json` for this provider.
fn provider_schema(ws: &Workspace) -> Value {
    let run = ws.ok(&["providers", "schema", "-json"]);
    let schemas: Value = serde_json::from_str(&run.stdout).expect("providers schema JSON");
    schemas["provider_schemas"]
        .as_object()
        .and_then(|all| all.values().next().cloned())
        .unwrap_or_else(|| panic!("no provider schema in {}", run.stdout))
}

/// The raw local state file (`show -json` shows resource identity only from 1.13 on; the file has it
/// whenever the client stores one).
fn state_file_instance(ws: &Workspace, address: &str) -> Value {
    let text = std::fs::read_to_string(ws.config_dir().join("terraform.tfstate")).expect("terraform.tfstate");
    let state: Value = serde_json::from_str(&text).expect("state JSON");
    let (kind, name) = address.split_once('.').expect("type.name");
    state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["type"] == kind && r["name"] == name)
        .map(|r| r["instances"][0].clone())
        .unwrap_or_else(|| panic!("{address} is not in terraform.tfstate"))
}

fn emulator() -> RunningEmulator {
    let emulator = start_emulator();
    // Deletion finishes at once, so drift and destroy do not wait on the simulated delay.
    emulator.set_deletion_delay(Duration::ZERO);
    emulator
}

// ---------------------------------------------------------------------------------------------------------
// Configuration the feature checks share

/// One branch deployment with one code location, as `deployment.rs` writes it.
fn deployment_resource(label: &str, branch: &str, hash: &str) -> String {
    let image = format!("ghcr.io/acme/etl:{hash}");
    crate::deployment::deployment_block(label, branch, hash, &[("etl", &image)], "")
}

// ---------------------------------------------------------------------------------------------------------
// Version-gated features

/// `import { to, id }` (Terraform 1.5+). Older clients refuse the block.
fn import_block(terraform: Terraform, offered: bool) -> Outcome {
    let emulator = emulator();
    let (id, _) = create_agent_token_elsewhere(&emulator, "made elsewhere");
    let ws = Workspace::new(terraform, Installation::DevOverrides);
    ws.write(&format!(
        "{}\nimport {{\n  to = dagsterbranch_agent_token.t\n  id = \"{id}\"\n}}\n\nresource \"dagsterbranch_agent_token\" \"t\" {{\n  description = \"made elsewhere\"\n}}\n",
        provider_block(&emulator)
    ));
    if !offered {
        let plan = ws.run_json(&["plan"]);
        assert_eq!(plan.run.code, 1, "an old client must refuse an import block:\n{}", plan.run.describe());
        plan.error_containing("Blocks of type \"import\" are not expected here");
        return Outcome::NotOffered;
    }
    plan_summary(&ws, "1 to import, 0 to add, 0 to change, 0 to destroy", "import block");
    ws.apply();
    assert_eq!(ws.state_attributes("dagsterbranch_agent_token.t")["id"], id.as_str());
    ws.assert_empty_plan("after an import block");
    Outcome::Works
}

/// Provider functions (1.8+): `image_reference` and `location_file` are served with the schema and computed
/// in a plan, and a bad argument fails naming it. Older clients cannot parse a `provider::` call and refuse the
/// configuration; without the call, the same client plans as before, `data.dagsterbranch_location_file` (the
/// function's every-version twin) included.
fn provider_functions(terraform: Terraform, offered: bool) -> Outcome {
    let emulator = emulator();
    let ws = Workspace::new(terraform, Installation::DevOverrides);
    let file = "locations: [{location_name: etl, code_source: {module_name: etl.defs}}]";
    let calls = format!(
        "{}\noutput \"image\" {{\n  value = provider::dagsterbranch::image_reference(\"ghcr.io/acme/etl\", \"abc\")\n}}\n\noutput \"locations\" {{\n  value = provider::dagsterbranch::location_file(\"{file}\", {{ etl = \"ghcr.io/acme/etl:1\" }})\n}}\n",
        provider_block(&emulator)
    );
    ws.write(&calls);
    if !offered {
        let plan = ws.run_json(&["plan"]);
        assert_eq!(plan.run.code, 1, "an old client must refuse a function call:\n{}", plan.run.describe());
        assert!(
            plan.errors().any(|e| e.source_line.as_deref().is_some_and(|l| l.contains("provider::dagsterbranch::"))),
            "the refusal must point at the call:\n{}",
            plan.listing()
        );
        ws.write(&format!(
            "{}\ndata \"dagsterbranch_location_file\" \"f\" {{\n  content = \"{file}\"\n}}\n\noutput \"names\" {{\n  value = data.dagsterbranch_location_file.f.location_names\n}}\n",
            provider_block(&emulator)
        ));
        ws.apply();
        let names: Value = serde_json::from_str(&ws.ok(&["output", "-json", "names"]).stdout).expect("output");
        assert_eq!(names, json!(["etl"]), "the data source works without functions");
        return Outcome::NotOffered;
    }
    let functions = provider_schema(&ws)["functions"].as_object().map(|f| f.keys().cloned().collect::<Vec<_>>());
    assert_eq!(functions.unwrap_or_default(), ["image_reference", "location_file"], "served functions");
    ws.apply();
    let outputs: Value = serde_json::from_str(&ws.ok(&["output", "-json"]).stdout).expect("outputs");
    assert_eq!(outputs["image"]["value"], "ghcr.io/acme/etl:abc");
    assert_eq!(outputs["locations"]["value"][0]["image"], "ghcr.io/acme/etl:1");
    assert_eq!(outputs["locations"]["value"][0]["module_name"], "etl.defs");
    ws.write(&format!(
        "{}\noutput \"bad\" {{\n  value = provider::dagsterbranch::image_reference(\"ghcr.io/acme/etl\", \"not a tag\")\n}}\n",
        provider_block(&emulator)
    ));
    let plan = ws.run_json(&["plan"]);
    let error = plan.error_containing("tag_or_digest");
    assert!(error.text().contains("\"tag_or_digest\" parameter"), "{}", error.describe());
    Outcome::Works
}

/// Ephemeral resources (1.10+): the registry login opens and its password reaches a provisioner, and is not
/// stored. Older clients refuse the `ephemeral` block themselves, never ask for ephemeral schemas, and plan
/// the rest of the configuration as before.
fn ephemeral_resources(terraform: Terraform, offered: bool) -> Outcome {
    let moto = Moto::start();
    let emulator = emulator();
    let mut ws = Workspace::new(terraform, Installation::DevOverrides);
    moto.configure(&mut ws, "testing", "testing");
    let provider = provider_block_with_aws(&emulator, &moto.url());
    let login = r#"
ephemeral "dagsterbranch_registry_credentials" "login" {}

resource "terraform_data" "login" {
  provisioner "local-exec" {
    command     = "printf '%s' \"$LOGIN_PASSWORD\" > password.txt"
    environment = { LOGIN_PASSWORD = ephemeral.dagsterbranch_registry_credentials.login.password }
  }
}
"#;
    ws.write(&format!("{provider}{login}"));
    if !offered {
        let plan = ws.run_json(&["plan"]);
        assert_eq!(plan.run.code, 1, "an old client must refuse an ephemeral block:\n{}", plan.run.describe());
        plan.error_containing("Blocks of type \"ephemeral\" are not expected here");
        // Without the block, the same client reads the schema and plans the provider's resources as before
        // (`terraform_data` is not used here: Terraform 1.0 predates it).
        ws.write(&format!(
            "{provider}\nresource \"dagsterbranch_agent_token\" \"t\" {{\n  description = \"compat\"\n}}\n"
        ));
        let schema = provider_schema(&ws);
        let ephemeral_schemas = schema.get("ephemeral_resource_schemas").and_then(Value::as_object).map(|s| s.len());
        assert_eq!(ephemeral_schemas.unwrap_or(0), 0, "an old client shows no ephemeral schemas: {schema}");
        plan_summary(&ws, "1 to add, 0 to change, 0 to destroy", "without the ephemeral block");
        return Outcome::NotOffered;
    }
    ws.apply();
    let written = std::fs::read_to_string(ws.config_dir().join("password.txt")).expect("the provisioner's file");
    assert!(written.ends_with("-auth-token"), "the provisioner did not get moto's password: {written:?}");
    let state = std::fs::read_to_string(ws.config_dir().join("terraform.tfstate")).expect("state");
    assert!(!state.contains(&written), "the ephemeral password was stored in state");
    ws.assert_empty_plan("after applying with an ephemeral resource");
    Outcome::Works
}

/// Write-only attributes (1.11+): `dagsterbranch_agent.token_wo` from an ephemeral variable runs the agent and
/// reaches no state. Older clients do not know write-only arguments and would store it, so the provider
/// refuses it at validate, naming the attribute and the stored alternative.
fn write_only_attributes(terraform: Terraform, offered: bool) -> Outcome {
    let emulator = emulator();
    let (_, token) = create_agent_token_elsewhere(&emulator, "write-only");
    let mut ws = Workspace::new(terraform, Installation::DevOverrides);
    if !offered {
        ws.write(&format!(
            "{}\nresource \"dagsterbranch_agent\" \"bd\" {{\n  label    = \"branch-agent\"\n  token_wo = \"{token}\"\n}}\n",
            provider_block(&emulator)
        ));
        let validated = ws.run_json(&["validate"]);
        assert_eq!(validated.run.code, 1, "an old client must be refused:\n{}", validated.run.describe());
        let error = validated.error_containing("needs Terraform 1.11 or later");
        assert!(error.names_attribute("token_wo"), "{}", error.describe());
        assert!(error.detail.contains("`token`"), "the refusal names the stored alternative: {}", error.describe());
        // (Terraform's own snippet shows the configuration line; the provider's text must not repeat the value.)
        assert!(!error.text().contains(&token), "the diagnostic quotes the token: {}", error.describe());
        return Outcome::NotOffered;
    }
    ws.env("TF_VAR_agent_token", &token);
    ws.write(&crate::agent::write_only_config(&emulator, 1));
    ws.apply();
    let state = std::fs::read_to_string(ws.config_dir().join("terraform.tfstate")).expect("state");
    assert!(!state.contains(&token), "the write-only token was stored in state");
    assert!(ws.state_attributes("dagsterbranch_agent.bd")["agent_token"].is_null());
    ws.assert_empty_plan("after applying a write-only token");
    Outcome::Works
}

/// Resource identity (1.12+): the deployment's identity is stored in state and `import { identity = … }`
/// adopts it. Older clients never ask for identity (absent from state and schema, lifecycle unaffected) and
/// refuse an identity import block themselves.
fn resource_identity(terraform: Terraform, offered: bool) -> Outcome {
    let emulator = emulator();
    let owner = Workspace::new(terraform, Installation::DevOverrides);
    owner.write(&format!("{}{}", provider_block(&emulator), deployment_resource("d", "feature/identity", "abc")));
    owner.apply();
    let instance = state_file_instance(&owner, "dagsterbranch_deployment.d");
    let identity_schemas = provider_schema(&owner)
        .get("resource_identity_schemas")
        .and_then(Value::as_object)
        .map(|s| s.keys().cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    if offered {
        assert_eq!(
            instance["identity"],
            json!({ "repo": REPO, "branch": "feature/identity" }),
            "identity in state: {instance}"
        );
        assert!(
            identity_schemas.iter().any(|s| s == "dagsterbranch_deployment"),
            "identity schemas: {identity_schemas:?}"
        );
    } else {
        assert!(instance.get("identity").is_none_or(Value::is_null), "an old client stores no identity: {instance}");
        assert!(identity_schemas.is_empty(), "an old client shows no identity schemas: {identity_schemas:?}");
    }
    owner.assert_empty_plan("identity owner");

    let ws = Workspace::new(terraform, Installation::DevOverrides);
    ws.write(&format!(
        "{}{}\nimport {{\n  to = dagsterbranch_deployment.adopted\n  identity = {{\n    repo   = \"{REPO}\"\n    branch = \"feature/identity\"\n  }}\n}}\n",
        provider_block(&emulator),
        deployment_resource("adopted", "feature/identity", "abc")
    ));
    if !offered {
        let plan = ws.run_json(&["plan"]);
        assert_eq!(plan.run.code, 1, "an old client must refuse import by identity:\n{}", plan.run.describe());
        let refused = if terraform.minor() >= (1, 5) {
            "An argument named \"identity\" is not expected here"
        } else {
            "Blocks of type \"import\" are not expected here"
        };
        plan.error_containing(refused);
        return Outcome::NotOffered;
    }
    plan_summary(&ws, "1 to import, 0 to add, 0 to change, 0 to destroy", "import by identity");
    ws.apply();
    assert_eq!(state_file_instance(&ws, "dagsterbranch_deployment.adopted")["identity"]["branch"], "feature/identity");
    ws.assert_empty_plan("after import by identity");
    Outcome::Works
}

/// List resources for `terraform query` (1.14+). Older clients have no `query` command and ignore
/// `.tfquery.hcl` files, so a configuration that has one still plans normally.
fn list_resources(terraform: Terraform, offered: bool) -> Outcome {
    let emulator = emulator();
    let ws = Workspace::new(terraform, Installation::DevOverrides);
    ws.write(&format!("{}{}", provider_block(&emulator), deployment_resource("d", "feature/listed", "abc")));
    ws.apply();
    std::fs::write(
        ws.config_dir().join("deployments.tfquery.hcl"),
        format!("list \"dagsterbranch_deployment\" \"all\" {{\n  provider = dagsterbranch\n  config {{\n    repo = \"{REPO}\"\n  }}\n}}\n"),
    )
    .expect("write query");
    ws.assert_empty_plan("with a .tfquery.hcl file present");
    if !offered {
        let run = ws.run(&["query", "-no-color"]);
        assert_eq!(run.code, 1, "an old client has no query command:\n{}", run.describe());
        assert!(all_output(&run).contains("has no command named \"query\""), "{}", run.describe());
        return Outcome::NotOffered;
    }
    let run = ws.ok(&["query", "-no-color"]);
    assert!(run.stdout.contains("list.dagsterbranch_deployment.all"), "{}", run.stdout);
    assert!(run.stdout.contains("feature/listed"), "{}", run.stdout);
    Outcome::Works
}

/// The cleanup action: from 1.14 a dry run reports the stale deployment and writes nothing, then the real run
/// closes it; older clients refuse the `action` block at validate, and the same configuration without it
/// still plans.
fn actions(terraform: Terraform, offered: bool) -> Outcome {
    use crate::actions::{branch_deployment, OLD, REPO as ACTIONS_REPO};
    let emulator = emulator();
    let stale = branch_deployment(&emulator, ACTIONS_REPO, "stale", "OPEN", OLD);
    let ws = Workspace::new(terraform, Installation::DevOverrides);
    let action = |dry_run: bool| {
        format!(
            "action \"dagsterbranch_cleanup_branch_deployments\" \"stale\" {{\n  config {{\n    repo = \"{ACTIONS_REPO}\"\n    older_than_days = 30\n    dry_run = {dry_run}\n  }}\n}}\n"
        )
    };
    let without = format!("{}{}", provider_block(&emulator), deployment_resource("d", "feature/actions", "abc"));
    let invoke =
        ["apply", "-auto-approve", "-no-color", "-invoke=action.dagsterbranch_cleanup_branch_deployments.stale"];
    if !offered {
        // Not a dry run: if an old client invoked it anyway, the write would show in the emulator.
        ws.write(&format!("{without}{}", action(false)));
        let run = ws.run(&["validate", "-no-color"]);
        // 1.13 already parses `action` blocks (and ignores them); older clients refuse them.
        if run.code != 0 {
            assert!(all_output(&run).contains("\"action\""), "{}", run.describe());
        }
        let invoked = ws.run(&invoke);
        assert_ne!(invoked.code, 0, "an old client cannot invoke an action:\n{}", invoked.describe());
        assert_eq!(mutation_count(&emulator), 1, "nothing was invoked");
        ws.write(&without);
        plan_summary(&ws, "1 to add", "without the action block");
        assert_eq!(mutation_count(&emulator), 1, "only the seeded deployment was written");
        return Outcome::NotOffered;
    }
    ws.write(&format!("{without}{}", action(true)));
    let writes = mutation_count(&emulator);
    let dry = ws.ok(&invoke);
    assert!(dry.stdout.contains(&format!("would close `{stale}`")), "{}", dry.describe());
    assert_eq!(mutation_count(&emulator), writes, "a dry run writes nothing");
    ws.write(&format!("{without}{}", action(false)));
    let real = ws.ok(&invoke);
    assert!(real.stdout.contains(&format!("closed `{stale}`")), "{}", real.describe());
    let closed = branch_deployments(&emulator)
        .into_iter()
        .any(|d| d["deploymentName"] == stale.as_str() && d["branch"]["pullRequestStatus"] == "CLOSED");
    assert!(closed, "{stale} is CLOSED in the emulator");
    Outcome::Works
}

/// `moved` from the official provider's agent token: the same token changes hands from 1.8 on; older clients
/// refuse the block (1.0 has no `moved`, 1.1–1.7 no moves between resource types) and nothing is written.
fn moved_from_dagsterplus(terraform: Terraform, offered: bool) -> Outcome {
    let emulator = emulator();
    let (ws, _stand_in, token_id, token) = crate::moved::moving_workspace(terraform, &emulator);
    if offered {
        crate::moved::assert_moves_with_the_same_token(&emulator, &ws, &token_id, &token);
        return Outcome::Works;
    }
    let tokens_before = agent_tokens(&emulator).len();
    let planned = ws.run(&["plan", "-no-color"]);
    assert_eq!(planned.code, 1, "an old client refuses the move:\n{}", planned.describe());
    assert_eq!(agent_tokens(&emulator).len(), tokens_before, "no token was created");
    assert_eq!(agent_token(&emulator, &token_id)["revoked"], false, "the token was not revoked");
    Outcome::NotOffered
}
