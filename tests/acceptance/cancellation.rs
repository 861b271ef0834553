//! Ctrl-C during a long wait: while the provider waits for a code location to load (the emulator keeps it
//! LOADING for a minute), SIGINT must end `terraform apply` within 2 seconds, with the provider alive to
//! answer (Terraform turns the signal into StopProvider) and the created deployment saved in state.
//!
//! Two ways the signal arrives: to the whole process group, as a terminal's Ctrl-C does (the provider gets it
//! too and must ignore it), and to the terraform process alone (as `kill -INT` or a CI runner does).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

const ADDRESS: &str = "dagsterbranch_deployment.branch";
/// The bound the issue sets on ending the wait.
const INTERRUPT_BOUND: Duration = Duration::from_secs(2);

fn config(emulator: &dagster_plus_emulator::RunningEmulator) -> String {
    format!(
        r#"{provider}
resource "dagsterbranch_deployment" "branch" {{
  repo   = "acme/data-platform"
  branch = "feature/interrupt"
  commit {{
    hash      = "0123abcd"
    timestamp = 1718000000
  }}
  code_location {{
    name        = "etl"
    image       = "ghcr.io/acme/etl:0123abcd"
    module_name = "etl.definitions"
  }}
  timeouts {{
    create = "10m"
  }}
}}
"#,
        provider = provider_block(emulator)
    )
}

/// Sends SIGINT with procps' kill: `-PGID` for a process group. (Keeps the tests free of a libc dependency.)
fn interrupt(target: &str) {
    let status = std::process::Command::new("/bin/kill").args(["-INT", "--", target]).status().expect("run /bin/kill");
    assert!(status.success(), "kill -INT {target} failed: {status}");
}

/// Whether any process of the group is still alive (`kill -0 -PGID`).
fn group_alive(pgid: u32) -> bool {
    std::process::Command::new("/bin/kill")
        .args(["-0", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Kills what is left of the group on the way out, so a failing run never leaks terraform or the provider.
struct GroupGuard(u32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if group_alive(self.0) {
            let _ = std::process::Command::new("/bin/kill")
                .args(["-KILL", "--", &format!("-{}", self.0)])
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn wait_exit(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("wait for terraform") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn interrupt_during_load_wait(whole_group: bool) {
    let emulator = start_emulator();
    emulator.set_location_load_delay(Duration::from_secs(60));
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&config(&emulator));

    let stdout_path = ws.dir.path().join("apply.stdout");
    let stderr_path = ws.dir.path().join("apply.stderr");
    let mut command = ws.command(&["apply", "-auto-approve", "-no-color"]);
    // Its own process group, as a shell gives a foreground job: the group signal then reaches terraform and
    // the provider it starts, and nothing else of the test runner.
    command
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).expect("stdout file"))
        .stderr(File::create(&stderr_path).expect("stderr file"));
    let mut child = command.spawn().expect("start terraform apply");
    let pid = child.id();
    let _guard = GroupGuard(pid);

    // The location has been sent: from here on the provider is waiting for it to load.
    let deployed = |emulator: &dagster_plus_emulator::RunningEmulator| {
        emulator.operation_counts().get("mutation.addOrUpdateLocationFromDocument").copied().unwrap_or(0) >= 1
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !deployed(&emulator) {
        if let Some(status) = child.try_wait().expect("wait for terraform") {
            panic!(
                "terraform exited ({status}) before the location was deployed:\n{}\n{}",
                std::fs::read_to_string(&stdout_path).unwrap_or_default(),
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "the provider never deployed the code location");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let the provider get into its poll-and-sleep loop rather than catching it between two requests.
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait().expect("wait").is_none(), "terraform ended before the interrupt");

    let signalled = Instant::now();
    interrupt(&if whole_group { format!("-{pid}") } else { pid.to_string() });
    let status = wait_exit(&mut child, Duration::from_secs(20));
    let to_exit = signalled.elapsed();
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let output = format!("--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
    let status = status.unwrap_or_else(|| panic!("terraform did not exit within 20s of SIGINT:\n{output}"));

    // The provider went on answering: it ignored the signal and ended the wait on StopProvider.
    for crash in
        ["Plugin did not respond", "plugin crashed", "failed to respond to the plugin", "connection is shut down"]
    {
        assert!(!output.contains(crash), "the provider did not survive the interrupt ({crash:?}):\n{output}");
    }
    assert!(
        output.contains("Interrupted while waiting for code locations"),
        "expected the provider's interrupt diagnostic:\n{output}"
    );
    assert_eq!(status.code(), Some(1), "an interrupted apply exits 1:\n{output}");

    // The deployment exists in Dagster+, and the state records it under the name Dagster+ gave it.
    let deployments = branch_deployments(&emulator);
    assert_eq!(deployments.len(), 1, "one branch deployment expected: {deployments:?}");
    let name = deployments[0]["deploymentName"].as_str().expect("deployment name").to_string();
    let resource = ws
        .state_resources()
        .into_iter()
        .find(|r| r["address"] == ADDRESS)
        .unwrap_or_else(|| panic!("{ADDRESS} is not in state after the interrupt:\n{output}"));
    assert_eq!(resource["values"]["name"], name.as_str(), "state: {resource}");

    // Terraform stops the provider on the way out; nothing of the group is left behind.
    let gone_by = Instant::now() + Duration::from_secs(5);
    while group_alive(pid) && Instant::now() < gone_by {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!group_alive(pid), "terraform or the provider is still running after terraform exited");

    println!(
        "SIGINT to {}: terraform exited {:.2}s after the signal (exit {}); state records `{name}` (tainted: {})",
        if whole_group { "the process group" } else { "terraform only" },
        to_exit.as_secs_f64(),
        status.code().unwrap_or(-1),
        resource.get("tainted").and_then(|t| t.as_bool()).unwrap_or(false),
    );
    assert!(
        to_exit <= INTERRUPT_BOUND,
        "terraform took {to_exit:?} (over {INTERRUPT_BOUND:?}) to exit after SIGINT:\n{output}"
    );
}

#[test]
fn sigint_to_the_process_group_ends_the_load_wait_and_saves_state() {
    interrupt_during_load_wait(true);
}

#[test]
fn sigint_to_terraform_alone_ends_the_load_wait_and_saves_state() {
    interrupt_during_load_wait(false);
}
