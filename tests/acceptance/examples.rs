//! Every directory under `examples/` against the Dagster+ emulator (and moto where the example uses AWS), with
//! real Terraform: `validate` and `plan` for all of them; for resources also apply, an empty second plan,
//! each import file (block by id, block by identity, the `terraform import` lines of `import.sh`) in a fresh
//! state, and destroy; for list resources `terraform query` with config generation; ephemeral resources are
//! validated and planned; actions are invoked with `terraform apply -invoke`.
//!
//! The examples stay free of connection details: the provider reads `DAGSTER_CLOUD_URL`,
//! `DAGSTER_CLOUD_API_TOKEN` and `DAGSTER_CLOUD_ORGANIZATION`, and AWS settings come from `AWS_*` variables.
//! Directories are discovered, so a new resource's examples are tested without touching this file.

use std::path::{Path, PathBuf};

use crate::support::*;
use dagster_plus_emulator::RunningEmulator;
use serde_json::Value;

fn examples_root() -> PathBuf {
    repo_root().join("examples")
}

/// Sub-directories of `examples/<group>`, sorted.
fn example_dirs(group: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(examples_root().join(group))
        .unwrap_or_else(|e| panic!("examples/{group}: {e}"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Whether any file of the directory mentions the AWS-backed resource.
fn uses_aws(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|text| text.contains("dagsterbranch_registry")))
}

/// The services one example talks to.
struct Services {
    emulator: RunningEmulator,
    moto: Option<Moto>,
}

impl Services {
    fn start(aws: bool) -> Services {
        Services { emulator: start_emulator(), moto: aws.then(Moto::start) }
    }

    /// A fresh workspace whose provider reaches these services through the environment only.
    fn workspace(&self) -> Workspace {
        let mut ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
        ws.env("DAGSTER_CLOUD_URL", &self.emulator.url());
        ws.env("DAGSTER_CLOUD_API_TOKEN", ADMIN_TOKEN);
        ws.env("DAGSTER_CLOUD_ORGANIZATION", ORG);
        if let Some(moto) = &self.moto {
            moto.configure(&mut ws, "testing", "testing");
            ws.env("AWS_ENDPOINT_URL", &moto.url());
        }
        ws
    }
}

/// Copies the chosen files of an example into the workspace and, when the example leaves the provider
/// requirement out (as the registry's per-resource snippets do), adds it.
fn stage(ws: &Workspace, files: &[PathBuf]) {
    let mut text = String::new();
    for file in files {
        let name = file.file_name().expect("file name");
        std::fs::copy(file, ws.config_dir().join(name)).unwrap_or_else(|e| panic!("copy {}: {e}", file.display()));
        text.push_str(&read(file));
    }
    if !text.contains("required_providers") {
        std::fs::write(
            ws.config_dir().join("test_provider.tf"),
            format!("terraform {{\n  required_providers {{\n    dagsterbranch = {{ source = \"{PROVIDER_SOURCE}\" }}\n  }}\n}}\n\nprovider \"dagsterbranch\" {{}}\n"),
        )
        .expect("write provider requirement");
    }
}

/// All files of a directory whose names pass `keep`, sorted.
fn files(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
        .collect();
    files.sort();
    files
}

fn validate(ws: &Workspace, what: &str, extra: &[&str]) {
    let mut args = vec!["validate"];
    args.extend_from_slice(extra);
    let validated = ws.run_json(&args);
    let report: Value = serde_json::from_str(&validated.run.stdout).expect("validate -json prints one object");
    // Terraform's own note that the tests install the provider through `dev_overrides` is the one
    // diagnostic an example may get.
    let unexpected = validated.diagnostics.iter().any(|d| d.summary != "Provider development overrides are in effect");
    assert!(
        validated.run.code == 0 && report["valid"] == true && !unexpected,
        "{what}: terraform validate reported:\n{}\n{}",
        validated.listing(),
        validated.run.describe()
    );
}

fn plan_with_changes(ws: &Workspace, what: &str) -> String {
    let run = ws.plan();
    assert_eq!(run.code, 2, "{what}: expected a plan with changes:\n{}", run.describe());
    run.stdout
}

#[test]
fn provider_example_validates_and_plans() {
    let services = Services::start(false);
    let ws = services.workspace();
    stage(&ws, &files(&examples_root().join("provider"), |n| n.ends_with(".tf")));
    validate(&ws, "examples/provider", &[]);
    // No resources: the plan is empty, but it configures the provider with the example's settings.
    ws.assert_empty_plan("for examples/provider");
}

/// The string the example's import id is replaced with. Ids that Dagster+ or AWS assign (an agent token's
/// number, a generated deployment name) cannot match what a fresh emulator hands out, so those are replaced
/// by the `id` of the object just created (or, for an agent's `LABEL:TOKEN_ID`, by the token it owns); ids
/// made of the configuration's own values are used verbatim.
fn import_id(example_id: &str, state: &Value) -> String {
    let values: Vec<&str> = state.as_object().into_iter().flatten().filter_map(|(_, v)| v.as_str()).collect();
    let repo_branch =
        format!("{}:{}", state["repo"].as_str().unwrap_or_default(), state["branch"].as_str().unwrap_or_default());
    let agent_label = format!("{}:", state["label"].as_str().unwrap_or_default());
    if values.contains(&example_id) || example_id == repo_branch {
        example_id.to_string()
    } else if let (true, Some(token_id)) = (example_id.starts_with(&agent_label), state["token_id"].as_str()) {
        format!("{agent_label}{token_id}")
    } else {
        state["id"].as_str().expect("state id").to_string()
    }
}

/// `id = "…"` and `to = …` of an import block.
fn import_block_fields(text: &str) -> (String, Option<String>) {
    let mut to = None;
    let mut id = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("to") {
            to = rest.trim_start().strip_prefix('=').map(|v| v.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("id") {
            id = rest.trim_start().strip_prefix('=').map(|v| v.trim().trim_matches('"').to_string());
        }
    }
    (to.expect("import block without `to`"), id)
}

/// Splits a shell line into words, honouring single and double quotes (enough for `import.sh`).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, '#') if !in_word => break,
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// One resource example directory, end to end.
fn resource_example(dir: &Path) {
    let type_name = dir.file_name().and_then(|n| n.to_str()).expect("directory name").to_string();
    let what = format!("examples/resources/{type_name}");
    let services = Services::start(uses_aws(dir));
    let config = files(dir, |n| n.ends_with(".tf") && !n.starts_with("import"));
    assert!(!config.is_empty(), "{what} has no resource.tf");

    let ws = services.workspace();
    stage(&ws, &config);
    validate(&ws, &what, &[]);
    let plan = plan_with_changes(&ws, &what);
    assert!(plan.contains(&format!("# {type_name}.")), "{what}: the plan creates no {type_name}:\n{plan}");
    ws.apply();
    ws.assert_empty_plan(&format!("after applying {what}"));
    let created: Vec<Value> = ws
        .state_resources()
        .into_iter()
        .filter(|r| r["type"] == type_name.as_str() && r["mode"] == "managed")
        .collect();
    let state_of = |address: &str| -> Value {
        created
            .iter()
            .find(|r| r["address"] == address)
            .map(|r| r["values"].clone())
            .unwrap_or_else(|| panic!("{what}: the import target {address} is not created by the example"))
    };

    // Import blocks, each in a workspace without state.
    for import_file in files(dir, |n| n.starts_with("import") && n.ends_with(".tf")) {
        let file_name = import_file.file_name().unwrap().to_string_lossy().into_owned();
        let text = read(&import_file);
        let (to, id) = import_block_fields(&text);
        let staged = services.workspace();
        stage(&staged, &config);
        let text = match id {
            Some(id) => text.replace(&format!("\"{id}\""), &format!("\"{}\"", import_id(&id, &state_of(&to)))),
            None => text,
        };
        std::fs::write(staged.config_dir().join(&file_name), text).expect("write import file");
        validate(&staged, &format!("{what}/{file_name}"), &[]);
        let plan = staged.plan();
        assert!(
            plan.stdout.contains("1 to import") && plan.stdout.contains("0 to destroy"),
            "{what}/{file_name}: expected the plan to import {to}:\n{}",
            plan.describe()
        );
    }

    // The commands of import.sh, each in a workspace without state.
    let script = dir.join("import.sh");
    if script.exists() {
        let commands: Vec<Vec<String>> = read(&script)
            .lines()
            .map(shell_words)
            .filter(|w| w.len() >= 4 && w[0] == "terraform" && w[1] == "import")
            .collect();
        assert!(!commands.is_empty(), "{what}/import.sh has no `terraform import` line");
        for words in commands {
            let address = &words[words.len() - 2];
            let id = import_id(&words[words.len() - 1], &state_of(address));
            let staged = services.workspace();
            stage(&staged, &config);
            staged.ok(&["import", "-no-color", address, &id]);
            assert_eq!(
                staged.state_attributes(address)["id"],
                state_of(address)["id"],
                "{what}/import.sh: `{}`",
                words.join(" ")
            );
        }
    }

    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert!(ws.state_resources().is_empty(), "{what}: destroy left resources in state");
}

#[test]
fn resource_examples_plan_apply_import_and_destroy() {
    let dirs = example_dirs("resources");
    assert!(!dirs.is_empty());
    // Examples are independent (each gets its own emulator and moto); two at a time suit a 2-core machine.
    for pair in dirs.chunks(2) {
        std::thread::scope(|scope| {
            let handles: Vec<_> = pair.iter().map(|dir| scope.spawn(move || resource_example(dir))).collect();
            for handle in handles {
                if let Err(panic) = handle.join() {
                    std::panic::resume_unwind(panic);
                }
            }
        });
    }
}

#[test]
fn data_source_examples_validate_and_plan() {
    for dir in example_dirs("data-sources") {
        let what = format!("examples/data-sources/{}", dir.file_name().unwrap().to_string_lossy());
        let services = Services::start(uses_aws(&dir));
        let ws = services.workspace();
        stage(&ws, &files(&dir, |n| n.ends_with(".tf")));
        validate(&ws, &what, &[]);
        // Data sources are read during plan; outputs make it a plan with changes.
        let run = ws.plan();
        assert!(run.code == 0 || run.code == 2, "{what}: plan failed:\n{}", run.describe());
        ws.apply();
    }
}

/// Provider functions (Terraform 1.8+): each example's outputs are computed at plan and applied.
#[test]
fn function_examples_validate_plan_and_apply() {
    for dir in example_dirs("functions") {
        let what = format!("examples/functions/{}", dir.file_name().unwrap().to_string_lossy());
        let services = Services::start(false);
        let ws = services.workspace();
        stage(&ws, &files(&dir, |n| n.ends_with(".tf")));
        validate(&ws, &what, &[]);
        plan_with_changes(&ws, &what);
        ws.apply();
        let outputs: Value = serde_json::from_str(&ws.ok(&["output", "-json"]).stdout).expect("outputs");
        assert!(outputs.as_object().is_some_and(|o| !o.is_empty()), "{what} has no outputs");
    }
}

/// Ephemeral resources (Terraform 1.10+) are opened in plan and apply; their examples run a provisioner that
/// needs tools the tests do not have (docker), so they are validated and planned only. `ephemeral.rs` applies.
#[test]
fn ephemeral_resource_examples_validate_and_plan() {
    for dir in example_dirs("ephemeral-resources") {
        let what = format!("examples/ephemeral-resources/{}", dir.file_name().unwrap().to_string_lossy());
        let services = Services::start(uses_aws(&dir));
        let ws = services.workspace();
        stage(&ws, &files(&dir, |n| n.ends_with(".tf")));
        validate(&ws, &what, &[]);
        plan_with_changes(&ws, &what);
    }
}

#[test]
fn list_resource_examples_validate_and_query() {
    for dir in example_dirs("list-resources") {
        let type_name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let what = format!("examples/list-resources/{type_name}");
        let services = Services::start(uses_aws(&dir));
        // Something to list: the resource's own example, applied first.
        let seed = services.workspace();
        stage(
            &seed,
            &files(&examples_root().join("resources").join(&type_name), |n| {
                n.ends_with(".tf") && !n.starts_with("import")
            }),
        );
        seed.apply();

        let ws = services.workspace();
        let queries = files(&dir, |n| n.ends_with(".tfquery.hcl"));
        assert!(!queries.is_empty(), "{what} has no .tfquery.hcl file");
        stage(&ws, &queries);
        validate(&ws, &what, &["-query"]);
        let query = ws.ok(&["query", "-no-color", "-generate-config-out=generated.tf"]);
        assert!(
            query.stdout.contains(&format!("list.{type_name}.")),
            "{what}: the query listed nothing:\n{}",
            query.stdout
        );
        let plan = ws.plan();
        assert!(
            plan.stdout.contains("to import"),
            "{what}: the generated configuration imports nothing:\n{}",
            plan.describe()
        );
    }
}

/// The quickstart is what the demo applies: validate, plan, apply, an empty second plan, destroy.
#[test]
fn quickstart_applies_and_destroys() {
    let dir = examples_root().join("quickstart");
    let services = Services::start(uses_aws(&dir));
    let ws = services.workspace();
    stage(&ws, &files(&dir, |n| n.ends_with(".tf")));
    validate(&ws, "examples/quickstart", &[]);
    plan_with_changes(&ws, "examples/quickstart");
    ws.apply();
    ws.assert_empty_plan("after applying examples/quickstart");
    let outputs: Value = serde_json::from_str(&ws.ok(&["output", "-json"]).stdout).expect("outputs");
    assert!(outputs.as_object().is_some_and(|o| !o.is_empty()), "the quickstart has no outputs");
    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert!(ws.state_resources().is_empty(), "destroy left resources in state");
}

#[test]
fn no_example_directory_is_left_untested() {
    // The groups above, plus directories with their own tests: a new top-level directory needs a test here.
    let known = [
        "provider",
        "resources",
        "data-sources",
        "ephemeral-resources",
        "list-resources",
        "functions",
        "actions",
        "quickstart",
        "ci",
    ];
    for entry in std::fs::read_dir(examples_root()).expect("examples/").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() {
            assert!(known.contains(&name.as_str()), "examples/{name} is not covered by tests/acceptance/examples.rs");
        }
    }
}

#[test]
fn shell_words_split_like_a_shell() {
    assert_eq!(shell_words("terraform import a.b 'x/y:z'  # note"), ["terraform", "import", "a.b", "x/y:z"]);
    assert_eq!(shell_words("# only a comment"), Vec::<String>::new());
    assert_eq!(shell_words("say \"a b\" c"), ["say", "a b", "c"]);
}

/// What the CI recipes run for a pull request: a workspace per pull request, apply on open and on each push,
/// destroy (which closes the deployment) when it closes; two pull requests stay independent.
#[test]
fn ci_example_follows_pull_requests() {
    let dir = examples_root().join("ci/branch-deployment");
    let services = Services::start(false);
    let registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com/dagster/data-platform";
    let pull_request = |number: &str, branch: &str, commit: &str| {
        let mut ws = services.workspace();
        stage(&ws, &files(&dir, |n| n.ends_with(".tf")));
        for (name, value) in [
            ("repo", "acme/data-platform"),
            ("branch", branch),
            ("commit_hash", commit),
            ("commit_timestamp", "1718000000"),
            ("commit_message", "Work in progress"),
            ("pull_request_number", number),
            ("pull_request_url", &format!("https://github.com/acme/data-platform/pull/{number}")),
            ("image_repository", registry),
            ("location_file", &path_str(&dir.join("dagster_cloud.yaml"))),
        ] {
            ws.env(&format!("TF_VAR_{name}"), value);
        }
        ws
    };
    let status = |name: &str| -> Value {
        let data = graphql(
            &services.emulator,
            "query($name: String!) { deploymentByName(name: $name) { ... on DagsterCloudDeployment {
                branchDeploymentGitMetadata { pullRequestStatus } latestCommit { commitHash } } } }",
            serde_json::json!({ "name": name }),
        );
        data["deploymentByName"].clone()
    };

    // Both jobs share one checkout in real CI; here each pull request gets its own directory and state.
    let mut first = pull_request("7", "feature/orders", "a1b2c3d");
    let second = pull_request("8", "fix/invoices", "0f0f0f0");
    for ws in [&first, &second] {
        ws.ok(&["workspace", "select", "-or-create=true", "pr"]);
        validate(ws, "examples/ci/branch-deployment", &[]);
        plan_with_changes(ws, "examples/ci/branch-deployment");
        ws.apply();
    }
    let name = first.state_attributes("dagsterbranch_deployment.branch")["name"].as_str().expect("name").to_string();
    assert_eq!(status(&name)["branchDeploymentGitMetadata"]["pullRequestStatus"], "OPEN");
    // The locations come from dagster_cloud.yaml, each with the commit's image.
    let locations = first.state_attributes("dagsterbranch_deployment.branch")["code_location"].clone();
    let deployed: Vec<(&str, &str)> = locations
        .as_array()
        .expect("code_location list")
        .iter()
        .map(|l| (l["name"].as_str().unwrap_or_default(), l["image"].as_str().unwrap_or_default()))
        .collect();
    let image = format!("{registry}:a1b2c3d");
    assert_eq!(deployed, vec![("data_platform", image.as_str()), ("reporting", image.as_str())], "{locations}");

    // A push: same deployment, new commit and image, changed in place.
    first.env("TF_VAR_commit_hash", "d4e5f6a");
    let plan = plan_with_changes(&first, "a push to the pull request");
    assert!(plan.contains("1 to change") && !plan.contains("must be replaced"), "{plan}");
    first.apply();
    assert_eq!(status(&name)["latestCommit"]["commitHash"], "d4e5f6a");

    // Closing: destroy marks it closed and leaves the other pull request's deployment alone.
    first.ok(&["destroy", "-auto-approve", "-no-color"]);
    first.ok(&["workspace", "select", "default"]);
    first.ok(&["workspace", "delete", "pr"]);
    assert_eq!(status(&name)["branchDeploymentGitMetadata"]["pullRequestStatus"], "CLOSED");
    second.assert_empty_plan("for the other pull request after the first closed");
}

/// Actions (Terraform 1.14+): each example is validated, applied (the resources it declares), then its action
/// is invoked with `terraform apply -invoke`; the cleanup example is a dry run, so nothing is written by it.
#[test]
fn action_examples_validate_and_invoke() {
    for dir in example_dirs("actions") {
        let type_name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let what = format!("examples/actions/{type_name}");
        let services = Services::start(uses_aws(&dir));
        let ws = services.workspace();
        let tf = files(&dir, |n| n.ends_with(".tf"));
        stage(&ws, &tf);
        validate(&ws, &what, &[]);
        ws.apply();
        let text: String = tf.iter().map(|f| read(f)).collect();
        let label = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("action \"{type_name}\" \"")))
            .and_then(|rest| rest.split_once('"'))
            .map(|(label, _)| label.to_string())
            .unwrap_or_else(|| panic!("{what} declares no `action \"{type_name}\"` block"));
        let writes = mutation_count(&services.emulator);
        let run = ws.ok(&["apply", "-auto-approve", "-no-color", &format!("-invoke=action.{type_name}.{label}")]);
        // What each example must show; a new action's example needs its own line here.
        match type_name.as_str() {
            "dagsterbranch_cleanup_branch_deployments" => {
                assert_eq!(
                    mutation_count(&services.emulator),
                    writes,
                    "{what}: the dry run wrote:\n{}",
                    run.describe()
                );
                assert!(run.stdout.contains("nothing was written"), "{what}:\n{}", run.describe());
            }
            "dagsterbranch_redeploy_code_locations" => {
                assert!(run.stdout.contains("redeployed `etl`"), "{what}:\n{}", run.describe());
            }
            other => panic!("{what}: no expectation for the action `{other}`"),
        }
    }
}
