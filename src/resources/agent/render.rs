//! The agent's configuration as each platform takes it: the Docker agent's `dagster.yaml`, values for the
//! `dagster-cloud-agent` Helm chart, parameters for Dagster's ECS CloudFormation template, and the container
//! environment. Every one holds the token, so every one is a secret; with a write-only token (`token_wo`) they
//! refer to it instead, so that no state holds it.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as Json};

use super::schema::{DEFAULT_IMAGE, DEFAULT_INCLUDE_DEFAULT_QUEUE, DEFAULT_REPLICAS};
use super::state::AgentState;
use crate::secret::Secret;

/// The variable the agent container reads its token from (Dagster's own name for it).
const TOKEN_ENV: &str = "DAGSTER_CLOUD_AGENT_TOKEN";
/// What ECS parameters and `env` hold instead of a write-only token: substituted when deploying.
const TOKEN_PLACEHOLDER: &str = "${DAGSTER_CLOUD_AGENT_TOKEN}";
/// The Kubernetes secret (key `DAGSTER_CLOUD_AGENT_TOKEN`) the Helm values name instead of a write-only token.
const HELM_TOKEN_SECRET: &str = "dagster-cloud-agent-token";

/// How the rendered configuration gets the token.
enum Token<'a> {
    /// Written in, as the agent reads it directly.
    Value(&'a str),
    /// Referred to: the token is write-only or kept in a secret store only, and must not reach state.
    Reference,
}

impl AgentState {
    /// Fills every rendered output from the arguments and the effective token (a reference to it when the
    /// token is write-only).
    pub(super) fn render(&mut self, organization: Option<&str>) {
        let value = self.agent_token.as_ref().map(Secret::expose).unwrap_or_default().to_string();
        let token = if self.token_in_state() { Token::Value(&value) } else { Token::Reference };
        self.id = self.label.clone();
        let dagster_yaml = Secret::new(to_yaml(&dagster_yaml_document(self, &token)));
        let helm_values = Secret::new(to_yaml(&helm_document(self, &token)));
        let ecs_parameters = ecs_parameters(self, &token, organization);
        let env_token = match token {
            Token::Value(value) => value,
            Token::Reference => TOKEN_PLACEHOLDER,
        };
        self.env = Some(BTreeMap::from([
            ("DAGSTER_HOME".to_string(), Secret::new("/opt/dagster/dagster_home")),
            (TOKEN_ENV.to_string(), Secret::new(env_token)),
        ]));
        self.dagster_yaml = Some(dagster_yaml);
        self.helm_values = Some(helm_values);
        self.ecs_parameters = Some(ecs_parameters);
    }

    fn include_default_queue(&self) -> bool {
        self.include_default_queue.unwrap_or(DEFAULT_INCLUDE_DEFAULT_QUEUE)
    }

    /// Queues are configured only when they differ from serving the default queue alone.
    fn configures_queues(&self) -> bool {
        !self.queues().is_empty() || !self.include_default_queue()
    }

    fn replicas(&self) -> i64 {
        self.replicas.unwrap_or(DEFAULT_REPLICAS)
    }
}

/// The Docker agent's `dagster.yaml`, in the shape of Dagster's branch-deployment guide.
fn dagster_yaml_document(state: &AgentState, token: &Token<'_>) -> Json {
    let mut api = Map::new();
    let token = match token {
        Token::Value(value) => Json::from(*value),
        // Dagster's config reads any string setting from the environment this way.
        Token::Reference => json!({ "env": TOKEN_ENV }),
    };
    api.insert("agent_token".into(), token);
    api.insert("agent_label".into(), state.label().into());
    api.insert("branch_deployments".into(), true.into());
    let deployments = state.deployments();
    if !deployments.is_empty() {
        api.insert("deployments".into(), deployments.into());
    }
    let mut document = Map::new();
    document.insert(
        "instance_class".into(),
        json!({ "module": "dagster_cloud.instance", "class": "DagsterCloudAgentInstance" }),
    );
    document.insert("dagster_cloud_api".into(), api.into());
    if state.configures_queues() {
        document.insert(
            "agent_queues".into(),
            json!({ "include_default_queue": state.include_default_queue(), "additional_queues": state.queues() }),
        );
    }
    if let Some(locations) = state.allowed_branch_deployment_locations.as_ref().filter(|l| !l.is_empty()) {
        document.insert("allowed_branch_deployment_locations".into(), locations.clone().into());
    }
    if state.replicas() != DEFAULT_REPLICAS {
        document.insert("agent_replicas".into(), state.replicas().into());
    }
    document.insert(
        "user_code_launcher".into(),
        json!({
            "module": "dagster_cloud.workspace.docker",
            "class": "DockerUserCodeLauncher",
            "config": {
                "networks": ["dagster_cloud_agent"],
                "server_ttl": { "branch_deployments": { "ttl_seconds": state.ttl() } }
            }
        }),
    );
    Json::Object(document)
}

/// Values for the `dagster-cloud-agent` Helm chart.
fn helm_document(state: &AgentState, token: &Token<'_>) -> Json {
    let image = state.agent_image.as_deref().unwrap_or(DEFAULT_IMAGE);
    let (repository, tag) = split_image(image);
    let mut cloud = Map::new();
    match token {
        Token::Value(value) => cloud.insert("agentToken".into(), (*value).into()),
        // The chart's way to take the token from an existing secret.
        Token::Reference => cloud.insert("agentTokenSecretName".into(), HELM_TOKEN_SECRET.into()),
    };
    cloud.insert("agentLabel".into(), state.label().into());
    cloud.insert("branchDeployments".into(), true.into());
    let deployments = state.deployments();
    if !deployments.is_empty() {
        cloud.insert("deployments".into(), deployments.into());
    }
    if state.configures_queues() {
        cloud.insert(
            "agentQueues".into(),
            json!({ "includeDefaultQueue": state.include_default_queue(), "additionalQueues": state.queues() }),
        );
    }
    json!({
        "dagsterCloud": Json::Object(cloud),
        "dagsterCloudAgent": { "replicas": state.replicas(), "image": { "repository": repository, "tag": tag } },
        "workspace": { "serverTTL": { "enabled": true, "ttlSeconds": state.ttl() } }
    })
}

/// Parameters for Dagster's ECS agent CloudFormation template.
fn ecs_parameters(state: &AgentState, token: &Token<'_>, organization: Option<&str>) -> BTreeMap<String, Secret> {
    let token = match token {
        Token::Value(value) => *value,
        Token::Reference => TOKEN_PLACEHOLDER,
    };
    BTreeMap::from([
        ("DagsterOrganization".to_string(), Secret::new(organization.unwrap_or_default())),
        // Empty means "serve branch deployments only" in Dagster's template.
        ("DagsterDeployment".to_string(), Secret::new(state.deployments().join(","))),
        ("EnableBranchDeployments".to_string(), Secret::new("true")),
        ("AgentToken".to_string(), Secret::new(token)),
        ("NumReplicas".to_string(), Secret::new(state.replicas().to_string())),
    ])
}

/// `repo/name:tag` → (`repo/name`, `tag`); a digest or a missing tag renders as `latest`.
fn split_image(image: &str) -> (String, String) {
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(i) if !image.contains('@') => {
            (image[..last_slash + i].to_string(), image[last_slash + i + 1..].to_string())
        }
        _ => (image.split('@').next().unwrap_or(image).to_string(), "latest".to_string()),
    }
}

fn to_yaml(document: &Json) -> String {
    serde_norway::to_string(&yaml_value(document)).unwrap_or_default()
}

/// Converts explicitly: serde_json's exact-number representation would otherwise serialize as an internal
/// marker object instead of a YAML number. Key order is kept.
fn yaml_value(value: &Json) -> serde_norway::Value {
    use serde_norway::Value as Yaml;
    match value {
        Json::Null => Yaml::Null,
        Json::Bool(b) => Yaml::Bool(*b),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Yaml::Number(i.into()),
            (None, Some(f)) => Yaml::Number(f.into()),
            _ => Yaml::String(n.to_string()),
        },
        Json::String(s) => Yaml::String(s.clone()),
        Json::Array(items) => Yaml::Sequence(items.iter().map(yaml_value).collect()),
        Json::Object(map) => Yaml::Mapping(map.iter().map(|(k, v)| (Yaml::String(k.clone()), yaml_value(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_split_into_repository_and_tag() {
        assert_eq!(
            split_image("docker.io/dagster/dagster-cloud-agent:1.13.27"),
            ("docker.io/dagster/dagster-cloud-agent".into(), "1.13.27".into())
        );
        assert_eq!(split_image("localhost:5000/agent"), ("localhost:5000/agent".into(), "latest".into()));
    }

    #[test]
    fn rendering_is_deterministic() {
        let mut a = AgentState {
            label: Some("bd".into()),
            agent_token: Some(Secret::new("agent:o:1")),
            queues: Some(vec!["q".into()]),
            ..AgentState::default()
        };
        let mut b = a.clone();
        a.render(Some("o"));
        b.render(Some("o"));
        assert_eq!(a.dagster_yaml, b.dagster_yaml);
        assert_eq!(a.helm_values, b.helm_values);
    }

    #[test]
    fn a_write_only_token_is_referred_to_and_never_rendered() {
        let token = "agent:o:write-only-secret";
        let mut state = AgentState {
            label: Some("bd".into()),
            token_wo: tfplugin::Field::Known(Secret::new(token)),
            ..AgentState::default()
        };
        state.render(Some("o"));
        let rendered = [
            state.dagster_yaml.as_ref().unwrap().expose().to_string(),
            state.helm_values.as_ref().unwrap().expose().to_string(),
            format!("{:?}", state.ecs_parameters.as_ref().unwrap().values().map(Secret::expose).collect::<Vec<_>>()),
            format!("{:?}", state.env.as_ref().unwrap().values().map(Secret::expose).collect::<Vec<_>>()),
        ];
        assert!(rendered.iter().all(|r| !r.contains("write-only-secret")), "{rendered:?}");
        assert!(rendered[0].contains("env: DAGSTER_CLOUD_AGENT_TOKEN"), "{}", rendered[0]);
        assert!(rendered[1].contains("agentTokenSecretName: dagster-cloud-agent-token"), "{}", rendered[1]);
        assert_eq!(state.ecs_parameters.as_ref().unwrap()["AgentToken"].expose(), TOKEN_PLACEHOLDER);
        assert_eq!(state.env.as_ref().unwrap()[TOKEN_ENV].expose(), TOKEN_PLACEHOLDER);
    }
}
