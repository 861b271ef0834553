//! The documentation under `docs/`: generated pages equal what `terraform-provider-dagsterbranch docs` renders
//! from the schema today, every attribute Terraform sees has a description, every served type has a page,
//! and the hand-written guides carry the registry's front matter.

use std::process::Command;

use crate::support::*;
use serde_json::Value;

#[test]
fn committed_docs_are_current_and_complete() {
    let output = Command::new(provider_binary())
        .args(["docs", "--check", "--root"])
        .arg(repo_root())
        .output()
        .expect("run the docs generator");
    assert!(
        output.status.success(),
        "docs/ is stale or incomplete; run `cargo run -- docs` and commit the result:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `terraform providers schema -json`, as Terraform receives the schema from the provider.
fn served_schema() -> Value {
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&format!(
        "terraform {{\n  required_providers {{\n    dagsterbranch = {{ source = \"{PROVIDER_SOURCE}\" }}\n  }}\n}}\n"
    ));
    let run = ws.ok(&["providers", "schema", "-json"]);
    let all: Value = serde_json::from_str(&run.stdout).expect("schema JSON");
    all["provider_schemas"][format!("registry.terraform.io/{PROVIDER_SOURCE}")].clone()
}

fn check_block(block: &Value, path: &str, missing: &mut Vec<String>) {
    if block["description"].as_str().is_none_or(|d| d.trim().is_empty()) {
        missing.push(path.to_string());
    }
    for (name, attribute) in block["attributes"].as_object().into_iter().flatten() {
        if attribute["description"].as_str().is_none_or(|d| d.trim().is_empty()) {
            missing.push(format!("{path}.{name}"));
        }
    }
    for (name, nested) in block["block_types"].as_object().into_iter().flatten() {
        check_block(&nested["block"], &format!("{path}.{name}"), missing);
    }
}

#[test]
fn terraform_sees_a_description_for_every_attribute_and_a_page_for_every_type() {
    let schema = served_schema();
    let mut missing = Vec::new();
    check_block(&schema["provider"]["block"], "provider", &mut missing);
    let groups = [
        ("resource_schemas", "resources"),
        ("data_source_schemas", "data-sources"),
        ("ephemeral_resource_schemas", "ephemeral-resources"),
        ("list_resource_schemas", "list-resources"),
        ("action_schemas", "actions"),
    ];
    let mut served = 0;
    for (key, dir) in groups {
        for (name, entry) in schema[key].as_object().into_iter().flatten() {
            served += 1;
            check_block(&entry["block"], &format!("{key}.{name}"), &mut missing);
            let page =
                repo_root().join("docs").join(dir).join(format!("{}.md", name.trim_start_matches("dagsterbranch_")));
            assert!(page.exists(), "{name} is served but {} does not exist", page.display());
        }
    }
    assert!(served >= 4, "expected resources, data sources and list resources in:\n{schema:#}");
    // Provider functions (Terraform 1.8+) are served with the schema too, each with its summary and a page.
    let functions = schema["functions"].as_object().cloned().unwrap_or_default();
    assert!(functions.len() >= 2, "expected the provider functions in:\n{schema:#}");
    for (name, function) in &functions {
        if function["summary"].as_str().is_none_or(|d| d.trim().is_empty()) {
            missing.push(format!("function {name}"));
        }
        let page = repo_root().join("docs/functions").join(format!("{name}.md"));
        assert!(page.exists(), "function {name} is served but {} does not exist", page.display());
    }
    for (name, identity) in schema["resource_identity_schemas"].as_object().into_iter().flatten() {
        for (attribute, spec) in identity["attributes"].as_object().into_iter().flatten() {
            if spec["description"].as_str().is_none_or(|d| d.trim().is_empty()) {
                missing.push(format!("identity {name}.{attribute}"));
            }
        }
    }
    assert!(missing.is_empty(), "without a description:\n{missing:#?}");
}

#[test]
fn guides_have_front_matter_and_cover_the_setup_and_ci() {
    let dir = repo_root().join("docs/guides");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("docs/guides").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(entry.path()).expect("guide text");
        assert!(text.starts_with("---\npage_title: \""), "{name}: no front matter");
        assert!(
            text.contains("\nsubcategory: ") && text.contains("\ndescription: "),
            "{name}: incomplete front matter"
        );
        assert!(text.len() < 500_000, "{name} exceeds the registry's page size");
        // Links between pages must point at files that exist.
        for target in text.split("](").skip(1).filter_map(|rest| rest.split(')').next()) {
            if target.starts_with("http") || target.starts_with('#') {
                continue;
            }
            let path = dir.join(target.split('#').next().unwrap_or_default());
            assert!(path.exists(), "{name} links to {target}, which does not exist");
        }
        names.push(name);
    }
    names.sort();
    for expected in ["manual-steps-to-terraform.md", "ci-github-actions.md", "ci-gitlab.md"] {
        assert!(names.iter().any(|n| n == expected), "docs/guides/{expected} is missing (found {names:?})");
    }
}
