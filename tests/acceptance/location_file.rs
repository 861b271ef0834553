//! `dagster_cloud.yaml` under real Terraform against the Dagster+ emulator: `data.dagsterbranch_location_file`
//! feeding `dynamic "code_location"` deploys the same location documents as the real
//! `dagster-cloud deployment add-location --location-file` does from the same file; a bad file fails the plan
//! naming the location and key with nothing written; and the provider functions `location_file` and
//! `image_reference` (Terraform 1.8+) return the same objects, or fail naming the argument.

use crate::deployment::REPO;
use crate::support::*;
use dagster_plus_emulator::RunningEmulator;
use serde_json::{json, Value};

/// Every key the file may hold, `defaults` included; `etl` gets its image from Terraform's `*` override and the
/// CLI's `--image`, `ml` keeps the file's.
const FILE: &str = r#"
defaults:
  container_context:
    k8s:
      namespace: branch-deployments
locations:
  - location_name: etl
    code_source:
      package_name: etl
    working_directory: /opt/etl
    executable_path: /venv/bin/python
    attribute: defs
    agent_queue: branch
    build:
      directory: ./etl
      registry: 123456789012.dkr.ecr.us-east-1.amazonaws.com/dagster/etl
    container_context:
      k8s:
        env_vars: ["STAGE=branch"]
  - location_name: ml
    code_source:
      module_name: ml.definitions
    image: ghcr.io/acme/ml:7
"#;

const IMAGE: &str = "ghcr.io/acme/etl:c0ffee";
const COMMIT: &str = "c0ffee";

/// The CLI reads `defaults` only in `dagster-cloud ci`; `add-location --location-file` sends the entry as it
/// stands. This is `FILE` with the defaults written into the entry, for the CLI side of the comparison.
const FILE_FOR_ADD_LOCATION: &str = r#"
locations:
  - location_name: etl
    code_source:
      package_name: etl
    working_directory: /opt/etl
    executable_path: /venv/bin/python
    attribute: defs
    agent_queue: branch
    build:
      directory: ./etl
      registry: 123456789012.dkr.ecr.us-east-1.amazonaws.com/dagster/etl
    container_context:
      k8s:
        namespace: branch-deployments
        env_vars: ["STAGE=branch"]
  - location_name: ml
    code_source:
      module_name: ml.definitions
    image: ghcr.io/acme/ml:7
    container_context:
      k8s:
        namespace: branch-deployments
"#;

/// A branch deployment whose code locations all come from `locations` (an expression yielding the objects).
fn deployment_from(locations: &str, branch: &str) -> String {
    format!(
        r#"
resource "dagsterbranch_deployment" "x" {{
  repo   = "{REPO}"
  branch = "{branch}"
  commit {{
    hash      = "{COMMIT}"
    timestamp = 1718000000
  }}
  dynamic "code_location" {{
    for_each = {locations}
    content {{
      name                      = code_location.value.name
      image                     = code_location.value.image
      package_name              = code_location.value.package_name
      module_name               = code_location.value.module_name
      python_file               = code_location.value.python_file
      autoload_defs_module_name = code_location.value.autoload_defs_module_name
      working_directory         = code_location.value.working_directory
      executable_path           = code_location.value.executable_path
      attribute                 = code_location.value.attribute
      agent_queue               = code_location.value.agent_queue
      container_context         = code_location.value.container_context
      git {{
        commit_hash = "{COMMIT}"
      }}
    }}
  }}
}}
"#
    )
}

const DATA_SOURCE: &str = r#"
data "dagsterbranch_location_file" "f" {
  path            = "dagster_cloud.yaml"
  image_overrides = { "*" = "ghcr.io/acme/etl:c0ffee" }
}

output "builds" {
  value = data.dagsterbranch_location_file.f.builds
}
"#;

/// The deployment's locations as `locationsAsDocument` serves them (what Dagster+ stores), by name.
fn location_documents(emulator: &RunningEmulator, deployment: &str) -> Value {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/{deployment}/graphql", emulator.url()))
        .header("Dagster-Cloud-Api-Token", ADMIN_TOKEN)
        .json(&json!({ "query": "{ locationsAsDocument { document } }", "variables": {} }))
        .send()
        .expect("locationsAsDocument query");
    let body: Value = response.json().expect("JSON");
    let document = &body["data"]["locationsAsDocument"]["document"];
    let mut locations = document["locations"].as_array().cloned().unwrap_or_else(|| panic!("no locations in {body}"));
    locations.sort_by_key(|l| l["location_name"].as_str().unwrap_or_default().to_string());
    Value::Array(locations)
}

fn cli_branch_deployment(emulator: &RunningEmulator, branch: &str) -> String {
    let url = emulator.url();
    let run = dagster_cloud(&[
        "branch-deployment",
        "create-or-update",
        "--url",
        &url,
        "--git-repo-name",
        REPO,
        "--branch-name",
        branch,
        "--commit-hash",
        COMMIT,
        "--timestamp",
        "1718000000",
    ]);
    assert_eq!(run.code, 0, "{}", run.describe());
    run.stdout.trim().lines().last().unwrap_or_default().to_string()
}

fn cli_add_location(emulator: &RunningEmulator, deployment: &str, file: &str, name: &str, image: Option<&str>) {
    let url = format!("{}/{deployment}", emulator.url());
    let mut args = vec!["deployment", "add-location", "--url", &url, "--location-file", file, "--location-name", name];
    if let Some(image) = image {
        args.extend(["--image", image]);
    }
    args.extend(["--commit-hash", COMMIT, "--location-load-timeout", "0", "--agent-heartbeat-timeout", "0"]);
    let run = dagster_cloud(&args);
    assert_eq!(run.code, 0, "{}", run.describe());
}

#[test]
fn the_data_source_deploys_what_dagster_cloud_add_location_deploys_from_the_same_file() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    std::fs::write(ws.config_dir().join("dagster_cloud.yaml"), FILE).expect("write dagster_cloud.yaml");
    ws.write(&format!(
        "{}{DATA_SOURCE}{}",
        provider_block(&emulator),
        deployment_from("data.dagsterbranch_location_file.f.locations", "feature/from-file")
    ));
    ws.apply();
    ws.assert_empty_plan("after deploying from dagster_cloud.yaml");
    let terraform_made = ws.state_attributes("dagsterbranch_deployment.x")["name"].as_str().expect("name").to_string();
    let builds: Value = serde_json::from_str(&ws.ok(&["output", "-json", "builds"]).stdout).expect("builds");
    assert_eq!(
        builds,
        json!({
            "etl": {"directory": "./etl", "registry": "123456789012.dkr.ecr.us-east-1.amazonaws.com/dagster/etl"},
            "ml": {"directory": null, "registry": null}
        })
    );

    let cli_made = cli_branch_deployment(&emulator, "feature/from-cli");
    let file = ws.dir.path().join("dagster_cloud_for_cli.yaml");
    std::fs::write(&file, FILE_FOR_ADD_LOCATION).expect("write the CLI's file");
    cli_add_location(&emulator, &cli_made, &path_str(&file), "etl", Some(IMAGE));
    cli_add_location(&emulator, &cli_made, &path_str(&file), "ml", None);

    let from_terraform = location_documents(&emulator, &terraform_made);
    let from_cli = location_documents(&emulator, &cli_made);
    assert_eq!(from_terraform, from_cli, "Terraform and the CLI stored different location documents");
    // Not two empty lists: every key of the file arrived.
    assert_eq!(from_terraform[0]["location_name"], "etl");
    assert_eq!(from_terraform[0]["code_source"], json!({"package_name": "etl"}));
    assert_eq!(from_terraform[0]["agent_queue"], "branch");
    assert_eq!(from_terraform[0]["image"], IMAGE);
    assert_eq!(
        from_terraform[0]["container_context"],
        json!({"k8s": {"namespace": "branch-deployments", "env_vars": ["STAGE=branch"]}})
    );
    assert_eq!(from_terraform[1]["image"], "ghcr.io/acme/ml:7");
}

/// Each bad file fails `terraform plan` with a diagnostic naming the location and the key, pointing at the
/// data source's `content`; nothing reaches Dagster+.
#[test]
fn a_bad_file_fails_the_plan_naming_location_and_key_with_nothing_written() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    let cases = [
        ("  - location_name: etl\n    code_source: etl.defs\n", r#"locations[0] ("etl"): code_source: expected a mapping"#),
        (
            "  - location_name: a\n    code_source: {module_name: a}\n  - location_name: etl\n    code_source: {module_name: etl}\n    imgae: x\n",
            r#"locations[1] ("etl"): imgae: unexpected key"#,
        ),
        (
            "  - location_name: etl\n    code_source: {module_name: etl, python_file: etl.py}\n",
            r#"locations[0] ("etl"): code_source: set exactly one of"#,
        ),
        (
            "  - location_name: etl\n    code_source: {module_name: etl}\n    build: {registry: [r]}\n",
            r#"locations[0] ("etl"): build.registry: expected a string, got a list"#,
        ),
    ];
    for (locations, expected) in cases {
        let content = format!("locations:\n{locations}");
        ws.write(&format!(
            "{}\ndata \"dagsterbranch_location_file\" \"f\" {{\n  content = <<-YAML\n{content}YAML\n}}\n{}",
            provider_block(&emulator),
            deployment_from("data.dagsterbranch_location_file.f.locations", "feature/bad")
        ));
        let writes = mutation_count(&emulator);
        let planned = ws.run_json(&["plan"]);
        assert_ne!(planned.run.code, 0, "{expected}: the plan must fail:\n{}", planned.run.describe());
        let error = planned.error_containing(expected);
        assert_eq!(error.summary, "Invalid dagster_cloud.yaml", "{}", error.describe());
        assert!(error.names_attribute("content"), "{expected}: not pointed at `content`: {}", error.describe());
        assert_eq!(mutation_count(&emulator), writes, "{expected}: nothing may be written");
    }
    assert!(branch_deployments(&emulator).is_empty(), "no deployment may exist");

    // A file that cannot be read is pointed at `path`.
    ws.write(&format!(
        "{}\ndata \"dagsterbranch_location_file\" \"f\" {{\n  path = \"missing.yaml\"\n}}\n",
        provider_block(&emulator)
    ));
    let planned = ws.run_json(&["plan"]);
    let error = planned.error_containing("Could not read `missing.yaml`");
    assert!(error.names_attribute("path"), "{}", error.describe());

    // An override for a location the file does not have is pointed at `image_overrides`.
    ws.write(&format!(
        "{}\ndata \"dagsterbranch_location_file\" \"f\" {{\n  content = \"locations: [{{location_name: etl, code_source: {{module_name: etl}}}}]\"\n  image_overrides = {{ etll = \"{IMAGE}\" }}\n}}\n",
        provider_block(&emulator)
    ));
    let planned = ws.run_json(&["plan"]);
    let error = planned.error_containing(r#"image_overrides["etll"]: the file has no location "etll""#);
    assert!(error.names_attribute("image_overrides"), "{}", error.describe());
}

/// `provider::dagsterbranch::location_file` deploys the same as the data source; `image_reference` builds the
/// image; a bad argument fails naming it.
#[test]
fn the_functions_deploy_the_same_locations_and_name_a_bad_argument() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    std::fs::write(ws.config_dir().join("dagster_cloud.yaml"), FILE).expect("write dagster_cloud.yaml");
    let locations = format!(
        r#"provider::dagsterbranch::location_file(file("${{path.module}}/dagster_cloud.yaml"), {{ "*" = provider::dagsterbranch::image_reference("ghcr.io/acme/etl", "{COMMIT}") }})"#
    );
    ws.write(&format!("{}{}", provider_block(&emulator), deployment_from(&locations, "feature/function")));
    ws.apply();
    ws.assert_empty_plan("after deploying with the location_file function");
    let from_function = ws.state_attributes("dagsterbranch_deployment.x")["name"].as_str().expect("name").to_string();

    let data_ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    std::fs::write(data_ws.config_dir().join("dagster_cloud.yaml"), FILE).expect("write dagster_cloud.yaml");
    data_ws.write(&format!(
        "{}{DATA_SOURCE}{}",
        provider_block(&emulator),
        deployment_from("data.dagsterbranch_location_file.f.locations", "feature/data-source")
    ));
    data_ws.apply();
    let from_data_source =
        data_ws.state_attributes("dagsterbranch_deployment.x")["name"].as_str().expect("name").to_string();
    assert_eq!(location_documents(&emulator, &from_function), location_documents(&emulator, &from_data_source));

    // `terraform console` evaluates a call without any configuration beyond the provider requirement.
    let console = |expression: &str| {
        let mut command = ws.command(&["console"]);
        command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().expect("terraform console");
        use std::io::Write as _;
        child.stdin.take().expect("stdin").write_all(format!("{expression}\n").as_bytes()).expect("write");
        let output = child.wait_with_output().expect("console output");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let digest = format!("sha256:{}", "0a".repeat(32));
    let (ok, out, err) =
        console(&format!(r#"provider::dagsterbranch::image_reference("ghcr.io/acme/etl", "{digest}")"#));
    assert!(ok && out.contains(&format!("\"ghcr.io/acme/etl@{digest}\"")), "{out}\n{err}");

    // Errors: Terraform says which argument is to blame (`Invalid value for "NAME" parameter`).
    for (call, parameter, text) in [
        (r#"image_reference("ghcr.io/acme/etl:1", "2")"#, "repository_url", "already has a tag"),
        (r#"image_reference("ghcr.io/acme/etl", "sha256:abc")"#, "tag_or_digest", "is not a valid digest"),
        (
            r#"location_file("locations: [{location_name: etl, code_source: x}]", {})"#,
            "content",
            r#"locations[0] ("etl"): code_source: expected a mapping"#,
        ),
        (
            r#"location_file("locations: [{location_name: etl, code_source: {module_name: m}}]", { nope = "a:1" })"#,
            "image_overrides",
            r#"the file has no location "nope""#,
        ),
    ] {
        ws.write(&format!(
            "{}output \"x\" {{\n  value = provider::dagsterbranch::{call}\n}}\n",
            provider_block(&emulator)
        ));
        let planned = ws.run_json(&["plan"]);
        let error = planned.error_containing(text);
        assert!(
            error.text().contains(&format!("\"{parameter}\" parameter")),
            "{call}: the error does not name `{parameter}`: {}",
            error.describe()
        );
    }
}

/// The data source needs nothing newer than protocol 6: Terraform 1.0 deploys from the file too, and the next
/// plan is empty.
#[test]
fn the_data_source_works_on_terraform_1_0() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::V1_0, Installation::DevOverrides);
    std::fs::write(ws.config_dir().join("dagster_cloud.yaml"), FILE).expect("write dagster_cloud.yaml");
    ws.write(&format!(
        "{}{DATA_SOURCE}{}",
        provider_block(&emulator),
        deployment_from("data.dagsterbranch_location_file.f.locations", "feature/terraform-1-0")
    ));
    ws.apply();
    ws.assert_empty_plan("after deploying from dagster_cloud.yaml with Terraform 1.0");
    let name = ws.state_attributes("dagsterbranch_deployment.x")["name"].as_str().expect("name").to_string();
    let documents = location_documents(&emulator, &name);
    assert_eq!(documents.as_array().map(Vec::len), Some(2), "{documents}");
    assert_eq!(documents[0]["image"], IMAGE);
}

/// An override known only after apply (an image tag from another resource, as a registry URL is on the first
/// apply) defers the data source to apply; the deployment still gets every location, and the next plan is
/// empty.
#[test]
fn an_override_known_only_at_apply_still_deploys_every_location() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    std::fs::write(ws.config_dir().join("dagster_cloud.yaml"), FILE).expect("write dagster_cloud.yaml");
    let data_source = r#"
resource "terraform_data" "tag" {
  input = "c0ffee"
}

data "dagsterbranch_location_file" "f" {
  path            = "dagster_cloud.yaml"
  image_overrides = { "*" = "ghcr.io/acme/etl:${terraform_data.tag.output}" }
}
"#;
    ws.write(&format!(
        "{}{data_source}{}",
        provider_block(&emulator),
        deployment_from("data.dagsterbranch_location_file.f.locations", "feature/late-image")
    ));
    ws.apply();
    ws.assert_empty_plan("after deploying with an override known only at apply");
    let name = ws.state_attributes("dagsterbranch_deployment.x")["name"].as_str().expect("name").to_string();
    let documents = location_documents(&emulator, &name);
    assert_eq!(documents[0]["image"], IMAGE, "{documents}");
    assert_eq!(documents[1]["image"], "ghcr.io/acme/ml:7", "{documents}");
}
