//! `dagsterbranch_deployment`: one Dagster+ branch deployment per git branch, with its code locations.
//!
//! Dagster+ keys branch deployments by (repository, branch) and generates their names; the resource keeps
//! that name in state and uses it for everything after creation. Code locations are deployed with
//! `addOrUpdateLocationFromDocument` and, unless `wait_for_load = false`, awaited until they load.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cty::{Path, Type, Value};
use serde::{Deserialize, Serialize};
use tfplugin::{
    Attribute, Block, Context, Diagnostic, Diagnostics, IdentityAttribute, IdentitySchema, NestedBlock, Nesting,
    Resource, Schema, Validator,
};
use tracing::{info, warn};

use crate::dagster::deployments::{BranchData, Commit, Deployment};
use crate::dagster::locations::{DeployedLocation, LoadStatus, Workspace};
use crate::dagster::Client;
use crate::provider::{configured, Configured, SharedConfig};
use crate::resources::{decode_change, decode_pair};

pub const TYPE_NAME: &str = "dagsterbranch_deployment";
const PULL_REQUEST_STATUSES: &[&str] = &["OPEN", "CLOSED", "MERGED"];
const CODE_SOURCES: [&str; 4] = ["module_name", "package_name", "python_file", "autoload_defs_module_name"];
const DEFAULT_LOAD_TIMEOUT: Duration = Duration::from_secs(20 * 60);
const DEFAULT_DELETE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// `load_status` of a location whose last load failed, and of one that loaded.
const LOAD_ERROR: &str = "ERROR";
const LOAD_LOADED: &str = "LOADED";

pub struct DeploymentResource {
    schema: Schema,
    identity: IdentitySchema,
    config: SharedConfig,
}

impl DeploymentResource {
    pub fn new(config: SharedConfig) -> Self {
        DeploymentResource { schema: schema(), identity: identity_schema(), config }
    }
}

fn string(name: &str, description: &str) -> Attribute {
    Attribute::optional(name, Type::String, description)
}

fn schema() -> Schema {
    Schema::new("A Dagster+ branch deployment for one git branch, with its code locations. Dagster+ generates the deployment's name; `repo` and `branch` identify it.\n\nA branch that already has a branch deployment (made by `dagster-cloud` in CI, say) is not taken over: apply refuses before writing and names the deployment; import it by `repo:branch`. A code location whose load failed is deployed again by every apply, which fails while the load fails, until it loads. Destroy returns once Dagster+ has finished deleting the deployment (`timeouts.delete`).")
        .attribute(Attribute::computed("id", Type::String, "The deployment's name (same as `name`).").use_state_for_unknown())
        .attribute(Attribute::computed("name", Type::String, "The name Dagster+ generated for the branch deployment; stable across updates.").use_state_for_unknown())
        .attribute(Attribute::computed("deployment_id", Type::Number, "The deployment's numeric id.").use_state_for_unknown())
        .attribute(Attribute::computed("status", Type::String, "`ACTIVE`, or `PENDING_DELETION` while being deleted.").use_state_for_unknown())
        .attribute(Attribute::computed("url", Type::String, "The deployment's address in Dagster+.").use_state_for_unknown())
        .attribute(Attribute::required("repo", Type::String, "The git repository, e.g. `acme/data-platform`. Changing it creates another deployment.").requires_replace().validator(Validator::not_blank()))
        .attribute(Attribute::required("branch", Type::String, "The git branch. Changing it creates another deployment.").requires_replace().validator(Validator::not_blank()))
        .attribute(string("base_deployment", "The full deployment this branch deployment is based on.").default(Value::String("prod".into())).validator(Validator::not_blank()))
        .attribute(string("snapshot_base_condition", "When to snapshot the base deployment's asset state: `on_create` or `on_update`. Dagster+ takes it as an input only and never returns it, so it is not read back: after an import, a configured value shows as one in-place change.").validator(Validator::one_of(&["on_create", "on_update"])))
        .attribute(string("branch_url", "Link to the branch in the git host.").validator(crate::provider::url_validator()))
        .attribute(string("on_destroy", "`delete` deletes the branch deployment on destroy; `close` marks its pull request CLOSED and leaves it in Dagster+.").default(Value::String("delete".into())).validator(Validator::one_of(&["delete", "close"])))
        .attribute(Attribute::optional("wait_for_load", Type::Bool, "Wait until every code location has loaded (bounded by `timeouts`).").default(Value::Bool(true)))
        .block(
            NestedBlock::new(
                "commit",
                Nesting::Single,
                Block::new("The commit the deployment runs.")
                    .attribute(Attribute::required("hash", Type::String, "Commit hash.").validator(Validator::not_blank()))
                    .attribute(Attribute::required("timestamp", Type::Number, "Commit time in seconds since the Unix epoch (e.g. `git log -1 --format=%ct`).").validator(non_negative()))
                    .attribute(string("message", "Commit message."))
                    .attribute(string("url", "Link to the commit.").validator(crate::provider::url_validator()))
                    .attribute(string("author_name", "Commit author's name."))
                    .attribute(string("author_email", "Commit author's e-mail."))
                    .attribute(string("author_avatar_url", "Commit author's avatar image.").validator(crate::provider::url_validator())),
            )
            .items(1, 1),
        )
        .block(NestedBlock::new(
            "pull_request",
            Nesting::Single,
            Block::new("The pull (merge) request of the branch.")
                .attribute(string("number", "Pull request number.").validator(digits()))
                .attribute(string("url", "Link to the pull request.").validator(crate::provider::url_validator()))
                .attribute(string("status", "`OPEN`, `CLOSED` or `MERGED`.").default(Value::String("OPEN".into())).validator(Validator::one_of(PULL_REQUEST_STATUSES))),
        ))
        .block(NestedBlock::new(
            "code_location",
            Nesting::List,
            Block::new("A code location deployed in the branch deployment.")
                .attribute(Attribute::required("name", Type::String, "Location name, unique within the deployment.").validator(Validator::not_blank()))
                .attribute(Attribute::required("image", Type::String, "Container image, e.g. the registry's `repository_url` with a tag.").validator(Validator::string("an image reference", crate::image::check_reference)))
                .attribute(string("module_name", "Python module with the definitions (one code source is required)."))
                .attribute(string("package_name", "Python package with the definitions."))
                .attribute(string("python_file", "Python file with the definitions."))
                .attribute(string("autoload_defs_module_name", "Module whose definitions are loaded automatically."))
                .attribute(string("working_directory", "Working directory of the code server."))
                .attribute(string("executable_path", "Python executable of the code server."))
                .attribute(string("attribute", "Attribute holding the definitions."))
                .attribute(string("agent_queue", "Agent queue that serves this location."))
                .attribute(
                    string("container_context", "Container context as JSON or YAML (e.g. `yamlencode({k8s = {namespace = \"bd\"}})`); compared by meaning, so formatting never causes a diff.")
                        .validator(Validator::string("a JSON or YAML object", |s| parse_container_context(s).map(|_| ())))
                        .semantic_equality(|a, b| matches!((a.as_str(), b.as_str()), (Some(a), Some(b)) if same_container_context(a, b))),
                )
                .attribute(Attribute::computed("load_status", Type::String, "`LOADING`, `LOADED` or `ERROR` as last seen."))
                .block(NestedBlock::new(
                    "git",
                    Nesting::Single,
                    Block::new("Git metadata shown with the location.")
                        .attribute(string("commit_hash", "Commit of the location's code."))
                        .attribute(string("url", "Link to the code.").validator(crate::provider::url_validator())),
                )),
        ))
        .block(NestedBlock::new(
            "timeouts",
            Nesting::Single,
            Block::new("How long to wait for code locations to load, and for a deleted deployment to be gone.")
                .attribute(string("create", "For example `30m` (default 20m).").validator(duration_validator()))
                .attribute(string("update", "For example `30m` (default 20m).").validator(duration_validator()))
                .attribute(string("delete", "How long destroy waits for Dagster+ to finish deleting the deployment, for example `5m` (default 10m).").validator(duration_validator())),
        ))
}

fn identity_schema() -> IdentitySchema {
    IdentitySchema::new(vec![
        IdentityAttribute::required("repo", Type::String, "The git repository."),
        IdentityAttribute::required("branch", Type::String, "The git branch."),
    ])
}

fn non_negative() -> Validator {
    Validator::new("zero or more", |value| match value.as_number() {
        Some(n) if n.is_negative() => Err(format!("{n} is negative; expected seconds since the Unix epoch.")),
        _ => Ok(()),
    })
}

fn digits() -> Validator {
    Validator::string("digits", |s| {
        if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
            Ok(())
        } else {
            Err(format!("`{s}` is not a pull request number."))
        }
    })
}

fn duration_validator() -> Validator {
    Validator::string("a duration like `90s`, `30m` or `1h`", |s| parse_duration(s).map(|_| ()))
}

/// `90s`, `30m`, `1h30m`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("`{text}` is not a duration; use forms like `90s`, `30m` or `1h30m`.");
    let mut total = 0u64;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(invalid()),
        };
        let amount: u64 = digits.parse().map_err(|_| invalid())?;
        total = amount.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(invalid)?;
        digits.clear();
    }
    if !digits.is_empty() || text.is_empty() {
        return Err(invalid());
    }
    Ok(Duration::from_secs(total))
}

/// Adds the fields that are set, leaving unset ones out of the document.
fn insert_present(map: &mut serde_json::Map<String, serde_json::Value>, fields: &[(&str, &Option<String>)]) {
    for (key, value) in fields {
        if let Some(v) = value {
            map.insert((*key).into(), v.clone().into());
        }
    }
}

/// Parses a container context written as JSON or YAML into its meaning (a JSON object).
fn parse_container_context(text: &str) -> Result<serde_json::Value, String> {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => serde_norway::from_str(text).map_err(|e| format!("not valid JSON or YAML: {e}"))?,
    };
    if value.is_object() {
        Ok(value)
    } else {
        Err("the container context must be an object, e.g. `{\"k8s\": {\"namespace\": \"branch\"}}`.".into())
    }
}

/// Whether two container-context texts mean the same thing.
fn same_container_context(a: &str, b: &str) -> bool {
    matches!((parse_container_context(a), parse_container_context(b)), (Ok(x), Ok(y)) if x == y)
}

// ----- state ------------------------------------------------------------------------------------------------

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct DeploymentState {
    id: Option<String>,
    name: Option<String>,
    deployment_id: Option<i64>,
    status: Option<String>,
    url: Option<String>,
    repo: Option<String>,
    branch: Option<String>,
    base_deployment: Option<String>,
    snapshot_base_condition: Option<String>,
    branch_url: Option<String>,
    on_destroy: Option<String>,
    wait_for_load: Option<bool>,
    commit: Option<CommitBlock>,
    pull_request: Option<PullRequestBlock>,
    code_location: Option<Vec<LocationBlock>>,
    timeouts: Option<Timeouts>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
struct CommitBlock {
    hash: Option<String>,
    timestamp: Option<serde_json::Number>,
    message: Option<String>,
    url: Option<String>,
    author_name: Option<String>,
    author_email: Option<String>,
    author_avatar_url: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
struct PullRequestBlock {
    number: Option<String>,
    url: Option<String>,
    status: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
struct LocationBlock {
    name: Option<String>,
    image: Option<String>,
    module_name: Option<String>,
    package_name: Option<String>,
    python_file: Option<String>,
    autoload_defs_module_name: Option<String>,
    working_directory: Option<String>,
    executable_path: Option<String>,
    attribute: Option<String>,
    agent_queue: Option<String>,
    container_context: Option<String>,
    load_status: Option<String>,
    git: Option<GitBlock>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
struct GitBlock {
    commit_hash: Option<String>,
    url: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct Timeouts {
    create: Option<String>,
    update: Option<String>,
    delete: Option<String>,
}

impl LocationBlock {
    fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    /// The snake_case document `addOrUpdateLocationFromDocument` takes.
    fn document(&self) -> serde_json::Value {
        let mut code_source = serde_json::Map::new();
        insert_present(
            &mut code_source,
            &[
                ("module_name", &self.module_name),
                ("package_name", &self.package_name),
                ("python_file", &self.python_file),
                ("autoload_defs_module_name", &self.autoload_defs_module_name),
            ],
        );
        let mut document = serde_json::Map::new();
        document.insert("location_name".into(), self.name().into());
        insert_present(&mut document, &[("image", &self.image)]);
        document.insert("code_source".into(), code_source.into());
        insert_present(
            &mut document,
            &[
                ("working_directory", &self.working_directory),
                ("executable_path", &self.executable_path),
                ("attribute", &self.attribute),
                ("agent_queue", &self.agent_queue),
            ],
        );
        if let Some(context) = self.container_context.as_deref().and_then(|c| parse_container_context(c).ok()) {
            document.insert("container_context".into(), context);
        }
        let mut git = serde_json::Map::new();
        if let Some(g) = &self.git {
            if let Some(hash) = &g.commit_hash {
                git.insert("commit_hash".into(), hash.clone().into());
            }
            if let Some(url) = &g.url {
                git.insert("url".into(), url.clone().into());
            }
        }
        document.insert("git".into(), git.into());
        serde_json::Value::Object(document)
    }

    /// Whether the deployed location matches this configuration (ignoring the load status).
    fn matches(&self, deployed: &LocationBlock) -> bool {
        let contexts_match = match (&self.container_context, &deployed.container_context) {
            (Some(a), Some(b)) => same_container_context(a, b),
            (a, b) => a == b,
        };
        let comparable = |l: &LocationBlock| LocationBlock { container_context: None, load_status: None, ..l.clone() };
        contexts_match && comparable(self) == comparable(deployed)
    }

    /// The configuration as Dagster+ reports it, keeping the configured text of an equivalent container
    /// context so that formatting never shows as a change.
    fn from_deployed(
        deployed: &DeployedLocation,
        configured: Option<&LocationBlock>,
        status: Option<&LoadStatus>,
    ) -> LocationBlock {
        let container_context =
            deployed.container_context.as_ref().filter(|c| c.as_object().is_some_and(|o| !o.is_empty())).map(
                |server| {
                    configured
                        .and_then(|c| c.container_context.clone())
                        .filter(|text| parse_container_context(text).ok().as_ref() == Some(server))
                        .unwrap_or_else(|| server.to_string())
                },
            );
        let git = deployed
            .git_metadata
            .as_ref()
            .filter(|g| g.commit_hash.is_some() || g.url.is_some())
            .map(|g| GitBlock { commit_hash: g.commit_hash.clone(), url: g.url.clone() });
        LocationBlock {
            name: Some(deployed.name.clone()),
            image: deployed.image.clone(),
            module_name: deployed.module_name.clone(),
            package_name: deployed.package_name.clone(),
            python_file: deployed.python_file.clone(),
            autoload_defs_module_name: deployed.autoload_defs_module_name.clone(),
            working_directory: deployed.working_directory.clone(),
            executable_path: deployed.executable_path.clone(),
            attribute: deployed.attribute.clone(),
            agent_queue: deployed.agent_queue.clone(),
            container_context,
            load_status: status.map(|s| s.as_str().to_string()),
            git,
        }
    }
}

impl DeploymentState {
    fn locations(&self) -> &[LocationBlock] {
        self.code_location.as_deref().unwrap_or_default()
    }

    fn branch_data(&self, status_override: Option<&str>) -> BranchData {
        let pull_request = self.pull_request.clone().unwrap_or_default();
        BranchData {
            repo_name: self.repo.clone().unwrap_or_default(),
            branch_name: self.branch.clone().unwrap_or_default(),
            branch_url: self.branch_url.clone(),
            pull_request_url: pull_request.url,
            pull_request_status: status_override.map(str::to_string).or(pull_request.status),
            pull_request_number: pull_request.number,
        }
    }

    fn commit_input(&self) -> Commit {
        let commit = self.commit.clone().unwrap_or_default();
        Commit {
            commit_hash: commit.hash.unwrap_or_default(),
            timestamp: commit.timestamp.unwrap_or_else(|| serde_json::Number::from(0)),
            commit_message: commit.message,
            commit_url: commit.url,
            author_name: commit.author_name,
            author_email: commit.author_email,
            author_avatar_url: commit.author_avatar_url,
        }
    }

    fn snapshot_condition(&self) -> Option<&'static str> {
        match self.snapshot_base_condition.as_deref() {
            Some("on_create") => Some("ON_CREATE"),
            Some("on_update") => Some("ON_UPDATE"),
            _ => None,
        }
    }

    fn load_timeout(&self, creating: bool) -> Duration {
        let configured =
            self.timeouts.as_ref().and_then(|t| if creating { t.create.clone() } else { t.update.clone() });
        configured.and_then(|t| parse_duration(&t).ok()).unwrap_or(DEFAULT_LOAD_TIMEOUT)
    }

    fn delete_timeout(&self) -> Duration {
        let configured = self.timeouts.as_ref().and_then(|t| t.delete.clone());
        configured.and_then(|t| parse_duration(&t).ok()).unwrap_or(DEFAULT_DELETE_TIMEOUT)
    }

    /// Takes the deployment's own fields from Dagster+.
    fn refresh_deployment(&mut self, deployment: &Deployment, base_url: &str) {
        let name = deployment.deployment_name.clone();
        self.url = Some(format!("{base_url}/{name}"));
        self.id = Some(name.clone());
        self.name = Some(name);
        self.deployment_id = Some(deployment.deployment_id);
        self.status = Some(deployment.deployment_status.clone());
        if let Some(parent) = &deployment.parent_deployment {
            self.base_deployment = Some(parent.deployment_name.clone());
        }
        self.on_destroy.get_or_insert_with(|| "delete".into());
        self.wait_for_load.get_or_insert(true);
        if let Some(git) = &deployment.branch_deployment_git_metadata {
            self.repo = Some(git.repo_name.clone());
            self.branch = Some(git.branch_name.clone());
            self.branch_url = git.branch_url.clone();
            let pull_request = PullRequestBlock {
                number: git.pull_request_number.clone(),
                url: git.pull_request_url.clone(),
                status: git.pull_request_status.clone(),
            };
            // Without a configured pull request, an open status with nothing else is Dagster+'s default.
            let nothing_configured = self.pull_request.is_none()
                && pull_request.number.is_none()
                && pull_request.url.is_none()
                && matches!(pull_request.status.as_deref(), None | Some("OPEN"));
            self.pull_request = if nothing_configured { None } else { Some(pull_request) };
        }
        if let Some(latest) = &deployment.latest_commit {
            let prior_timestamp = self.commit.as_ref().and_then(|c| c.timestamp.clone());
            // Keep the configured spelling of an equal number (1718000000 vs 1718000000.0).
            let timestamp = match prior_timestamp {
                Some(prior) if numbers_equal(&prior, &latest.timestamp) => prior,
                _ => latest.timestamp.clone(),
            };
            self.commit = Some(CommitBlock {
                hash: Some(latest.commit_hash.clone()),
                timestamp: Some(timestamp),
                message: latest.commit_message.clone(),
                url: latest.commit_url.clone(),
                author_name: latest.author_name.clone(),
                author_email: latest.author_email.clone(),
                author_avatar_url: latest.author_avatar_url.clone(),
            });
        }
    }

    /// Takes the code locations from Dagster+, in the configured order, with unknown ones appended so that
    /// locations added outside Terraform show up as changes.
    fn refresh_locations(&mut self, workspace: &Workspace) {
        let prior = self.locations().to_vec();
        let mut refreshed = Vec::new();
        for configured in &prior {
            if let Some(deployed) = workspace.locations.iter().find(|d| d.name == configured.name()) {
                refreshed.push(LocationBlock::from_deployed(
                    deployed,
                    Some(configured),
                    workspace.status(&deployed.name),
                ));
            }
        }
        for deployed in &workspace.locations {
            if !prior.iter().any(|p| p.name() == deployed.name) {
                refreshed.push(LocationBlock::from_deployed(deployed, None, workspace.status(&deployed.name)));
            }
        }
        self.code_location = Some(refreshed);
    }
}

/// A location whose last load failed is planned for deployment again (its `load_status` becomes unknown), so
/// the next apply retries the load and fails again while it still fails, instead of reporting no changes.
fn plan_redeploy_of_failed_locations(plan: &mut tfplugin::Plan<'_>) {
    let Some(Value::List(prior)) = plan.prior.get("code_location") else { return };
    let failed: BTreeSet<&str> = prior
        .iter()
        .filter(|l| l.get("load_status").and_then(Value::as_str) == Some(LOAD_ERROR))
        .filter_map(|l| l.get("name").and_then(Value::as_str))
        .collect();
    if failed.is_empty() {
        return;
    }
    let Value::Object(attributes) = &mut plan.planned else { return };
    let Some(Value::List(planned)) = attributes.get_mut("code_location") else { return };
    for location in planned {
        let retry = location.get("name").and_then(Value::as_str).is_some_and(|name| failed.contains(name));
        if let (true, Value::Object(fields)) = (retry, location) {
            fields.insert("load_status".to_string(), Value::unknown());
        }
    }
}

/// In an update, a location that stays as it is and had loaded keeps `LOADED` in the plan rather than
/// showing `(known after apply)`: apply does not deploy it again (see `converge`).
fn plan_load_status_of_unchanged_locations(plan: &mut tfplugin::Plan<'_>) {
    let Some(Value::List(prior)) = plan.prior.get("code_location") else { return };
    let loaded: Vec<&Value> =
        prior.iter().filter(|l| l.get("load_status").and_then(Value::as_str) == Some(LOAD_LOADED)).collect();
    let Value::Object(attributes) = &mut plan.planned else { return };
    let Some(Value::List(planned)) = attributes.get_mut("code_location") else { return };
    for location in planned {
        let same = loaded.iter().any(|p| without_load_status(p) == without_load_status(location));
        if let (true, Value::Object(fields)) = (same, location) {
            fields.insert("load_status".to_string(), Value::String(LOAD_LOADED.to_string()));
        }
    }
}

fn without_load_status(location: &Value) -> Vec<(&String, &Value)> {
    match location {
        Value::Object(fields) => fields.iter().filter(|(k, _)| k.as_str() != "load_status").collect(),
        _ => Vec::new(),
    }
}

/// Polls until the deployment is gone; a warning (the deletion goes on in Dagster+) when the timeout passes
/// or Terraform interrupts first.
async fn wait_until_deleted(ctx: &Context, client: &Client, name: &str, timeout: Duration, diags: &mut Diagnostics) {
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_millis(100);
    loop {
        match client.deployment_by_name(name).await {
            Ok(None) => return,
            Ok(Some(_)) => {}
            Err(e) => {
                diags.push(api_error("Could not check that the branch deployment is gone", e));
                return;
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || ctx.sleep(delay.min(left)).await.is_err() {
            diags.push(Diagnostic::warning(
                "Branch deployment still being deleted",
                format!("Dagster+ accepted the deletion of `{name}` and is still carrying it out (PENDING_DELETION) after {}s; it goes on without Terraform.", timeout.as_secs()),
            ));
            return;
        }
        delay = (delay * 2).min(Duration::from_secs(3));
    }
}

fn numbers_equal(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.to_string().parse::<cty::Number>(), b.to_string().parse::<cty::Number>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn api_error(summary: &str, error: crate::dagster::Error) -> Diagnostic {
    Diagnostic::error(summary, error.to_string())
}

fn location_path(index: usize) -> Path {
    Path::root().attr("code_location").index(index as i64)
}

// ----- operations -------------------------------------------------------------------------------------------

impl DeploymentResource {
    fn encode(&self, state: &DeploymentState, diags: &mut Diagnostics) -> Option<Value> {
        let mut state = state.clone();
        state.code_location.get_or_insert_with(Vec::new);
        match tfplugin::encode(&state, &self.schema.value_type()) {
            Ok(value) => Some(value),
            Err(d) => {
                diags.push(d);
                None
            }
        }
    }

    /// Reads the deployment and its locations; `None` when it is gone or being deleted. `batched` lets the
    /// read come from a snapshot shared with other reads (refresh), which is precise only for locations that
    /// have loaded; a location last seen loading or failing is always read directly.
    async fn fetch(
        &self,
        config: &Configured,
        state: &DeploymentState,
        batched: bool,
    ) -> Result<Option<DeploymentState>, Diagnostic> {
        let client = &config.dagster;
        let name = state.name.clone().unwrap_or_default();
        let settled = state.locations().iter().all(|l| l.load_status.as_deref() == Some(LOAD_LOADED));
        let Some(read) = client
            .read_deployment(&name, batched && settled)
            .await
            .map_err(|e| api_error("Could not read the branch deployment", e))?
        else {
            return Ok(None);
        };
        let (deployment, workspace) = read.as_ref();
        if deployment.is_pending_deletion() {
            return Ok(None);
        }
        if !deployment.is_branch() {
            return Err(Diagnostic::error(
                "Not a branch deployment",
                format!(
                    "`{name}` is a {} deployment; this resource manages branch deployments only.",
                    deployment.deployment_type
                ),
            ));
        }
        let mut refreshed = state.clone();
        refreshed.refresh_deployment(deployment, client.base_url());
        refreshed.refresh_locations(workspace);
        Ok(Some(refreshed))
    }

    /// Brings the deployment and its locations to `planned`, then waits for the locations to load.
    /// Returns the state that exists afterwards, also when a step failed.
    async fn converge(
        &self,
        ctx: &Context,
        config: &Configured,
        prior: Option<&DeploymentState>,
        planned: &DeploymentState,
        diags: &mut Diagnostics,
    ) -> Option<DeploymentState> {
        let client = &config.dagster;
        if prior.is_none() {
            // The upsert below would take over a deployment made outside this configuration (by CI's
            // `dagster-cloud`, say) and return values the plan did not show; refuse instead, before writing.
            if let Err(d) = self.refuse_existing(client, planned).await {
                diags.push(d);
                return None;
            }
        }
        let deployment = match client
            .create_or_update_branch_deployment(
                &planned.branch_data(None),
                &planned.commit_input(),
                planned.base_deployment.as_deref(),
                planned.snapshot_condition(),
            )
            .await
        {
            Ok(deployment) => deployment,
            Err(e) => {
                let diagnostic = api_error("Could not create or update the branch deployment", e);
                let on_base = matches!(&diagnostic.detail, d if d.contains("not found") || d.contains("No deployment"));
                diags.push(if on_base { diagnostic.at(Path::root().attr("base_deployment")) } else { diagnostic });
                return prior.cloned();
            }
        };
        let name = deployment.deployment_name.clone();
        info!(deployment = %name, "branch deployment created or updated");
        let mut state = planned.clone();
        state.refresh_deployment(&deployment, client.base_url());
        // From here on the deployment exists: every path returns it.

        let prior_locations = prior.map(DeploymentState::locations).unwrap_or_default();
        let mut deployed_ok = true;
        let mut untouched = BTreeSet::new();
        for (index, location) in planned.locations().iter().enumerate() {
            // A location whose last load failed is deployed again even when unchanged: that retries the load.
            let unchanged = prior_locations.iter().any(|p| {
                p.name() == location.name() && location.matches(p) && p.load_status.as_deref() != Some(LOAD_ERROR)
            });
            if unchanged {
                untouched.insert(location.name().to_string());
                continue;
            }
            if let Err(e) = client.add_or_update_location(&name, &location.document()).await {
                diags.push(
                    Diagnostic::error(format!("Could not deploy code location `{}`", location.name()), e.to_string())
                        .at(location_path(index)),
                );
                deployed_ok = false;
            }
        }
        let wanted: BTreeSet<&str> = planned.locations().iter().map(LocationBlock::name).collect();
        for removed in prior_locations.iter().filter(|p| !wanted.contains(p.name())) {
            if let Err(e) = client.delete_location(&name, removed.name()).await {
                diags.push(api_error(&format!("Could not delete code location `{}`", removed.name()), e));
            }
        }

        if deployed_ok && planned.wait_for_load.unwrap_or(true) && !planned.locations().is_empty() {
            let timeout = planned.load_timeout(prior.is_none());
            let had_errors = diags.has_errors();
            self.wait_for_load(ctx, client, &name, planned.locations(), timeout, diags).await;
            if prior.is_none() && !had_errors && diags.has_errors() {
                // Terraform taints an object whose create reported an error, and replaces it on the next
                // apply; a provider cannot prevent that. Say how to keep the deployment instead.
                diags.push(Diagnostic::warning(
                    "The branch deployment exists; only its code locations failed",
                    format!("`{name}` was created and is recorded in state, but Terraform marks it tainted because the create reported an error, so the next apply would delete and recreate the whole deployment. To keep it and only deploy the code locations again, fix the cause and run `terraform untaint ADDRESS` before the next apply."),
                ));
            }
        }
        match self.fetch(config, &state, false).await {
            Ok(Some(mut refreshed)) => {
                // Apply reports what it did: a location it did not touch keeps the status the plan showed
                // (the next refresh reads it again).
                for location in refreshed.code_location.iter_mut().flatten() {
                    if untouched.contains(location.name()) {
                        let before = prior_locations.iter().find(|p| p.name() == location.name());
                        location.load_status = before.and_then(|p| p.load_status.clone());
                    }
                }
                Some(refreshed)
            }
            Ok(None) => {
                diags.error(
                    "Branch deployment disappeared",
                    format!("`{name}` was deleted while it was being deployed."),
                );
                None
            }
            Err(d) => {
                diags.push(d);
                Some(state)
            }
        }
    }

    /// Polls until every location has loaded or failed, the timeout passes, or Terraform interrupts.
    async fn wait_for_load(
        &self,
        ctx: &Context,
        client: &Client,
        deployment: &str,
        locations: &[LocationBlock],
        timeout: Duration,
        diags: &mut Diagnostics,
    ) {
        let deadline = Instant::now() + timeout;
        let mut delay = Duration::from_millis(200);
        loop {
            let workspace = match client.workspace(deployment).await {
                Ok(w) => w,
                Err(e) => {
                    diags.push(api_error("Could not read the code locations' load status", e));
                    return;
                }
            };
            let mut pending = Vec::new();
            for (index, location) in locations.iter().enumerate() {
                match workspace.status(location.name()) {
                    Some(LoadStatus::Loaded) => {}
                    Some(LoadStatus::Failed(error)) => {
                        diags.push(
                            Diagnostic::error(
                                format!("Code location `{}` failed to load", location.name()),
                                format!(
                                    "Dagster+ reported this error while loading `{}` in `{deployment}`:\n\n{error}",
                                    location.name()
                                ),
                            )
                            .at(location_path(index)),
                        );
                    }
                    _ => pending.push(location.name().to_string()),
                }
            }
            if pending.is_empty() {
                return;
            }
            if Instant::now() >= deadline {
                diags.error(
                    "Code locations did not load in time",
                    format!(
                        "After {}s these locations of `{deployment}` were still loading: {}. Is a branch-deployment agent running? Raise `timeouts` or set `wait_for_load = false`.",
                        timeout.as_secs(),
                        pending.join(", ")
                    ),
                );
                return;
            }
            let sleep = delay.min(deadline.saturating_duration_since(Instant::now()));
            if ctx.sleep(sleep).await.is_err() {
                warn!(deployment, "interrupted while waiting for code locations");
                diags.error(
                    "Interrupted while waiting for code locations",
                    format!(
                        "The deployment `{deployment}` and its locations exist; these were still loading: {}.",
                        pending.join(", ")
                    ),
                );
                return;
            }
            delay = (delay * 2).min(Duration::from_secs(3));
        }
    }

    /// Fails when (repo, branch) already has a live branch deployment that this resource would adopt.
    async fn refuse_existing(&self, client: &Client, planned: &DeploymentState) -> Result<(), Diagnostic> {
        let (repo, branch) =
            (planned.repo.as_deref().unwrap_or_default(), planned.branch.as_deref().unwrap_or_default());
        let existing = client
            .live_branch_deployment(repo, branch)
            .await
            .map_err(|e| api_error("Could not check whether the branch deployment exists", e))?;
        match existing {
            None => Ok(()),
            Some(deployment) => Err(Diagnostic::error(
                "Branch deployment already exists",
                format!(
                    "Branch `{branch}` of `{repo}` already has a branch deployment in Dagster+, `{name}`, made outside this configuration (for example by `dagster-cloud` in CI). Nothing was changed. Import it instead of creating it: `terraform import ADDRESS {repo}:{branch}` (or by name, `{name}`), or an `import` block with `id = \"{repo}:{branch}\"` (Terraform 1.5+).",
                    name = deployment.deployment_name
                ),
            )
            .at(Path::root().attr("branch"))),
        }
    }

    /// Resolves an import id (`name` or `repo:branch`) to a deployment name.
    async fn resolve_name(&self, client: &Client, id: &str) -> Result<String, Diagnostic> {
        match id.split_once(':') {
            Some((repo, branch)) => self.name_of(client, repo, branch).await,
            None => Ok(id.to_string()),
        }
    }

    async fn name_of(&self, client: &Client, repo: &str, branch: &str) -> Result<String, Diagnostic> {
        client
            .branch_deployment_name(repo, branch)
            .await
            .map_err(|e| api_error("Could not look up the branch deployment", e))?
            .ok_or_else(|| {
                Diagnostic::error(
                    "No such branch deployment",
                    format!("Dagster+ has no branch deployment for repository `{repo}`, branch `{branch}`."),
                )
            })
    }

    fn import_state(&self, name: String, diags: &mut Diagnostics) -> Option<Value> {
        let state = DeploymentState { id: Some(name.clone()), name: Some(name), ..DeploymentState::default() };
        self.encode(&state, diags)
    }
}

/// The full state of an existing branch deployment, as `terraform query -generate-config-out` needs it.
pub async fn state_of(
    resource: &DeploymentResource,
    config: &Configured,
    name: &str,
) -> Result<Option<Value>, Diagnostic> {
    let seed = DeploymentState { name: Some(name.to_string()), ..DeploymentState::default() };
    let mut diags = Diagnostics::new();
    match resource.fetch(config, &seed, false).await? {
        Some(state) => Ok(resource.encode(&state, &mut diags)),
        None => Ok(None),
    }
}

#[async_trait]
impl Resource for DeploymentResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let Some(Value::List(locations)) = config.get("code_location") else { return };
        let mut seen = BTreeSet::new();
        for (index, location) in locations.iter().enumerate() {
            let path = location_path(index);
            if let Some(name) = location.get("name").and_then(Value::as_str) {
                if !seen.insert(name.to_string()) {
                    diags.attribute_error(
                        path.attr("name"),
                        "Duplicate code location name",
                        format!("`{name}` is used by more than one `code_location` block; names must be unique."),
                    );
                }
            }
            let sources: Vec<&Value> = CODE_SOURCES.iter().filter_map(|s| location.get(s)).collect();
            if sources.iter().any(|v| !v.is_known()) {
                continue;
            }
            let set: Vec<&str> =
                CODE_SOURCES.iter().copied().filter(|s| location.get(s).is_some_and(|v| !v.is_null())).collect();
            match set.len() {
                1 => {}
                0 => diags.attribute_error(
                    path,
                    "Code location has no code source",
                    format!("Set exactly one of {}.", CODE_SOURCES.join(", ")),
                ),
                _ => diags.attribute_error(
                    path.attr(set[1]),
                    "Code location has more than one code source",
                    format!("{} are all set; set exactly one of {}.", set.join(" and "), CODE_SOURCES.join(", ")),
                ),
            }
        }
    }

    async fn modify_plan(&self, _ctx: &Context, plan: &mut tfplugin::Plan<'_>, diags: &mut Diagnostics) {
        super::check_access_before_create(&self.config, plan, diags).await;
        super::check_full_deployment_names(&self.config, plan, "base_deployment", diags).await;
        plan_redeploy_of_failed_locations(plan);
        plan_load_status_of_unchanged_locations(plan);
    }

    async fn create(&self, ctx: &Context, planned: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let (config, plan) = diags.capture(decode_pair::<DeploymentState>(&self.config, planned))?;
        let state = self.converge(ctx, &config, None, &plan, diags).await?;
        self.encode(&state, diags)
    }

    async fn read(&self, _ctx: &Context, state: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let result = async {
            let (config, current) = decode_pair::<DeploymentState>(&self.config, state)?;
            self.fetch(&config, &current, true).await
        }
        .await;
        match result {
            Ok(Some(refreshed)) => self.encode(&refreshed, diags),
            Ok(None) => {
                info!("branch deployment deleted outside Terraform; it will be planned for creation");
                None
            }
            Err(d) => {
                diags.push(d);
                None
            }
        }
    }

    async fn update(&self, ctx: &Context, prior: &Value, planned: &Value, diags: &mut Diagnostics) -> Value {
        let decoded = decode_change::<DeploymentState>(&self.config, prior, planned);
        let (config, before, after) = match decoded {
            Ok(triple) => triple,
            Err(d) => {
                diags.push(d);
                return prior.clone();
            }
        };
        match self.converge(ctx, &config, Some(&before), &after, diags).await {
            Some(state) => self.encode(&state, diags).unwrap_or_else(|| prior.clone()),
            None => Value::Null,
        }
    }

    async fn delete(&self, ctx: &Context, state: &Value, diags: &mut Diagnostics) {
        let result = async {
            let (config, current) = decode_pair::<DeploymentState>(&self.config, state)?;
            let name = current.name.clone().unwrap_or_default();
            if current.on_destroy.as_deref() == Some("close") {
                config
                    .dagster
                    .create_or_update_branch_deployment(
                        &current.branch_data(Some("CLOSED")),
                        &current.commit_input(),
                        current.base_deployment.as_deref(),
                        None,
                    )
                    .await
                    .map_err(|e| api_error("Could not close the branch deployment's pull request", e))?;
                info!(deployment = %name, "branch deployment closed and left in Dagster+");
            } else {
                config
                    .dagster
                    .delete_branch_deployment(&name)
                    .await
                    .map_err(|e| api_error("Could not delete the branch deployment", e))?;
                // Dagster+ deletes in the background (PENDING_DELETION); destroy ends when it is gone, so a
                // create of the same branch right after does not meet the old deployment.
                wait_until_deleted(ctx, &config.dagster, &name, current.delete_timeout(), diags).await;
                info!(deployment = %name, "branch deployment deleted");
            }
            Ok::<_, Diagnostic>(())
        }
        .await;
        if let Err(d) = result {
            diags.push(d);
        }
    }

    async fn import(&self, _ctx: &Context, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        let result = async {
            let config = configured(&self.config)?;
            self.resolve_name(&config.dagster, id.trim()).await
        }
        .await;
        match result {
            Ok(name) => self.import_state(name, diags),
            Err(d) => {
                diags.push(d);
                None
            }
        }
    }

    fn identity_schema(&self) -> Option<&IdentitySchema> {
        Some(&self.identity)
    }

    fn identity(&self, state: &Value) -> Option<Value> {
        let repo = state.get("repo")?.clone();
        let branch = state.get("branch")?.clone();
        if repo.is_null() || branch.is_null() {
            return None;
        }
        Some(Value::Object([("repo".to_string(), repo), ("branch".to_string(), branch)].into_iter().collect()))
    }

    async fn import_by_identity(&self, _ctx: &Context, identity: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let (Some(repo), Some(branch)) =
            (identity.get("repo").and_then(Value::as_str), identity.get("branch").and_then(Value::as_str))
        else {
            diags.error("Incomplete identity", "Import by identity needs both `repo` and `branch`.");
            return None;
        };
        let result = async {
            let config = configured(&self.config)?;
            self.name_of(&config.dagster, repo, branch).await
        }
        .await;
        match result {
            Ok(name) => self.import_state(name, diags),
            Err(d) => {
                diags.push(d);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn container_contexts_compare_by_meaning() {
        assert!(same_container_context(r#"{"k8s":{"namespace":"bd"}}"#, "k8s:\n  namespace: bd\n"));
        assert!(!same_container_context(r#"{"k8s":{"namespace":"bd"}}"#, "k8s:\n  namespace: other\n"));
        assert!(parse_container_context("[1, 2]").is_err());
        assert!(parse_container_context("{not json").is_err());
    }

    #[test]
    fn location_document_has_the_wire_shape() {
        let location = LocationBlock {
            name: Some("etl".into()),
            image: Some("ghcr.io/acme/etl:abc".into()),
            module_name: Some("etl.defs".into()),
            agent_queue: Some("branch".into()),
            container_context: Some("k8s:\n  namespace: bd\n".into()),
            git: Some(GitBlock { commit_hash: Some("abc".into()), url: None }),
            ..LocationBlock::default()
        };
        assert_eq!(
            location.document(),
            serde_json::json!({
                "location_name": "etl",
                "image": "ghcr.io/acme/etl:abc",
                "code_source": {"module_name": "etl.defs"},
                "agent_queue": "branch",
                "container_context": {"k8s": {"namespace": "bd"}},
                "git": {"commit_hash": "abc"}
            })
        );
    }
}
