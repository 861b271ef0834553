//! `dagster-cloud deployment add-location / update-location / delete-location /
//! list-locations / sync-locations / pull-locations`.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{cli, file, path_str, Emu, TOKEN};

/// Keeps the CLI from waiting (API reference §4.4: both timeouts 0).
const NO_WAIT: [&str; 4] = ["--location-load-timeout", "0", "--agent-heartbeat-timeout", "0"];

const LOC_SINGLE: &str = "location_name: bd_location
image: 123.dkr.ecr.us-east-1.amazonaws.com/app:def
code_source:
  module_name: my_pkg.definitions
working_directory: /opt/app
executable_path: /usr/local/bin/python
attribute: defs
agent_queue: branch-queue
container_context:
  ecs:
    env_vars:
      - FOO=bar
    run_resources:
      cpu: \"1024\"
      memory: \"2048\"
build:
  directory: .
  registry: 123.dkr.ecr.us-east-1.amazonaws.com/app
git:
  commit_hash: fileabc
";

const LOC_MULTI: &str = "locations:
  - location_name: loc_a
    code_source:
      package_name: pkg_a
    image: img/a:1
  - location_name: loc_b
    code_source:
      python_file: b/defs.py
    image: img/b:1
    agent_queue: special
";

fn args(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn add_location_with_flags() {
    let emu = Emu::start();
    let bd = emu.branch_deployment("feature/x");
    let mut a = args(&[
        "deployment",
        "add-location",
        "--url",
        &format!("{}/{bd}", emu.url()),
        "--deployment",
        &bd,
        "--api-token",
        TOKEN,
        "my_location",
        "--image",
        "123.dkr.ecr.us-east-1.amazonaws.com/app:abc",
        "--package-name",
        "my_pkg",
        "--working-directory",
        "/opt/app",
        "--executable-path",
        "/usr/bin/python3",
        "--attribute",
        "defs",
        "--commit-hash",
        "abc123",
        "--git-url",
        "https://github.com/acme/repo/tree/abc123",
    ]);
    a.extend(args(&NO_WAIT));
    let out = cli(&a).run();
    assert!(out.success, "{out:?}");
    assert!(out.stdout.contains("Added or updated location my_location."), "{out:?}");
    let location = emu.location(&bd, "my_location").expect("location in the branch deployment");
    assert_eq!(
        location["spec"],
        json!({"image": "123.dkr.ecr.us-east-1.amazonaws.com/app:abc",
            "code_source": {"kind": "package_name", "value": "my_pkg"},
            "working_directory": "/opt/app", "executable_path": "/usr/bin/python3", "attribute": "defs",
            "agent_queue": null, "container_context": {},
            "git": {"commit_hash": "abc123", "url": "https://github.com/acme/repo/tree/abc123",
                "provider": null, "repo_owner": null, "repo_name": null, "base_branch": null, "defs_base_path": null},
            "pex_metadata": null, "defs_state_info": null})
    );
    assert!(emu.location("prod", "my_location").is_none());
}

#[test]
fn add_location_from_files() {
    let emu = Emu::start();
    let bd = emu.branch_deployment("feature/x");
    let (_single_dir, single) = file("loc_single.yaml", LOC_SINGLE);
    let mut a = args(&[
        "deployment",
        "add-location",
        "--url",
        &format!("{}/{bd}", emu.url()),
        "--api-token",
        TOKEN,
        "--location-file",
        &path_str(&single),
    ]);
    a.extend(args(&NO_WAIT));
    let out = cli(&a).run();
    assert!(out.success, "{out:?}");
    let spec = emu.location(&bd, "bd_location").expect("bd_location")["spec"].clone();
    assert_eq!(spec["agent_queue"], "branch-queue");
    assert_eq!(
        spec["container_context"],
        json!({"ecs": {"env_vars": ["FOO=bar"], "run_resources": {"cpu": "1024", "memory": "2048"}}})
    );
    assert_eq!(spec["code_source"], json!({"kind": "module_name", "value": "my_pkg.definitions"}));
    assert_eq!(spec["git"]["commit_hash"], "fileabc");

    // A multi-location file picks the named entry (loc_add_multi), here into prod.
    let (_multi_dir, multi) = file("loc_multi.yaml", LOC_MULTI);
    let mut a = args(&[
        "deployment",
        "add-location",
        "--url",
        &format!("{}/prod", emu.url()),
        "--api-token",
        TOKEN,
        "--location-file",
        &path_str(&multi),
        "loc_b",
    ]);
    a.extend(args(&NO_WAIT));
    let out = cli(&a).run();
    assert!(out.success, "{out:?}");
    let loc_b = emu.location("prod", "loc_b").expect("loc_b")["spec"].clone();
    assert_eq!(loc_b["agent_queue"], "special");
    assert_eq!(loc_b["code_source"], json!({"kind": "python_file", "value": "b/defs.py"}));
    assert!(emu.location("prod", "loc_a").is_none());
}

#[test]
fn list_locations_prints_the_deserialized_metadata() {
    let emu = Emu::start();
    let bd = emu.branch_deployment("feature/x");
    emu.add_location(
        &bd,
        json!({"location_name": "my_location", "code_source": {"package_name": "my_pkg"},
        "image": "123.dkr.ecr.us-east-1.amazonaws.com/app:abc", "agent_queue": "q",
        "container_context": {"k8s": {"namespace": "bd"}}, "git": {"commit_hash": "abc123"}}),
    );
    emu.add_location(
        &bd,
        json!({"location_name": "loc_c", "code_source": {"python_file": "defs.py"}, "image": "img/c:2"}),
    );
    emu.add_location(
        &bd,
        json!({"location_name": "loc_d", "code_source": {"autoload_defs_module_name": "my_proj.defs"}}),
    );
    let out =
        cli(&["deployment", "list-locations", "--url", &format!("{}/{bd}", emu.url()), "--api-token", TOKEN]).run();
    assert!(out.success, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "Listing locations...",
            "my_location\tPackage: my_pkg\tImage: 123.dkr.ecr.us-east-1.amazonaws.com/app:abc",
            "loc_c\tFile: defs.py\tImage: img/c:2",
            "loc_d",
        ]
    );
}

#[test]
fn update_location_replaces_the_document() {
    let emu = Emu::start();
    emu.add_location(
        "prod",
        json!({"location_name": "loc_c", "code_source": {"package_name": "old"}, "image": "img/c:1"}),
    );
    let mut a = args(&[
        "deployment",
        "update-location",
        "--url",
        &format!("{}/prod", emu.url()),
        "--api-token",
        TOKEN,
        "loc_c",
        "--python-file",
        "defs.py",
        "--image",
        "img/c:2",
    ]);
    a.extend(args(&NO_WAIT));
    let out = cli(&a).run();
    assert!(out.success, "{out:?}");
    let location = emu.location("prod", "loc_c").expect("loc_c");
    assert_eq!(location["spec"]["image"], "img/c:2");
    assert_eq!(location["spec"]["code_source"], json!({"kind": "python_file", "value": "defs.py"}));
    assert_eq!(location["revision"], 2);
}

#[test]
fn delete_location_removes_it() {
    let emu = Emu::start();
    let bd = emu.branch_deployment("feature/x");
    emu.add_location(&bd, json!({"location_name": "bd_location", "code_source": {"package_name": "p"}}));
    let delete = || {
        cli(&[
            "deployment",
            "delete-location",
            "--url",
            &format!("{}/{bd}", emu.url()),
            "--deployment",
            &bd,
            "--api-token",
            TOKEN,
            "bd_location",
        ])
        .run()
    };
    let out = delete();
    assert!(out.success, "{out:?}");
    assert!(out.stdout.contains("Deleted location bd_location."), "{out:?}");
    assert!(emu.location(&bd, "bd_location").is_none());
    let again = delete();
    assert!(!again.success);
    assert!(again.all().contains("Unable to delete location"), "{again:?}");
}

#[test]
fn invalid_locations_are_reported_by_the_cli() {
    let emu = Emu::start();
    let mut a = args(&[
        "deployment",
        "add-location",
        "--url",
        &format!("{}/prod", emu.url()),
        "--api-token",
        TOKEN,
        "bad",
        "--python-file",
        "a.py",
        "--package-name",
        "p",
    ]);
    a.extend(args(&NO_WAIT));
    let out = cli(&a).run();
    assert!(!out.success);
    assert!(out.all().contains("Error in location config:"), "{out:?}");
    assert!(
        out.all().contains(
            "Must supply exactly one of python_file, package_name, module_name, or autoload_defs_module_name."
        ),
        "{out:?}"
    );
    assert!(emu.location("prod", "bad").is_none());
}

#[test]
fn sync_then_pull_locations() {
    let emu = Emu::start();
    emu.emulator.set_location_load_delay(Duration::ZERO);
    emu.add_location("prod", json!({"location_name": "stale", "code_source": {"package_name": "s"}}));
    let (_dir, workspace) = file(
        "workspace.yaml",
        "locations: [{location_name: loc_a, code_source: {package_name: pkg_a}, image: img/a:1}]\n",
    );
    let out = cli(&[
        "deployment",
        "sync-locations",
        "--url",
        &format!("{}/prod", emu.url()),
        "--api-token",
        TOKEN,
        "-w",
        &path_str(&workspace),
        "--location-load-timeout",
        "20",
        "--agent-heartbeat-timeout",
        "20",
    ])
    .run();
    assert!(out.success, "{out:?}");
    assert!(out.stdout.contains("Synced locations: loc_a"), "{out:?}");
    assert!(emu.location("prod", "stale").is_none(), "sync removes other locations");

    let pulled =
        cli(&["deployment", "pull-locations", "--url", &format!("{}/prod", emu.url()), "--api-token", TOKEN]).run();
    assert!(pulled.success, "{pulled:?}");
    assert_eq!(
        pulled.stdout.trim(),
        "locations:\n- code_source:\n    package_name: pkg_a\n  image: img/a:1\n  location_name: loc_a"
    );
}

#[test]
fn add_location_waits_for_an_agent_heartbeat_then_the_load() {
    let emu = Emu::start();
    let bd = emu.branch_deployment("feature/x");
    // Still loading at the CLI's first poll; loaded by its second, 3 s later.
    emu.emulator.set_location_load_delay(Duration::from_millis(2500));
    std::thread::scope(|scope| {
        // The agent starts heartbeating only after the CLI has seen no agent.
        let agent = scope.spawn(|| {
            let deadline = Instant::now() + Duration::from_secs(60);
            while emu.count("query.agents") == 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            emu.emulator.heartbeat("bd-agent", &[("version", json!("1.13.27"))]).expect("heartbeat");
        });
        let out = cli(&[
            "deployment",
            "add-location",
            "--url",
            &format!("{}/{bd}", emu.url()),
            "--deployment",
            &bd,
            "--api-token",
            TOKEN,
            "my_location",
            "--image",
            "img/app:1",
            "--package-name",
            "my_pkg",
            "--location-load-timeout",
            "60",
            "--agent-heartbeat-timeout",
            "60",
        ])
        .run();
        agent.join().expect("agent thread");
        assert!(out.success, "{out:?}");
        assert!(out.stdout.contains("Agent synced changes to my_location."), "{out:?}");
    });
    // First poll: no agent, still loading; second poll: agent RUNNING, LOADED.
    assert_eq!(emu.count("query.agents"), 2);
    assert_eq!(emu.count("query.workspaceOrError"), 2);
    let location = emu.location(&bd, "my_location").expect("location");
    assert_eq!(location["load"]["status"], "LOADED");
}

#[test]
fn add_location_fails_without_a_running_agent() {
    let emu = Emu::start();
    emu.emulator.set_location_load_delay(Duration::from_secs(30));
    emu.emulator.heartbeat("gone-agent", &[]).expect("heartbeat");
    emu.emulator.stop_heartbeats("gone-agent").expect("stopped");
    let out = cli(&[
        "deployment",
        "add-location",
        "--url",
        &format!("{}/prod", emu.url()),
        "--api-token",
        TOKEN,
        "my_location",
        "--package-name",
        "my_pkg",
        "--location-load-timeout",
        "60",
        "--agent-heartbeat-timeout",
        "1",
    ])
    .run();
    assert!(!out.success);
    assert!(out.all().contains("No Dagster Cloud agent is actively heartbeating"), "{out:?}");
}

#[test]
fn a_failing_location_makes_the_cli_report_the_load_error() {
    let emu = Emu::start();
    emu.emulator.set_location_load_delay(Duration::ZERO);
    emu.emulator.set_failing_image_pattern(Some("*:broken".into()));
    emu.emulator.heartbeat("bd-agent", &[]).expect("heartbeat");
    let out = cli(&[
        "deployment",
        "add-location",
        "--url",
        &format!("{}/prod", emu.url()),
        "--api-token",
        TOKEN,
        "my_location",
        "--image",
        "registry/app:broken",
        "--package-name",
        "my_pkg",
        "--location-load-timeout",
        "60",
        "--agent-heartbeat-timeout",
        "60",
    ])
    .run();
    assert!(!out.success, "{out:?}");
    let all = out.all();
    assert!(all.contains("Some locations failed to load after being synced by the agent"), "{out:?}");
    assert!(all.contains("Error loading my_location:"), "{out:?}");
    assert!(all.contains("registry/app:broken"), "{out:?}");
    let location = emu.location("prod", "my_location").expect("location exists");
    assert!(location["load"]["error"].is_string());
}
