//! Provider logs reach Terraform's log at their own level, and no secret ever appears in them.

use crate::support::*;

#[test]
fn trace_logs_show_provider_lines_and_never_a_secret() {
    let emulator = start_emulator();
    let mut ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.env("TF_LOG", "trace");
    ws.write(&format!(
        "{}\nresource \"dagsterbranch_agent_token\" \"t\" {{\n  description = \"logged\"\n  all_branch_deployments = true\n}}\n",
        provider_block(&emulator)
    ));
    let apply = ws.ok(&["apply", "-auto-approve", "-no-color"]);
    let token = ws.state_attributes("dagsterbranch_agent_token.t")["token"].as_str().expect("token").to_string();
    let refresh = ws.run(&["plan", "-no-color"]);
    let destroy = ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    let log = format!(
        "{}{}{}{}{}{}",
        apply.stdout, apply.stderr, refresh.stdout, refresh.stderr, destroy.stdout, destroy.stderr
    );

    let provider_lines: Vec<&str> =
        log.lines().filter(|l| l.contains("provider.terraform-provider-dagsterbranch")).collect();
    assert!(
        provider_lines.iter().any(|l| l.contains("agent token created")),
        "the provider's own info line is missing from the trace log"
    );
    assert!(provider_lines.iter().any(|l| l.contains("[DEBUG]")), "debug lines are missing");
    let token_secret = token.rsplit(':').next().expect("token body");
    for (what, secret) in
        [("agent token", token.as_str()), ("agent token body", token_secret), ("provider api_token", ADMIN_TOKEN)]
    {
        let leaks = log.lines().filter(|l| l.contains(secret)).count();
        assert_eq!(leaks, 0, "the {what} appears {leaks} time(s) in a TF_LOG=trace run");
    }
    println!(
        "scanned {} log lines ({} from the provider) for 3 secret values: none found",
        log.lines().count(),
        provider_lines.len()
    );
}
