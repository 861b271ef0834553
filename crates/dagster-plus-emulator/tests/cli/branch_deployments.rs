//! `dagster-cloud branch-deployment create-or-update` and `delete`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::support::{cli, Emu, TOKEN};

#[test]
fn create_or_update_with_every_flag() {
    let emu = Emu::start();
    let out = cli(&[
        "branch-deployment",
        "create-or-update",
        "--url",
        &emu.url(),
        "--api-token",
        TOKEN,
        "--git-repo-name",
        "acme/data-platform",
        "--branch-name",
        "feature/x",
        "--commit-hash",
        "4f2a1c9e0b7d",
        "--timestamp",
        "1718000000.5",
        "--branch-url",
        "https://github.com/acme/data-platform/tree/feature/x",
        "--pull-request-url",
        "https://github.com/acme/data-platform/pull/17",
        "--pull-request-status",
        "OPEN",
        "--pull-request-id",
        "17",
        "--commit-message",
        "Add thing",
        "--author-name",
        "Ada L",
        "--author-email",
        "ada@example.com",
        "--author-avatar-url",
        "https://avatars.example.com/u/1",
        "--base-deployment-name",
        "prod",
        "--snapshot-base-condition",
        "on-create",
    ])
    .run();
    assert!(out.success, "{out:?}");

    let branches = emu.branch_deployments();
    assert_eq!(branches.len(), 1);
    let deployment = &branches[0];
    let name = deployment["deploymentName"].as_str().expect("name");
    assert_eq!(out.stdout.trim(), name, "the CLI prints the deployment name");
    assert!(name.starts_with("feature-x-"), "{name}");
    assert_eq!(
        deployment["branch"],
        json!({
            "repoName": "acme/data-platform", "branchName": "feature/x",
            "branchUrl": "https://github.com/acme/data-platform/tree/feature/x",
            "pullRequestUrl": "https://github.com/acme/data-platform/pull/17",
            "pullRequestStatus": "OPEN", "pullRequestNumber": "17",
            "parentDeploymentId": 1, "snapshotBaseCondition": "ON_CREATE",
            "commits": [{"commitHash": "4f2a1c9e0b7d", "timestamp": 1718000000.5, "commitMessage": "Add thing",
                "commitUrl": null, "authorName": "Ada L", "authorEmail": "ada@example.com",
                "authorAvatarUrl": "https://avatars.example.com/u/1"}]
        })
    );
    assert_eq!(emu.count("mutation.createOrUpdateBranchDeployment"), 1);
}

#[test]
fn running_twice_for_one_branch_returns_the_same_deployment() {
    let emu = Emu::start();
    let run = |hash: &str, status: &str| {
        let out = cli(&[
            "branch-deployment",
            "create-or-update",
            "--url",
            &emu.url(),
            "--api-token",
            TOKEN,
            "--repo-name",
            "acme/data-platform",
            "--branch-name",
            "feature/x",
            "--commit-hash",
            hash,
            "--timestamp",
            "1718000000",
            "--pull-request-status",
            status,
        ])
        .run();
        assert!(out.success, "{out:?}");
        out.stdout.trim().to_owned()
    };
    let first = run("aaa111", "OPEN");
    let second = run("bbb222", "CLOSED");
    assert_eq!(first, second);
    let branches = emu.branch_deployments();
    assert_eq!(branches.len(), 1);
    let branch = &branches[0]["branch"];
    assert_eq!(branch["pullRequestStatus"], "CLOSED");
    let hashes: Vec<&str> =
        branch["commits"].as_array().expect("commits").iter().filter_map(|c| c["commitHash"].as_str()).collect();
    assert_eq!(hashes, ["aaa111", "bbb222"]);
}

#[test]
fn lowercase_pull_request_status_gets_a_validation_error() {
    let emu = Emu::start();
    let out = cli(&[
        "branch-deployment",
        "create-or-update",
        "--url",
        &emu.url(),
        "--api-token",
        TOKEN,
        "--repo-name",
        "acme/dp",
        "--branch-name",
        "b1",
        "--commit-hash",
        "abc",
        "--timestamp",
        "1",
        "--pull-request-status",
        "closed",
    ])
    .run();
    assert!(!out.success, "{out:?}");
    assert!(out.all().contains("Value 'closed' does not exist in 'PullRequestStatus' enum."), "{out:?}");
    assert!(emu.branch_deployments().is_empty());
    assert_eq!(emu.count("graphql.rejected"), 1);
}

fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", repo)
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", "1717000000 +0000")
        .env("GIT_COMMITTER_DATE", "1718000123 +0000")
        .output()
        .expect("git runs (install git to run this test)");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn create_or_update_reads_git_state() {
    let emu = Emu::start();
    let repo = tempfile::tempdir().expect("repo dir");
    git(repo.path(), &["init", "-q", "-b", "feature/y"]);
    std::fs::write(repo.path().join("README"), "hi\n").expect("write");
    git(repo.path(), &["add", "README"]);
    git(repo.path(), &["commit", "-q", "-m", "Subject line here", "-m", "A body paragraph."]);
    let head = git(repo.path(), &["rev-parse", "HEAD"]);

    let out = cli(&[
        "branch-deployment",
        "create-or-update",
        "--url",
        &emu.url(),
        "--api-token",
        TOKEN,
        "--repo-name",
        "acme/data-platform",
        "--branch-name",
        "feature/y",
        "--read-git-state",
        "--pull-request-status",
        "OPEN",
        "--pull-request-id",
        "18",
    ])
    .cwd(repo.path())
    .run();
    assert!(out.success, "{out:?}");
    let branches = emu.branch_deployments();
    assert_eq!(out.stdout.trim(), branches[0]["deploymentName"].as_str().unwrap_or("?"));
    let commit = &branches[0]["branch"]["commits"][0];
    assert_eq!(
        *commit,
        json!({"commitHash": head, "timestamp": 1718000123.0,
            // The CLI keeps git's trailing newline (API reference §3.2).
            "commitMessage": "Subject line here\n", "commitUrl": null,
            "authorName": "Ada Lovelace", "authorEmail": "ada@example.com", "authorAvatarUrl": null})
    );
    assert_eq!(branches[0]["branch"]["pullRequestNumber"], "18");
}

#[test]
fn delete_by_url_and_by_environment() {
    let emu = Emu::start();
    // Long enough to see PENDING_DELETION after the CLI exits, however slow the machine.
    emu.emulator.set_deletion_delay(Duration::from_secs(600));
    let first = emu.branch_deployment("feature/one");
    let second = emu.branch_deployment("feature/two");

    let by_flag = cli(&["branch-deployment", "delete", "--url", &emu.url(), "--api-token", TOKEN, "-d", &first]).run();
    assert!(by_flag.success, "{by_flag:?}");
    let pending = emu.deployment(&first).expect("still listed while pending");
    assert_eq!(pending["deploymentStatus"], "PENDING_DELETION");

    // `DAGSTER_CLOUD_URL` pointing at the deployment itself (bd_delete_envurl);
    // this one completes at once.
    emu.emulator.set_deletion_delay(Duration::ZERO);
    let by_env = cli(&["branch-deployment", "delete", "-d", &second])
        .env("DAGSTER_CLOUD_URL", &format!("{}/{second}", emu.url()))
        .env("DAGSTER_CLOUD_API_TOKEN", TOKEN)
        .run();
    assert!(by_env.success, "{by_env:?}");

    assert!(emu.deployment(&second).is_none(), "gone once its deletion delay has passed");
    assert_eq!(emu.deployment(&first).map(|d| d["deploymentStatus"].clone()), Some(json!("PENDING_DELETION")));
    assert_eq!(emu.count("mutation.deleteDeployment"), 2);

    let prod = cli(&["branch-deployment", "delete", "--url", &emu.url(), "--api-token", TOKEN, "-d", "prod"]).run();
    assert!(!prod.success);
    assert!(prod.all().contains("Deployment prod is not a branch deployment"), "{prod:?}");
    assert_eq!(emu.deployment("prod").map(|d| d["deploymentStatus"].clone()), Some(json!("ACTIVE")));
}
