//! `dagsterbranch_deployment` under real Terraform against the Dagster+ emulator, with deployments made by
//! the real `dagster-cloud` CLI for the import paths.

use crate::support::*;
use dagster_plus_emulator::RunningEmulator;
use serde_json::{json, Value};

pub const REPO: &str = "acme/data-platform";

fn location(name: &str, image: &str) -> String {
    format!(
        r#"
  code_location {{
    name              = "{name}"
    image             = "{image}"
    module_name       = "{name}.definitions"
    container_context = jsonencode({{ k8s = {{ namespace = "branch" }} }})
  }}"#
    )
}

pub fn deployment_block(label: &str, branch: &str, hash: &str, locations: &[(&str, &str)], extra: &str) -> String {
    let locations: String = locations.iter().map(|(name, image)| location(name, image)).collect();
    format!(
        r#"
resource "dagsterbranch_deployment" "{label}" {{
  repo   = "{REPO}"
  branch = "{branch}"
  commit {{
    hash      = "{hash}"
    timestamp = 1718000000
    message   = "Work on {branch}"
  }}
  pull_request {{
    number = "17"
    url    = "https://github.com/{REPO}/pull/17"
  }}
  {extra}
  {locations}
}}
"#
    )
}

fn deployment(emulator: &RunningEmulator, name: &str) -> Option<Value> {
    let data = graphql(
        emulator,
        "query($name: String!) { deploymentByName(name: $name) { __typename ... on DagsterCloudDeployment {
            deploymentName deploymentType deploymentStatus
            branchDeploymentGitMetadata { pullRequestStatus }
            latestCommit { commitHash } } } }",
        json!({ "name": name }),
    );
    let result = data["deploymentByName"].clone();
    (result["__typename"] == "DagsterCloudDeployment").then_some(result)
}

fn location_names(emulator: &RunningEmulator, deployment: &str) -> Vec<String> {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/{deployment}/graphql", emulator.url()))
        .header("Dagster-Cloud-Api-Token", ADMIN_TOKEN)
        .json(&json!({ "query": "{ workspace { workspaceEntries { locationName } } }", "variables": {} }))
        .send()
        .expect("workspace query");
    let body: Value = response.json().expect("JSON");
    let mut names: Vec<String> = body["data"]["workspace"]["workspaceEntries"]
        .as_array()
        .unwrap_or_else(|| panic!("no workspace in {body}"))
        .iter()
        .map(|e| e["locationName"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

/// Attributes an imported deployment cannot fill: none. `snapshot_base_condition` (an input Dagster+ never
/// returns) and `timeouts` (how long this Terraform waits) cannot be read back, but the configurations
/// imported here leave both unset, so they are compared too.
pub const IMPORT_IGNORE: &[&str] = &[];

fn list_query() -> String {
    format!("list \"dagsterbranch_deployment\" \"all\" {{\n  provider = dagsterbranch\n  config {{\n    repo = \"{REPO}\"\n  }}\n}}\n")
}

/// Create → empty re-plan → in-place update (a new commit) → verified import every way this Terraform offers
/// (`terraform import` by `repo:branch` and by name; an import block from 1.5, by identity from 1.12, from
/// `terraform query` generated configuration from 1.14) → deleted out of band → destroy. Run here under
/// the latest Terraform and 1.0, and by `compat.rs` under every build of the matrix.
pub fn lifecycle(terraform: Terraform) {
    let emulator = start_emulator();
    // Deletion finishes at once, so drift and destroy do not wait on the simulated delay.
    emulator.set_deletion_delay(std::time::Duration::ZERO);
    let live = |name: &str| deployment(&emulator, name).is_some_and(|d| d["deploymentStatus"] == "ACTIVE");
    let ws = Workspace::new(terraform, Installation::DevOverrides);
    let address = "dagsterbranch_deployment.x";
    let branch = "feature/lifecycle";
    let config = |hash: &str| {
        format!(
            "{}{}",
            provider_block(&emulator),
            deployment_block("x", branch, hash, &[("etl", &format!("ghcr.io/acme/etl:{hash}"))], "")
        )
    };
    let plan_summary = |expected: &str, context: &str| {
        let plan = ws.plan();
        assert_eq!(plan.code, 2, "{context}: expected changes:\n{}", plan.describe());
        assert!(plan.stdout.contains(expected), "{context}: expected `{expected}`:\n{}", plan.stdout);
    };

    ws.write(&config("aaa111"));
    ws.apply();
    let name = ws.state_attributes(address)["name"].as_str().expect("name").to_string();
    assert!(live(&name), "the deployment must be ACTIVE after create");
    ws.assert_empty_plan("after create");

    ws.write(&config("bbb222"));
    plan_summary("0 to add, 1 to change, 0 to destroy", "new commit");
    ws.apply();
    assert_eq!(ws.state_attributes(address)["name"], name.as_str(), "an update must keep the deployment");
    assert_eq!(deployment(&emulator, &name).expect("deployment")["latestCommit"]["commitHash"], "bbb222");
    ws.assert_empty_plan("after the update");

    let repo_branch = format!("{REPO}:{branch}");
    let identity = [("repo", REPO), ("branch", branch)];
    let provider = provider_block(&emulator);
    let query = list_query();
    for how in [
        ImportForm::Cli(&repo_branch),
        ImportForm::Cli(&name),
        ImportForm::Block(&repo_branch),
        ImportForm::Identity(&identity),
        ImportForm::Query { config: &provider, query: &query },
    ] {
        if !terraform.offers(how) {
            continue;
        }
        let imported = verify_import(&ws, address, how, IMPORT_IGNORE);
        assert_eq!(imported.attributes["name"], name.as_str(), "{how:?}");
        ws.assert_empty_plan(&format!("after importing by {how:?}"));
    }

    let id = ws.state_attributes(address)["deployment_id"].as_i64().expect("deployment_id");
    graphql(
        &emulator,
        "mutation($id: Int!) { deleteDeployment(deploymentId: $id) { __typename } }",
        json!({ "id": id }),
    );
    plan_summary("1 to add, 0 to change, 0 to destroy", "deleted out of band");
    ws.apply();
    let recreated = ws.state_attributes(address)["name"].as_str().expect("name").to_string();
    assert!(live(&recreated), "the re-created deployment must be ACTIVE");

    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert!(!live(&recreated), "destroy must delete the deployment");
    assert!(deployment(&emulator, &recreated).is_none_or(|d| d["deploymentStatus"] == "PENDING_DELETION"));
}

#[test]
fn lifecycle_with_latest_terraform() {
    lifecycle(Terraform::Latest);
}

#[test]
fn three_deployments_with_two_locations_each_then_updates_and_destroy() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    let two = [("etl", "ghcr.io/acme/etl:abc123"), ("ml", "ghcr.io/acme/ml:abc123")];
    let config = |hash: &str, second_locations: &[(&str, &str)]| {
        format!(
            "{}{}{}{}",
            provider_block(&emulator),
            deployment_block("a", "feature/a", "aaa111", &two, ""),
            deployment_block("b", "feature/b", hash, second_locations, ""),
            deployment_block("c", "feature/c", "ccc333", &two, "on_destroy = \"close\""),
        )
    };
    ws.write(&config("bbb222", &two));
    ws.apply();
    ws.assert_empty_plan("after creating three deployments");
    let name_b = ws.state_attributes("dagsterbranch_deployment.b")["name"].as_str().unwrap().to_string();
    let name_c = ws.state_attributes("dagsterbranch_deployment.c")["name"].as_str().unwrap().to_string();
    assert_eq!(location_names(&emulator, &name_b), ["etl", "ml"]);
    let state_b = ws.state_attributes("dagsterbranch_deployment.b");
    assert_eq!(state_b["code_location"][0]["load_status"], "LOADED", "{state_b}");
    assert_eq!(state_b["url"], format!("{}/{name_b}", emulator.url()));

    // A new commit is an in-place update of the same deployment; the deployment's and the unchanged
    // locations' statuses stay as they are in the plan.
    ws.write(&config("bbb999", &two));
    let plan = ws.plan();
    assert!(plan.stdout.contains("0 to add, 1 to change, 0 to destroy"), "{}", plan.stdout);
    let noise: Vec<&str> =
        plan.stdout.lines().filter(|l| l.contains("status") && l.contains("(known after apply)")).collect();
    assert!(noise.is_empty(), "statuses planned as unknown in an update: {noise:?}\n{}", plan.stdout);
    ws.apply();
    assert_eq!(ws.state_attributes("dagsterbranch_deployment.b")["name"], name_b.as_str());
    assert_eq!(deployment(&emulator, &name_b).unwrap()["latestCommit"]["commitHash"], "bbb999");

    // A location removed from configuration is deleted.
    ws.write(&config("bbb999", &two[..1]));
    ws.apply();
    assert_eq!(location_names(&emulator, &name_b), ["etl"]);
    ws.assert_empty_plan("after removing a location");

    // Destroy: `delete` removes the deployment, `close` marks its pull request closed and leaves it.
    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    // Destroy returns once Dagster+ has finished deleting, not while the deployment is PENDING_DELETION.
    assert_eq!(deployment(&emulator, &name_b), None, "destroy returned before the deletion finished");
    let closed = deployment(&emulator, &name_c).expect("a closed deployment stays");
    assert_eq!(closed["branchDeploymentGitMetadata"]["pullRequestStatus"], "CLOSED");
}

#[test]
fn formatting_of_container_context_never_causes_a_diff() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    let with_context = |context: &str| {
        format!(
            r#"{provider}
resource "dagsterbranch_deployment" "x" {{
  repo   = "{REPO}"
  branch = "feature/yaml"
  commit {{
    hash      = "abc"
    timestamp = 1718000000
  }}
  code_location {{
    name              = "etl"
    image             = "ghcr.io/acme/etl:abc"
    package_name      = "etl"
    container_context = {context}
  }}
}}
"#,
            provider = provider_block(&emulator)
        )
    };
    ws.write(&with_context(r#"jsonencode({ k8s = { namespace = "bd", env = ["A=1"] } })"#));
    ws.apply();
    ws.write(&with_context(r#"yamlencode({ k8s = { env = ["A=1"], namespace = "bd" } })"#));
    ws.assert_empty_plan("after rewriting the same container context as YAML");
    ws.write(&with_context(r#"yamlencode({ k8s = { env = ["A=2"], namespace = "bd" } })"#));
    assert_eq!(ws.plan().code, 2, "a changed container context must show");
}

#[test]
fn out_of_band_changes_are_detected() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&format!(
        "{}{}",
        provider_block(&emulator),
        deployment_block("x", "feature/drift", "abc", &[("etl", "ghcr.io/acme/etl:1")], "")
    ));
    ws.apply();
    let name = ws.state_attributes("dagsterbranch_deployment.x")["name"].as_str().unwrap().to_string();

    // A location added with the CLI shows as a change (Terraform removes it).
    let run = dagster_cloud(&[
        "deployment",
        "add-location",
        "--url",
        &format!("{}/{name}", emulator.url()),
        "--location-name",
        "extra",
        "--image",
        "ghcr.io/acme/extra:1",
        "--module-name",
        "extra.defs",
        "--location-load-timeout",
        "0",
        "--agent-heartbeat-timeout",
        "0",
    ]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(ws.plan().code, 2, "an out-of-band location must show as drift");
    ws.apply();
    assert_eq!(location_names(&emulator, &name), ["etl"]);

    // Closed outside Terraform (the CLI's --pull-request-status): the status difference shows.
    let run = dagster_cloud(&[
        "branch-deployment",
        "create-or-update",
        "--url",
        &emulator.url(),
        "--git-repo-name",
        REPO,
        "--branch-name",
        "feature/drift",
        "--commit-hash",
        "abc",
        "--timestamp",
        "1718000000",
        "--pull-request-status",
        "CLOSED",
    ]);
    assert_eq!(run.code, 0, "{}", run.describe());
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "closing outside Terraform must show:\n{}", plan.stdout);
    assert!(plan.stdout.contains("\"CLOSED\" -> \"OPEN\""), "{}", plan.stdout);
    ws.apply();

    // Deleted outside Terraform: planned for creation again.
    let run =
        dagster_cloud(&["branch-deployment", "delete", "--url", &format!("{}/{name}", emulator.url()), "-d", &name]);
    assert_eq!(run.code, 0, "{}", run.describe());
    let plan = ws.plan();
    assert!(plan.stdout.contains("1 to add, 0 to change, 0 to destroy"), "{}", plan.stdout);
}

#[test]
fn a_location_that_fails_to_load_reports_the_error_and_is_recorded() {
    let emulator = start_emulator();
    emulator.set_failing_image_pattern(Some("broken".to_string()));
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&format!(
        "{}{}",
        provider_block(&emulator),
        deployment_block(
            "x",
            "feature/broken",
            "abc",
            &[("etl", "ghcr.io/acme/etl:1"), ("bad", "ghcr.io/acme/broken:1")],
            ""
        )
    ));
    let applied = ws.failing_apply();
    let error = applied.error_containing("Code location `bad` failed to load");
    assert!(
        error.names_attribute("code_location") || error.text().contains("code_location[1]"),
        "{}",
        error.describe()
    );
    let state = ws.state_attributes("dagsterbranch_deployment.x");
    assert!(state["name"].is_string(), "the deployment must be recorded: {state}");
    assert_eq!(state["code_location"][1]["load_status"], "ERROR");
}

/// A deployment made by the real CLI (with a location added by the CLI) is imported every way Terraform
/// offers, each ending in an empty plan.
#[test]
fn imports_a_cli_made_deployment_every_way() {
    let emulator = start_emulator();
    let pull_request =
        ["--pull-request-id", "42", "--pull-request-url", "https://github.com/acme/data-platform/pull/42"];
    let extra = [&["--commit-message", "From the CLI"][..], &pull_request, &["--pull-request-status", "OPEN"]].concat();
    let name = cli_branch_deployment(&emulator, "feature/cli", ("c0ffee", "1718000000"), &extra);
    let run = dagster_cloud(&[
        "deployment",
        "add-location",
        "--url",
        &format!("{}/{name}", emulator.url()),
        "--location-name",
        "etl",
        "--image",
        "ghcr.io/acme/etl:c0ffee",
        "--module-name",
        "etl.definitions",
        "--location-load-timeout",
        "0",
        "--agent-heartbeat-timeout",
        "0",
    ]);
    assert_eq!(run.code, 0, "{}", run.describe());
    // The CLI returned without waiting for the load; every import below is compared with a state Terraform
    // wrote after the location loaded, so the imports start once it has.
    wait_until("the CLI-made location to load", std::time::Duration::from_secs(10), || {
        branch_deployments(&emulator).iter().any(|d| {
            d["deploymentName"] == name.as_str()
                && d["locations"].as_array().is_some_and(|all| all.iter().all(|l| l["load"]["status"] == "LOADED"))
        })
    });

    let resource = |label: &str| {
        format!(
            r#"
resource "dagsterbranch_deployment" "{label}" {{
  repo   = "{REPO}"
  branch = "feature/cli"
  commit {{
    hash      = "c0ffee"
    timestamp = 1718000000
    message   = "From the CLI"
  }}
  pull_request {{
    number = "42"
    url    = "https://github.com/acme/data-platform/pull/42"
  }}
  code_location {{
    name        = "etl"
    image       = "ghcr.io/acme/etl:c0ffee"
    module_name = "etl.definitions"
  }}
}}
"#
        )
    };
    let address = "dagsterbranch_deployment.imported";
    let config = format!("{}{}", provider_block(&emulator), resource("imported"));
    let mut imports = Vec::new();
    let repo_branch = format!("{REPO}:feature/cli");
    for (how, id) in [("repo:branch", &repo_branch), ("name", &name)] {
        let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
        ws.write(&config);
        let imported = import_as(&ws, address, ImportForm::Cli(id));
        assert_eq!(imported.attributes["name"], name.as_str(), "import by {how}");
        ws.assert_empty_plan(&format!("after terraform import by {how}"));
        imports.push((format!("terraform import by {how}"), imported.attributes, ws));
    }

    let identity = [("repo", REPO), ("branch", "feature/cli")];
    for (how, form) in [("an import block", ImportForm::Block(&name)), ("identity", ImportForm::Identity(&identity))] {
        let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
        ws.write(&config);
        // Plans as exactly `1 to import, 0 to add, 0 to change, 0 to destroy`, then applies.
        let imported = import_as(&ws, address, form);
        ws.assert_empty_plan(&format!("after importing by {how}"));
        imports.push((format!("importing by {how}"), imported.attributes, ws));
    }

    // terraform query lists it and writes configuration that imports it.
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&provider_block(&emulator));
    let query = list_query();
    let imported = import_as(&ws, address, ImportForm::Query { config: "", query: &query });
    assert!(imported.output.contains("feature/cli"), "{}", imported.output);
    let generated = std::fs::read_to_string(ws.config_dir().join("generated.tf")).expect("generated config");
    assert!(generated.contains("dagsterbranch_deployment"), "{generated}");
    ws.assert_empty_plan("after importing from generated configuration");
    imports.push(("generated configuration".to_string(), imported.attributes, ws));

    // Every import of the CLI-made deployment read what Terraform writes for the same configuration: an
    // update there and back (a new commit message, then the CLI's again) makes a state that apply wrote.
    let ws = &imports[0].2;
    ws.write(&config.replace("message   = \"From the CLI\"", "message   = \"From Terraform\""));
    ws.apply();
    ws.write(&config);
    ws.apply();
    ws.assert_empty_plan("after the update there and back");
    let applied = ws.state_attributes(address);
    for (how, attributes, _) in &imports {
        assert_same_attributes(&applied, attributes, IMPORT_IGNORE, &format!("the CLI-made deployment after {how}"));
    }
}

#[test]
fn data_source_filters_branch_deployments() {
    let emulator = start_emulator();
    for (branch, status) in [("feature/open", "OPEN"), ("feature/closed", "CLOSED")] {
        cli_branch_deployment(&emulator, branch, ("abc", "1500000000"), &["--pull-request-status", status]);
    }
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&format!(
        r#"{provider}
data "dagsterbranch_deployments" "closed" {{
  repo                = "{REPO}"
  pull_request_status = "CLOSED"
  older_than_days     = 30
}}

output "closed" {{
  value = [for d in data.dagsterbranch_deployments.closed.deployments : d.branch]
}}
"#,
        provider = provider_block(&emulator)
    ));
    ws.apply();
    let output = ws.ok(&["output", "-json", "closed"]);
    let branches: Value = serde_json::from_str(&output.stdout).expect("output JSON");
    assert_eq!(branches, json!(["feature/closed"]));
}

/// Create, update, verified `terraform import` by `repo:branch` and by name, drift and destroy with
/// Terraform 1.0 (the oldest client with protocol 6).
#[test]
fn works_with_terraform_1_0() {
    lifecycle(Terraform::V1_0);
}

#[test]
fn bad_configurations_fail_at_plan_with_the_attribute_named() {
    let emulator = start_emulator();
    let cases = [
        ("two code sources", "code_location {\n name = \"a\"\n image = \"ghcr.io/a/b:1\"\n module_name = \"m\"\n python_file = \"f.py\"\n}", "more than one code source"),
        ("no code source", "code_location {\n name = \"a\"\n image = \"ghcr.io/a/b:1\"\n}", "no code source"),
        ("duplicate names", "code_location {\n name = \"a\"\n image = \"ghcr.io/a/b:1\"\n module_name = \"m\"\n}\ncode_location {\n name = \"a\"\n image = \"ghcr.io/a/b:1\"\n module_name = \"m\"\n}", "Duplicate code location name"),
        ("empty name", "code_location {\n name = \"\"\n image = \"ghcr.io/a/b:1\"\n module_name = \"m\"\n}", "must not be empty"),
        ("bad image", "code_location {\n name = \"a\"\n image = \"GHCR.io/A B\"\n module_name = \"m\"\n}", "Invalid value for `image`"),
        ("bad container context", "code_location {\n name = \"a\"\n image = \"ghcr.io/a/b:1\"\n module_name = \"m\"\n container_context = \"[1, 2\"\n}", "Invalid value for `container_context`"),
        ("bad status", "pull_request {\n status = \"closed\"\n}", "Invalid value for `status`"),
        ("bad on_destroy", "on_destroy = \"archive\"", "Invalid value for `on_destroy`"),
        ("bad timeout", "timeouts {\n create = \"soon\"\n}", "Invalid value for `create`"),
        ("unknown base deployment", "base_deployment = \"staging\"", "no full deployment named `staging`"),
    ];
    for (what, body, expected) in cases {
        let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
        ws.write(&format!(
            "{}\nresource \"dagsterbranch_deployment\" \"x\" {{\n  repo = \"{REPO}\"\n  branch = \"b\"\n  commit {{\n    hash = \"a\"\n    timestamp = 1\n  }}\n  {body}\n}}\n",
            provider_block(&emulator)
        ));
        let plan = ws.run_json(&["plan"]);
        assert_eq!(plan.run.code, 1, "{what}: plan should fail:\n{}", plan.run.describe());
        plan.error_containing(expected);
    }
    // A timestamp that is not a number is refused by the schema's type.
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&format!(
        "{}\nresource \"dagsterbranch_deployment\" \"x\" {{\n  repo = \"{REPO}\"\n  branch = \"b\"\n  commit {{\n    hash = \"a\"\n    timestamp = \"yesterday\"\n  }}\n}}\n",
        provider_block(&emulator)
    ));
    let plan = ws.run_json(&["plan"]);
    assert_eq!(plan.run.code, 1, "{}", plan.run.describe());
    assert!(plan.errors().any(|d| d.names_attribute("timestamp")), "no error names `timestamp`:\n{}", plan.listing());
    let writes: u64 =
        emulator.operation_counts().iter().filter(|(k, _)| k.starts_with("mutation.")).map(|(_, v)| v).sum();
    assert_eq!(writes, 0, "invalid configurations must not write anything");
}

/// `dagster-cloud branch-deployment create-or-update` of a branch of `REPO` at `commit` (hash, timestamp), as
/// CI runs it, with `extra` arguments (pull request, commit message, …); returns the deployment's name.
fn cli_branch_deployment(emulator: &RunningEmulator, branch: &str, commit: (&str, &str), extra: &[&str]) -> String {
    let (url, (hash, timestamp)) = (emulator.url(), commit);
    let mut args = vec!["branch-deployment", "create-or-update", "--url", &url, "--git-repo-name", REPO];
    args.extend(["--branch-name", branch, "--commit-hash", hash, "--timestamp", timestamp]);
    args.extend(extra);
    let run = dagster_cloud(&args);
    assert_eq!(run.code, 0, "{}", run.describe());
    run.stdout.trim().lines().last().unwrap_or_default().to_string()
}

/// A branch that CI already deployed, declared without import: apply refuses before writing, says how to
/// import it, records nothing and leaves the deployment as CI made it; the import it suggests then works.
#[test]
fn an_existing_branch_declared_without_import_is_refused_before_any_write() {
    let emulator = start_emulator();
    let name = cli_branch_deployment(&emulator, "feature/ci-made", ("c1c1c1", "1718000000"), &[]);
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&format!(
        "{}{}",
        provider_block(&emulator),
        deployment_block("x", "feature/ci-made", "d2d2d2", &[("etl", "ghcr.io/acme/etl:d2")], "")
    ));
    let writes = mutation_count(&emulator);
    let applied = ws.failing_apply();
    let error = applied.error_containing("Branch deployment already exists");
    assert!(error.text().contains(&format!("`{name}`")), "{}", error.describe());
    assert!(error.text().contains(&format!("terraform import ADDRESS {REPO}:feature/ci-made")), "{}", error.describe());
    assert!(!applied.diagnostics.iter().any(|d| d.text().contains("inconsistent result")), "{}", applied.listing());
    assert_eq!(mutation_count(&emulator), writes, "nothing may be written");
    assert!(ws.state_resources().is_empty(), "nothing may be recorded");
    assert_eq!(deployment(&emulator, &name).expect("still there")["latestCommit"]["commitHash"], "c1c1c1");

    ws.ok(&["import", "-no-color", "dagsterbranch_deployment.x", &format!("{REPO}:feature/ci-made")]);
    ws.apply();
    assert_eq!(ws.state_attributes("dagsterbranch_deployment.x")["name"], name.as_str());
    assert_eq!(deployment(&emulator, &name).expect("deployment")["latestCommit"]["commitHash"], "d2d2d2");
    ws.assert_empty_plan("after importing and applying");
    // Imported again now that Terraform wrote it: the import reads back what that apply wrote.
    let id = format!("{REPO}:feature/ci-made");
    verify_import(&ws, "dagsterbranch_deployment.x", ImportForm::Cli(&id), IMPORT_IGNORE);
    ws.assert_empty_plan("after importing the deployment Terraform updated");
}

/// A location that failed to load keeps the resource out of date: the next apply deploys it again (and
/// fails again while it still fails) instead of reporting no changes; once it loads, the same deployment
/// is kept. A create whose location fails says how to keep the deployment rather than replace it.
#[test]
fn a_failed_load_is_retried_by_every_apply_until_it_loads() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    let config = |image: &str| {
        format!("{}{}", provider_block(&emulator), deployment_block("x", "feature/sticky", "e1", &[("etl", image)], ""))
    };
    ws.write(&config("ghcr.io/acme/etl:1"));
    ws.apply();
    let id = ws.state_attributes("dagsterbranch_deployment.x")["deployment_id"].clone();

    emulator.set_failing_image_pattern(Some("etl:2".to_string()));
    ws.write(&config("ghcr.io/acme/etl:2"));
    for attempt in ["the update", "the same apply again"] {
        let applied = ws.run_json(&["apply", "-auto-approve"]);
        assert_eq!(
            applied.run.code,
            1,
            "{attempt} must fail while the location fails to load:\n{}",
            applied.run.describe()
        );
        applied.error_containing("Code location `etl` failed to load");
    }
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "a location in ERROR must keep planning an update:\n{}", plan.stdout);

    // The image is fixed under the same tag (re-pushed): the next apply loads it, in the same deployment.
    emulator.set_failing_image_pattern(None);
    ws.apply();
    let state = ws.state_attributes("dagsterbranch_deployment.x");
    assert_eq!(state["code_location"][0]["load_status"], "LOADED", "{state}");
    assert_eq!(state["deployment_id"], id, "the deployment must not be replaced");
    ws.assert_empty_plan("after the location loaded");

    emulator.set_failing_image_pattern(Some("broken".to_string()));
    let created = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    created.write(&format!(
        "{}{}",
        provider_block(&emulator),
        deployment_block("y", "feature/broken-at-birth", "f1", &[("etl", "ghcr.io/acme/broken:1")], "")
    ));
    let applied = created.failing_apply();
    assert!(
        applied.diagnostics.iter().any(|d| d.text().contains("terraform untaint ADDRESS")),
        "the create must say how to keep the deployment:\n{}",
        applied.listing()
    );
}
