//! The README's first command, as a new user runs it: `scripts/demo` in a copy of the tree that has never
//! been built (no `target/`), then the checks a user would make of what it printed, then
//! `scripts/demo --destroy`, which must leave the emulators empty.
//!
//! What the copy shares with this checkout, and why that hides no missing build step:
//! - `.venv` is a link to this checkout's (the same `scripts/requirements-dev.txt`, so the copy's
//!   `scripts/dev-setup` finds it current). A fresh `.venv` is what `scripts/test` itself starts from on CI.
//! - `target/debug/{deps,build,.fingerprint}` is seeded with this checkout's compiled crates, as a warm cargo
//!   cache would be. Cargo keys the workspace's own crates by their path, so none of them is reused: every
//!   crate and program of this workspace that the demo runs must be built by the demo's own cargo command.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::*;
use serde_json::Value;

/// The CI secrets Dagster's branch-deployment guide lists for Amazon ECR.
const GUIDE_ECR_SECRETS: [&str; 4] = ["DAGSTER_CLOUD_URL", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"];
/// Ours on top of the guide's: the name the AWS CLI, SDKs and `aws-actions/configure-aws-credentials` read.
const EXTRA_SECRETS: [&str; 1] = ["AWS_ACCESS_KEY_ID"];

/// A copy of the tracked (and not ignored untracked) files of this checkout, as a clone would have them.
fn copy_of_tree(into: &Path) {
    let root = repo_root();
    let listing = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(&root)
        .output()
        .expect("run git (the demo test copies the files git tracks)");
    assert!(listing.status.success(), "git ls-files failed: {}", String::from_utf8_lossy(&listing.stderr));
    for name in listing.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = std::str::from_utf8(name).expect("utf-8 file name");
        let from = root.join(name);
        if !from.exists() {
            continue; // deleted in the work tree, not yet in the index
        }
        let to = into.join(name);
        std::fs::create_dir_all(to.parent().expect("file in a folder")).expect("create folder");
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {name}: {e}"));
    }
    std::os::unix::fs::symlink(root.join(".venv"), into.join(".venv")).expect("link .venv");
    let target = root.join("target/debug");
    let seeded = into.join("target/debug");
    std::fs::create_dir_all(&seeded).expect("create target/debug");
    for dir in ["deps", "build", ".fingerprint"] {
        let status = Command::new("cp")
            .args(["-a", "--reflink=auto"])
            .arg(target.join(dir))
            .arg(&seeded)
            .status()
            .expect("run cp");
        assert!(status.success(), "seeding {dir} from {} failed", target.display());
    }
}

/// `bash scripts/<args>` in the copy, with none of this environment's Terraform, Dagster+ or AWS settings.
fn demo(copy: &Path, args: &[&str]) -> Run {
    let mut command = Command::new("timeout");
    command.arg("1500").arg("bash").arg(copy.join("scripts/demo")).args(args).current_dir(copy);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let target_dir = key == "CARGO_TARGET_DIR" || key == "CARGO_BUILD_TARGET_DIR";
        if target_dir || ["TF_", "DAGSTER_", "AWS_"].iter().any(|prefix| key.starts_with(prefix)) {
            command.env_remove(key.as_ref());
        }
    }
    let started = std::time::Instant::now();
    let output = command.output().expect("run scripts/demo");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

fn pids(copy: &Path) -> Vec<u32> {
    ["emulator.pid", "moto.pid"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(copy.join("target/demo").join(f)).ok())
        .filter_map(|pid| pid.trim().parse().ok())
        .collect()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Stops the demo's emulators if the test ends before `--destroy` did.
struct StopDemo(PathBuf);

impl Drop for StopDemo {
    fn drop(&mut self) {
        for pid in pids(&self.0) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

/// The lines indented by five spaces under the item of the "What you need next" block that starts with `item`.
fn section<'a>(stdout: &'a str, item: &str) -> Vec<&'a str> {
    let block = stdout.split_once("What you need next").map(|(_, rest)| rest).expect("'What you need next' block");
    let after = block.split_once(&format!("\n{item}")).unwrap_or_else(|| panic!("no item {item:?} in:\n{block}")).1;
    // The item's text is indented; the next item, and the closing text, start in the first column.
    let indented = |line: &&str| line.is_empty() || line.starts_with(' ');
    after.lines().skip(1).take_while(indented).filter(|line| line.starts_with("     ")).collect()
}

fn urls(text: &str) -> BTreeSet<String> {
    text.split(|c: char| c.is_whitespace())
        .filter(|word| word.starts_with("http://") || word.starts_with("https://"))
        .map(|word| word.trim_end_matches(['.', ',', ')']).to_string())
        .collect()
}

#[test]
fn demo_runs_on_a_fresh_copy_and_destroy_leaves_nothing() {
    let copy = tempfile::Builder::new().prefix("demo-copy-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    copy_of_tree(copy.path());
    assert!(!copy.path().join("target/debug/dagster-plus-emulator").exists());
    let _stop = StopDemo(copy.path().to_path_buf());

    let up = demo(copy.path(), &[]);
    assert_eq!(up.code, 0, "scripts/demo failed after {:?}:\n{}\n{}", up.elapsed, up.stdout, up.stderr);
    let out = &up.stdout;
    assert!(out.contains("A second plan is empty"), "{out}");

    // 1. The agent's dagster.yaml parses and turns branch deployments on.
    let yaml: String = section(out, "1. ").iter().map(|line| format!("{}\n", &line[5..])).collect();
    let config: Value = serde_norway::from_str(&yaml).unwrap_or_else(|e| panic!("dagster.yaml: {e}\n{yaml}"));
    assert_eq!(config["dagster_cloud_api"]["branch_deployments"], Value::Bool(true), "{yaml}");
    assert!(
        config["dagster_cloud_api"]["agent_token"].as_str().is_some_and(|t| !t.is_empty()),
        "no agent token in dagster.yaml:\n{yaml}"
    );

    // 2. The registry exists in moto under the printed URL, and the CI secrets are the guide's.
    let registry = section(out, "2. ");
    let registry_url = registry.first().expect("registry URL").trim();
    let secrets: BTreeSet<&str> = registry[1..].iter().map(|line| line.trim()).collect();
    let expected: BTreeSet<&str> = GUIDE_ECR_SECRETS.iter().chain(&EXTRA_SECRETS).copied().collect();
    assert_eq!(secrets, expected, "CI secret names");

    let status = demo(copy.path(), &["--status"]);
    assert_eq!(status.code, 0, "scripts/demo --status:\n{}\n{}", status.stdout, status.stderr);
    assert!(status.stdout.contains(&format!("  ECR repository: {registry_url}\n")), "{}", status.stdout);
    for line in [
        "Dagster+ emulator: 1 agent token, 0 agents, 2 branch deployments",
        "AWS emulator (moto): 1 ECR repository, 1 IAM user, 1 access key",
    ] {
        assert!(status.stdout.contains(line), "expected {line:?} in:\n{}", status.stdout);
    }

    // 3. Both branch deployments, each under its own name, and every URL the demo printed answers.
    let deployments = section(out, "3. ");
    assert_eq!(deployments.len(), 2, "{deployments:?}");
    for line in &deployments {
        let name = line.split_whitespace().nth(1).expect("deployment name");
        assert!(status.stdout.contains(&format!("  branch deployment: {name} (ACTIVE)")), "{name}: {}", status.stdout);
    }
    let printed = urls(out);
    assert!(printed.len() >= 4, "expected the two emulators' and two deployments' URLs in:\n{out}");
    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    for url in &printed {
        let response = http.get(url).send().unwrap_or_else(|e| panic!("{url} does not answer: {e}"));
        assert!(!response.status().is_server_error(), "{url} answers {}", response.status());
    }

    // --destroy: Terraform's objects are gone from both emulators before they stop.
    let running = pids(copy.path());
    assert_eq!(running.len(), 2, "emulator and moto pid files");
    let down = demo(copy.path(), &["--destroy"]);
    assert_eq!(down.code, 0, "scripts/demo --destroy:\n{}\n{}", down.stdout, down.stderr);
    for line in [
        "Dagster+ emulator: 0 agent tokens, 0 agents, 0 branch deployments",
        "AWS emulator (moto): 0 ECR repositories, 0 IAM users, 0 access keys",
    ] {
        assert!(down.stdout.contains(line), "expected {line:?} in:\n{}", down.stdout);
    }
    wait_until("the emulators to exit", Duration::from_secs(10), || running.iter().all(|pid| !alive(*pid)));
    assert!(!copy.path().join("target/demo").exists(), "target/demo is left behind");
    eprintln!("demo: up {:?} (build included), --destroy {:?}", up.elapsed, down.elapsed);
}
