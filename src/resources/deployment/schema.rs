//! The resource's schema and identity schema, and the filter attributes its list resource and the
//! `dagsterbranch_deployments` data source share.

use cty::{Type, Value};
use tfplugin::{Attribute, Block, IdentityAttribute, IdentitySchema, NestedBlock, Nesting, Schema, Validator};

use super::location::{parse_container_context, same_container_context};
use crate::resources::shared::timeouts::{self, Operation};
use crate::resources::shared::validators::{digits, non_negative, url};

pub const PULL_REQUEST_STATUSES: &[&str] = &["OPEN", "CLOSED", "MERGED"];

fn string(name: &str, description: &str) -> Attribute {
    Attribute::optional(name, Type::String, description)
}

pub fn schema() -> Schema {
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
        .attribute(string("branch_url", "Link to the branch in the git host.").validator(url()))
        .attribute(string("on_destroy", "`delete` deletes the branch deployment on destroy; `close` marks its pull request CLOSED and leaves it in Dagster+.").default(Value::String("delete".into())).validator(Validator::one_of(&["delete", "close"])))
        .attribute(Attribute::optional("wait_for_load", Type::Bool, "Wait until every code location has loaded (bounded by `timeouts`).").default(Value::Bool(true)))
        .block(
            NestedBlock::new(
                "commit",
                Nesting::Single,
                Block::new("The commit the deployment runs.")
                    .attribute(Attribute::required("hash", Type::String, "Commit hash.").validator(Validator::not_blank()))
                    .attribute(Attribute::required("timestamp", Type::Number, "Commit time in seconds since the Unix epoch (e.g. `git log -1 --format=%ct`).").validator(non_negative("seconds since the Unix epoch")))
                    .attribute(string("message", "Commit message."))
                    .attribute(string("url", "Link to the commit.").validator(url()))
                    .attribute(string("author_name", "Commit author's name."))
                    .attribute(string("author_email", "Commit author's e-mail."))
                    .attribute(string("author_avatar_url", "Commit author's avatar image.").validator(url())),
            )
            .items(1, 1),
        )
        .block(NestedBlock::new(
            "pull_request",
            Nesting::Single,
            Block::new("The pull (merge) request of the branch.")
                .attribute(string("number", "Pull request number.").validator(digits("pull request number")))
                .attribute(string("url", "Link to the pull request.").validator(url()))
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
                        .attribute(string("url", "Link to the code.").validator(url())),
                )),
        ))
        .block(timeouts::block(
            "How long to wait for code locations to load, and for a deleted deployment to be gone.",
            &[
                (Operation::Create, "For example `30m` (default 20m)."),
                (Operation::Update, "For example `30m` (default 20m)."),
                (Operation::Delete, "How long destroy waits for Dagster+ to finish deleting the deployment, for example `5m` (default 10m)."),
            ],
        ))
}

pub fn identity_schema() -> IdentitySchema {
    IdentitySchema::new(vec![
        IdentityAttribute::required("repo", Type::String, "The git repository."),
        IdentityAttribute::required("branch", Type::String, "The git branch."),
    ])
}

/// `repo` and `pull_request_status`, by which the list resource and the data source filter branch deployments.
pub fn filter_attributes() -> [Attribute; 2] {
    [
        string("repo", "Only deployments of this git repository."),
        string("pull_request_status", "Only deployments whose pull request is `OPEN`, `CLOSED` or `MERGED`.")
            .validator(Validator::one_of(PULL_REQUEST_STATUSES)),
    ]
}
