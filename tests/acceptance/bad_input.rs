//! Bad input never reaches an API: a table of invalid configurations across the provider block and the four
//! resources, each of which must fail `terraform plan` (at validate or plan) with a diagnostic that names the
//! offending attribute, while the Dagster+ emulator records no mutation and moto holds no object.
//!
//! Every case is one edit of a valid configuration, and the valid configurations themselves run as controls,
//! so a case can only fail because of its edit. Cases run in parallel, each in its own workspace with its own
//! emulator (cheap, and it attributes any write to its case); one moto serves them all.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::support::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Provider,
    AgentToken,
    Agent,
    Deployment,
    Registry,
}

impl Kind {
    /// Whether a diagnostic points at this kind of block (by `in …` context or `with` address).
    fn pointed_at(self, diagnostic: &TfDiagnostic) -> bool {
        let context = diagnostic.context.as_deref().unwrap_or_default();
        let address = diagnostic.address.as_deref().unwrap_or_default();
        match self {
            Kind::Provider => context.starts_with("provider \"dagsterbranch\"") || address.starts_with("provider["),
            _ => {
                let type_name = self.type_name();
                context.starts_with(&format!("resource \"{type_name}\""))
                    || address.starts_with(&format!("{type_name}."))
            }
        }
    }

    fn type_name(self) -> &'static str {
        match self {
            Kind::Provider => "provider",
            Kind::AgentToken => "dagsterbranch_agent_token",
            Kind::Agent => "dagsterbranch_agent",
            Kind::Deployment => "dagsterbranch_deployment",
            Kind::Registry => "dagsterbranch_registry",
        }
    }
}

struct Case {
    name: &'static str,
    kind: Kind,
    /// The attribute (or block) the diagnostic must name.
    attribute: &'static str,
    /// Replacements applied to the valid configuration: the provider block for `Kind::Provider`, else the
    /// resource. Each `from` must occur exactly once.
    edits: Vec<(String, String)>,
}

fn case(name: &'static str, kind: Kind, attribute: &'static str, from: &str, to: &str) -> Case {
    Case { name, kind, attribute, edits: vec![(from.to_string(), to.to_string())] }
}

/// Lines added inside the resource (at the `# more` marker).
fn added(name: &'static str, kind: Kind, attribute: &'static str, lines: &str) -> Case {
    case(name, kind, attribute, "  # more\n", &format!("{lines}\n  # more\n"))
}

/// The provider block, valid: the emulator for Dagster+, moto for AWS.
const AGENT_TOKEN: &str = r#"
resource "dagsterbranch_agent_token" "bad" {
  description            = "branch agent"
  organization           = false
  all_branch_deployments = true
  deployments            = ["prod"]
  # more
}
"#;

const AGENT: &str = r#"
resource "dagsterbranch_agent" "bad" {
  label                                = "branch-agent"
  replicas                             = 2
  queues                               = ["gpu"]
  include_default_queue                = true
  branch_deployment_server_ttl_seconds = 3600
  agent_image                          = "docker.io/dagster/dagster-cloud-agent:1.9.0"
  deployments                          = ["prod"]
  allowed_branch_deployment_locations  = ["etl"]
  timeouts {
    create = "5m"
  }
  # more
}
"#;

const COMMIT: &str = r#"  commit {
    hash              = "0123abcd"
    timestamp         = 1718000000
    message           = "Bad input"
    url               = "https://github.com/acme/data-platform/commit/0123abcd"
    author_name       = "Ada"
    author_avatar_url = "https://avatars.example.com/u/1"
  }
"#;

const DEPLOYMENT: &str = r#"
resource "dagsterbranch_deployment" "bad" {
  repo                    = "acme/data-platform"
  branch                  = "feature/bad-input"
  base_deployment         = "prod"
  snapshot_base_condition = "on_create"
  branch_url              = "https://github.com/acme/data-platform/tree/feature/bad-input"
  on_destroy              = "delete"
  wait_for_load           = true
  COMMIT
  pull_request {
    number = "17"
    url    = "https://github.com/acme/data-platform/pull/17"
    status = "OPEN"
  }
  code_location {
    name              = "etl"
    image             = "ghcr.io/acme/etl:0123abcd"
    module_name       = "etl.definitions"
    container_context = jsonencode({ k8s = { namespace = "branch" } })
    git {
      commit_hash = "0123abcd"
      url         = "https://github.com/acme/data-platform/tree/0123abcd/etl"
    }
    # location
  }
  timeouts {
    create = "10m"
    update = "10m"
  }
  # more
}
"#;

const REGISTRY: &str = r#"
resource "dagsterbranch_registry" "bad" {
  name                 = "dagster/bad-input"
  image_tag_mutability = "IMMUTABLE"
  scan_on_push         = true
  tags                 = { team = "data" }
  encryption {
    type = "AES256"
  }
  lifecycle_policy {
    expire_untagged_after_days = 7
    keep_last_images           = 20
  }
  user {
    name = "bad-input-ci"
    path = "/dagster/"
  }
  # more
}
"#;

fn resource_template(kind: Kind) -> String {
    match kind {
        Kind::Provider | Kind::AgentToken => AGENT_TOKEN.to_string(),
        Kind::Agent => AGENT.to_string(),
        Kind::Deployment => DEPLOYMENT.replace("  COMMIT\n", COMMIT),
        Kind::Registry => REGISTRY.to_string(),
    }
}

fn cases() -> Vec<Case> {
    use Kind::*;
    let org_line = format!("organization = \"{ORG}\"");
    let token_line = format!("  api_token    = \"{ADMIN_TOKEN}\"\n");
    let many_tags: String = (0..51).map(|i| format!("t{i} = \"v\"")).collect::<Vec<_>>().join(", ");
    let mut table = vec![
        // The provider block (the resource is a valid agent token).
        case("provider: organization not lowercase", Provider, "organization", &org_line, "organization = \"Test_Org\""),
        case("provider: agent token as api_token (wrong token type)", Provider, "api_token", ADMIN_TOKEN, "agent:test-org:0123456789abcdef"),
        case("provider: blank api_token", Provider, "api_token", ADMIN_TOKEN, "   "),
        case("provider: ftp url", Provider, "url", "url          = \"http://", "url          = \"ftp://"),
        case("provider: url that is not a URL", Provider, "url", "url          = \"http://", "url          = \"dagster cloud "),
        case("provider: url of the GraphQL endpoint", Provider, "url", "\"\n  api_token    =", "/graphql\"\n  api_token    ="),
        case("provider: missing credentials (no api_token, no env)", Provider, "api_token", &token_line, ""),
        Case {
            name: "provider: neither organization nor url",
            kind: Provider,
            attribute: "organization",
            edits: vec![(format!("  {org_line}\n"), String::new()), ("  url          = \"http://".into(), "  # url = \"http://".into())],
        },
        case("provider: aws endpoint_url without scheme", Provider, "endpoint_url", "endpoint_url = \"http://", "endpoint_url = \"moto.local:"),
        case("provider: misspelled argument", Provider, "organisation", &org_line, "organisation = \"test-org\""),
        // dagsterbranch_agent_token
        case("agent_token: description over 255 characters", AgentToken, "description", "\"branch agent\"", &format!("\"{}\"", "d".repeat(256))),
        case("agent_token: blank deployment name", AgentToken, "deployments", "[\"prod\"]", "[\"prod\", \" \"]"),
        case("agent_token: organization is not a bool", AgentToken, "organization", "= false", "= \"maybe\""),
        case("agent_token: deployments is not a set", AgentToken, "deployments", "[\"prod\"]", "{ name = \"prod\" }"),
        case("agent_token: unknown deployment", AgentToken, "deployments", "[\"prod\"]", "[\"prod\", \"staging\"]"),
        added("agent_token: read-only token set", AgentToken, "token", "  token = \"agent:test-org:0123\""),
        added("agent_token: unsupported argument", AgentToken, "scopes", "  scopes = [\"prod\"]"),
        // dagsterbranch_agent
        case("agent: blank label", Agent, "label", "\"branch-agent\"", "\"\""),
        case("agent: label over 255 characters", Agent, "label", "\"branch-agent\"", &format!("\"{}\"", "l".repeat(256))),
        case("agent: missing label", Agent, "label", "  label                                = \"branch-agent\"\n", ""),
        added("agent: user token as token (wrong token type)", Agent, "token", "  token = \"user:test-org:1:not-an-agent-token\""),
        case("agent: negative replicas", Agent, "replicas", "= 2", "= -2"),
        case("agent: zero replicas", Agent, "replicas", "= 2", "= 0"),
        case("agent: fractional replicas", Agent, "replicas", "= 2", "= 1.5"),
        case("agent: negative server TTL", Agent, "branch_deployment_server_ttl_seconds", "= 3600", "= -3600"),
        case("agent: uppercase image repository", Agent, "agent_image", "docker.io/dagster/dagster-cloud-agent:1.9.0", "docker.io/Dagster/dagster-cloud-agent:1.9.0"),
        case("agent: image with whitespace", Agent, "agent_image", "dagster-cloud-agent:1.9.0", "dagster-cloud-agent: 1.9.0"),
        case("agent: image with malformed digest", Agent, "agent_image", "dagster-cloud-agent:1.9.0", "dagster-cloud-agent@sha256:xyz"),
        case("agent: blank queue", Agent, "queues", "[\"gpu\"]", "[\"gpu\", \"\"]"),
        case("agent: blank allowed location", Agent, "allowed_branch_deployment_locations", "[\"etl\"]", "[\" \"]"),
        case("agent: create timeout not a duration", Agent, "create", "\"5m\"", "\"five minutes\""),
        case("agent: unknown deployment", Agent, "deployments", "[\"prod\"]", "[\"staging\"]"),
        added("agent: read-only status set", Agent, "status", "  status = \"RUNNING\""),
        // dagsterbranch_deployment
        case("deployment: blank repo", Deployment, "repo", "\"acme/data-platform\"\n", "\"\"\n"),
        case("deployment: missing branch", Deployment, "branch", "  branch                  = \"feature/bad-input\"\n", ""),
        case("deployment: unknown base deployment", Deployment, "base_deployment", "= \"prod\"", "= \"staging\""),
        case("deployment: blank base deployment", Deployment, "base_deployment", "= \"prod\"", "= \" \""),
        case("deployment: snapshot condition not an enum value", Deployment, "snapshot_base_condition", "\"on_create\"", "\"always\""),
        case("deployment: on_destroy not an enum value", Deployment, "on_destroy", "\"delete\"", "\"archive\""),
        case("deployment: branch_url without scheme", Deployment, "branch_url", "\"https://github.com/acme/data-platform/tree/feature/bad-input\"", "\"github.com/acme/data-platform/tree/feature/bad-input\""),
        case("deployment: missing commit block", Deployment, "commit", COMMIT, ""),
        added("deployment: two commit blocks", Deployment, "commit", COMMIT.trim_end()),
        case("deployment: negative commit timestamp", Deployment, "timestamp", "1718000000", "-1718000000"),
        case("deployment: blank commit hash", Deployment, "hash", "hash              = \"0123abcd\"", "hash              = \"\""),
        case("deployment: javascript commit url", Deployment, "url", "\"https://github.com/acme/data-platform/commit/0123abcd\"", "\"javascript:alert(1)\""),
        case("deployment: relative avatar url", Deployment, "author_avatar_url", "\"https://avatars.example.com/u/1\"", "\"avatars/u/1.png\""),
        case("deployment: pull request number not digits", Deployment, "number", "\"17\"", "\"#17\""),
        case("deployment: pull request status not an enum value", Deployment, "status", "\"OPEN\"", "\"DRAFT\""),
        case("deployment: pull request url without host", Deployment, "url", "\"https://github.com/acme/data-platform/pull/17\"", "\"https://\""),
        case("deployment: blank location name", Deployment, "name", "\"etl\"\n", "\"\"\n"),
        added(
            "deployment: duplicate location name",
            Deployment,
            "name",
            "  code_location {\n    name        = \"etl\"\n    image       = \"ghcr.io/acme/etl:2\"\n    module_name = \"etl.other\"\n  }",
        ),
        case("deployment: missing location image", Deployment, "image", "    image             = \"ghcr.io/acme/etl:0123abcd\"\n", ""),
        case("deployment: uppercase image repository", Deployment, "image", "ghcr.io/acme/etl:0123abcd", "ghcr.io/acme/ETL:0123abcd"),
        case("deployment: image with empty tag", Deployment, "image", "ghcr.io/acme/etl:0123abcd", "ghcr.io/acme/etl:"),
        case("deployment: image with bad registry port", Deployment, "image", "ghcr.io/acme/etl:0123abcd", "ghcr.io:99999/acme/etl:0123abcd"),
        case("deployment: location without a code source", Deployment, "code_location", "    module_name       = \"etl.definitions\"\n", ""),
        case("deployment: location with two code sources", Deployment, "python_file", "    # location\n", "    python_file = \"etl/definitions.py\"\n"),
        case(
            "deployment: malformed JSON container context",
            Deployment,
            "container_context",
            "jsonencode({ k8s = { namespace = \"branch\" } })",
            r#""{\"k8s\": {\"namespace\": \"branch\"}""#,
        ),
        case("deployment: malformed YAML container context", Deployment, "container_context", "jsonencode({ k8s = { namespace = \"branch\" } })", r#""k8s:\n  namespace: [branch\n""#),
        case("deployment: container context not an object", Deployment, "container_context", "jsonencode({ k8s = { namespace = \"branch\" } })", "jsonencode([1, 2])"),
        case("deployment: git url not a URL", Deployment, "url", "\"https://github.com/acme/data-platform/tree/0123abcd/etl\"", "\"not a url\""),
        case("deployment: create timeout not a duration", Deployment, "create", "create = \"10m\"", "create = \"20 minutes\""),
        case("deployment: negative update timeout", Deployment, "update", "update = \"10m\"", "update = \"-5m\""),
        case("deployment: wait_for_load not a bool", Deployment, "wait_for_load", "= true", "= \"sometimes\""),
        // dagsterbranch_registry
        case("registry: uppercase repository name", Registry, "name", "\"dagster/bad-input\"", "\"Dagster/Bad-Input\""),
        case("registry: repository name with leading slash", Registry, "name", "\"dagster/bad-input\"", "\"/dagster/bad-input\""),
        case("registry: missing repository name", Registry, "name", "  name                 = \"dagster/bad-input\"\n", ""),
        case("registry: tag mutability not an enum value", Registry, "image_tag_mutability", "\"IMMUTABLE\"", "\"SOMETIMES\""),
        case("registry: encryption type not an enum value", Registry, "type", "\"AES256\"", "\"DES\""),
        case(
            "registry: kms_key conflicts with AES256",
            Registry,
            "kms_key",
            "    type = \"AES256\"\n",
            "    type    = \"AES256\"\n    kms_key = \"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\"\n",
        ),
        case("registry: negative keep_last_images", Registry, "keep_last_images", "= 20", "= -3"),
        case("registry: zero expire_untagged_after_days", Registry, "expire_untagged_after_days", "= 7", "= 0"),
        case("registry: reserved aws: tag key", Registry, "tags", "{ team = \"data\" }", "{ \"aws:owner\" = \"data\" }"),
        case("registry: 51 tags", Registry, "tags", "{ team = \"data\" }", &format!("{{ {many_tags} }}")),
        case("registry: IAM user name with a space", Registry, "name", "\"bad-input-ci\"", "\"ci user!\""),
        case("registry: IAM path without slashes", Registry, "path", "\"/dagster/\"", "\"dagster\""),
        case("registry: scan_on_push not a bool", Registry, "scan_on_push", "= true", "= \"yes please\""),
    ];
    // Stable order for the report; the names must be unique to attribute results.
    table.sort_by_key(|c| c.name);
    table
}

/// What one configuration did.
struct Outcome {
    name: String,
    kind: Kind,
    attribute: &'static str,
    control: bool,
    exit: i32,
    /// The error diagnostic that names the attribute on the right block, if any.
    naming: Option<TfDiagnostic>,
    errors: Vec<TfDiagnostic>,
    mutations: u64,
    seconds: f64,
}

impl Outcome {
    fn rejected(&self) -> bool {
        self.exit == 1 && self.naming.is_some()
    }

    fn problem(&self) -> Option<String> {
        let writes =
            if self.mutations > 0 { format!("; {} mutation(s) recorded", self.mutations) } else { String::new() };
        if self.control {
            return (self.exit != 2 || self.mutations > 0).then(|| {
                format!(
                    "valid configuration did not plan cleanly (exit {}){writes}: {}",
                    self.exit,
                    self.error_summaries()
                )
            });
        }
        if self.exit != 1 {
            return Some(format!("not rejected: plan exited {} (no error diagnostic){writes}", self.exit));
        }
        if self.naming.is_none() {
            return Some(format!(
                "rejected, but no error names `{}` on {}{writes}: {}",
                self.attribute,
                self.kind.type_name(),
                self.error_summaries()
            ));
        }
        (self.mutations > 0).then(|| format!("rejected{writes}"))
    }

    fn error_summaries(&self) -> String {
        if self.errors.is_empty() {
            return "no error diagnostics".into();
        }
        self.errors.iter().map(TfDiagnostic::describe).collect::<Vec<_>>().join(" | ")
    }
}

fn configuration(kind: Kind, edits: &[(String, String)], emulator_url: &str, moto_url: &str) -> String {
    let mut provider = provider_config(emulator_url, Some(moto_url));
    let mut resource = resource_template(kind);
    for (from, to) in edits {
        let target = if kind == Kind::Provider { &mut provider } else { &mut resource };
        assert_eq!(target.matches(from.as_str()).count(), 1, "edit {from:?} must match exactly once in:\n{target}");
        *target = target.replacen(from.as_str(), to, 1);
    }
    format!("{provider}{resource}")
}

/// One plan to run: a case, or an unedited configuration as a control.
struct Job {
    name: String,
    kind: Kind,
    attribute: &'static str,
    edits: Vec<(String, String)>,
    control: bool,
}

fn run(job: &Job, moto: &Moto) -> Outcome {
    let Job { name, kind, attribute, edits, control } = job;
    let (kind, attribute, control) = (*kind, *attribute, *control);
    let started = Instant::now();
    let emulator = start_emulator();
    let mut ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    moto.configure(&mut ws, "testing", "testing");
    ws.write(&configuration(kind, edits, &emulator.url(), &moto.url()));
    // -detailed-exitcode: 1 = error, 2 = a valid plan with changes (what the controls must give).
    let plan = ws.run_json(&["plan", "-detailed-exitcode"]);
    let errors: Vec<TfDiagnostic> = plan.errors().cloned().collect();
    let naming = errors.iter().find(|d| d.names_attribute(attribute) && kind.pointed_at(d)).cloned();
    Outcome {
        name: name.clone(),
        kind,
        attribute,
        control,
        exit: plan.run.code,
        naming,
        errors,
        mutations: mutation_count(&emulator),
        seconds: started.elapsed().as_secs_f64(),
    }
}

#[test]
fn invalid_configurations_fail_at_plan_without_writes() {
    let started = Instant::now();
    let moto = Moto::start();
    let table = cases();
    let mut names: Vec<&str> = table.iter().map(|c| c.name).collect();
    names.dedup();
    assert_eq!(names.len(), table.len(), "case names must be unique");

    // The unedited configurations, which must plan: proof that each case fails because of its edit.
    let controls = [Kind::AgentToken, Kind::Agent, Kind::Deployment, Kind::Registry];
    let jobs: Vec<Job> = controls
        .iter()
        .map(|kind| Job {
            name: format!("control: valid {}", kind.type_name()),
            kind: *kind,
            attribute: "",
            edits: Vec::new(),
            control: true,
        })
        .chain(table.iter().map(|c| Job {
            name: c.name.to_string(),
            kind: c.kind,
            attribute: c.attribute,
            edits: c.edits.clone(),
            control: false,
        }))
        .collect();

    // A plan is mostly process start-up and waiting on the provider, so a few more workers than cores pays.
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(job) = jobs.get(i) else { break };
                let outcome = run(job, &moto);
                outcomes.lock().unwrap().push(outcome);
            });
        }
    });
    let mut outcomes = outcomes.into_inner().unwrap();
    outcomes.sort_by(|a, b| (!a.control, &a.name).cmp(&(!b.control, &b.name)));

    for outcome in &outcomes {
        let verdict = match outcome.problem() {
            None => "ok  ",
            Some(_) => "FAIL",
        };
        let shown = match (&outcome.naming, outcome.control) {
            (_, true) => format!("plan exit {}", outcome.exit),
            (Some(d), false) => format!("{} | {}", d.summary, d.source_line.as_deref().unwrap_or("")),
            (None, false) => outcome.problem().unwrap_or_default(),
        };
        println!("{verdict} {:<62} {:>5.2}s  {shown}", outcome.name, outcome.seconds);
    }

    let cases: Vec<&Outcome> = outcomes.iter().filter(|o| !o.control).collect();
    let rejected = cases.iter().filter(|o| o.rejected()).count();
    let moto_objects = moto.created_objects();
    let writes: u64 =
        outcomes.iter().map(|o| o.mutations).sum::<u64>() + moto_objects.values().map(|n| *n as u64).sum::<u64>();
    println!(
        "bad inputs tried: {}, rejected at plan: {rejected}, writes recorded: {writes} (AWS API requests seen by moto: {}; {:.1}s)",
        cases.len(),
        moto.api_requests(),
        started.elapsed().as_secs_f64()
    );

    let failures: Vec<String> =
        outcomes.iter().filter_map(|o| o.problem().map(|p| format!("  {}: {p}", o.name))).collect();
    assert!(moto_objects.is_empty(), "moto holds objects that only a write creates: {moto_objects:?}");
    assert!(cases.len() >= 40, "the table must hold at least 40 cases");
    assert!(failures.is_empty(), "{} configuration(s) misbehaved:\n{}", failures.len(), failures.join("\n"));
}
