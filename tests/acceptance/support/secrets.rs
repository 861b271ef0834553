//! Where a secret must never appear: everything Terraform writes or prints for a run.

use std::path::Path;

use super::Workspace;

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every member of a saved plan (a zip: the plan, the prior state, the configuration), uncompressed.
pub fn plan_members(plan: &Path) -> Vec<u8> {
    let output = std::process::Command::new("unzip").arg("-p").arg(plan).output().expect("run unzip");
    assert!(output.status.success(), "unzip -p {}: {}", plan.display(), String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// The state, the saved plan `tfplan` (raw, unzipped and as `terraform show -json`) and the trace `log` of
/// a `plan -out=tfplan` + `apply tfplan` in `ws`, with `extra` places; none may be empty.
pub fn written_places(ws: &Workspace, log: &Path, extra: Vec<(&'static str, Vec<u8>)>) -> Vec<(&'static str, Vec<u8>)> {
    let read = |path: &Path| std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let plan_file = ws.config_dir().join("tfplan");
    let mut places = vec![
        ("terraform.tfstate", read(&ws.config_dir().join("terraform.tfstate"))),
        ("the saved plan file (raw)", read(&plan_file)),
        ("the saved plan file (unzipped)", plan_members(&plan_file)),
        ("`terraform show -json tfplan`", ws.ok(&["show", "-json", "tfplan"]).stdout.into_bytes()),
        ("the TF_LOG=trace log", read(log)),
    ];
    places.extend(extra);
    for (place, bytes) in &places {
        assert!(!bytes.is_empty(), "{place} is empty");
    }
    places
}

/// Asserts that none of `secrets` (name, value) appears in the places [`written_places`] lists.
pub fn assert_written_nowhere(ws: &Workspace, log: &Path, secrets: &[(&str, &str)]) {
    for (place, bytes) in &written_places(ws, log, Vec::new()) {
        for (what, secret) in secrets {
            assert!(!contains(bytes, secret), "the {what} appears in {place}");
        }
    }
}
