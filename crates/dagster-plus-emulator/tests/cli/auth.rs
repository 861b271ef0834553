//! Credentials: a bad token is refused before anything runs.

use crate::support::{cli, Emu};

#[test]
fn a_bad_token_fails_with_an_authorization_error() {
    let emu = Emu::start();
    let out = cli(&[
        "branch-deployment",
        "create-or-update",
        "--url",
        &emu.url(),
        "--api-token",
        "user:test-org:nobody:wrong",
        "--repo-name",
        "acme/app",
        "--branch-name",
        "b",
        "--commit-hash",
        "c",
        "--timestamp",
        "1",
    ])
    .run();
    assert!(!out.success, "{out:?}");
    assert!(out.all().contains("'message': 'Unauthorized'"), "{out:?}");
    assert!(out.all().contains("UNAUTHENTICATED"), "{out:?}");
    assert_eq!(emu.count("http.401"), 1, "no retries for a 401");
    assert!(emu.branch_deployments().is_empty());

    let listed = cli(&[
        "deployment",
        "list-locations",
        "--url",
        &format!("{}/prod", emu.url()),
        "--api-token",
        "agent:test-org:0000",
    ])
    .run();
    assert!(!listed.success);
    assert!(listed.all().contains("Unauthorized"), "{listed:?}");
}
