//! The `dagsterbranch` provider block: where Dagster+ is, the API token, and AWS settings for the resources
//! that create AWS objects. Configure makes no network call; the clients are built from these settings and
//! used by the resources.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use cty::{Path, Type, Value};
use tfplugin::{Attribute, Block, Context, Diagnostic, Diagnostics, NestedBlock, Nesting, Resource, Schema, Validator};

use crate::dagster;
use crate::secret::Secret;
use crate::{data_sources, list_resources, resources};

pub const ENV_ORGANIZATION: &str = "DAGSTER_CLOUD_ORGANIZATION";
pub const ENV_API_TOKEN: &str = "DAGSTER_CLOUD_API_TOKEN";
pub const ENV_URL: &str = "DAGSTER_CLOUD_URL";

/// AWS settings, resolved through the standard credential chain only when an AWS resource needs them.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// One endpoint for every AWS service (for example a local emulator).
    pub endpoint_url: Option<String>,
}

/// What resources get from the provider once Terraform has configured it.
#[derive(Debug)]
pub struct Configured {
    pub dagster: dagster::Client,
    /// The organization, when configured (the agent's ECS parameters name it).
    pub organization: Option<String>,
    /// The resolved Dagster+ base URL (`url`, else `https://ORG.dagster.cloud`), as CI needs it.
    pub dagster_url: String,
    /// Settings for the AWS-backed resources; resolved into clients only when one of them runs.
    pub aws: AwsSettings,
    /// Full deployment names, fetched once per provider process for plan-time checks.
    full_deployment_names: tokio::sync::OnceCell<Vec<String>>,
}

impl Configured {
    /// Names in `names` that are not full deployments of the organization (fetched once per process).
    pub async fn unknown_full_deployments<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<String>, dagster::Error> {
        let known = self
            .full_deployment_names
            .get_or_try_init(|| async {
                let deployments = self.dagster.full_deployments().await?;
                Ok::<_, dagster::Error>(deployments.into_iter().map(|d| d.deployment_name).collect())
            })
            .await?;
        Ok(names.into_iter().filter(|n| !known.iter().any(|k| k == n)).map(str::to_string).collect())
    }

    pub fn known_full_deployments(&self) -> Vec<String> {
        self.full_deployment_names.get().cloned().unwrap_or_default()
    }
}

/// Shared between the provider and its resources: empty until ConfigureProvider, or holding the reason the
/// configuration cannot be used (for example a value only known after apply).
pub type SharedConfig = Arc<OnceLock<Result<Arc<Configured>, Diagnostic>>>;

pub struct DagsterBranchProvider {
    schema: Schema,
    config: SharedConfig,
}

impl DagsterBranchProvider {
    pub fn new() -> Self {
        DagsterBranchProvider { schema: schema(), config: Arc::default() }
    }
}

impl Default for DagsterBranchProvider {
    fn default() -> Self {
        Self::new()
    }
}

/// The configured clients, or the diagnostic that explains why there are none.
pub fn configured(shared: &SharedConfig) -> Result<Arc<Configured>, Diagnostic> {
    match shared.get() {
        Some(result) => result.clone(),
        None => Err(Diagnostic::error(
            "Provider not configured",
            "Terraform did not configure the dagsterbranch provider before using it.",
        )),
    }
}

pub fn schema() -> Schema {
    Schema::new("Manages everything a team needs for Dagster+ branch deployments: agent tokens, the branch-deployment agent, an image registry and the branch deployments themselves.")
        .attribute(
            Attribute::optional("organization", Type::String, "The Dagster+ organization (the `ORG` of `https://ORG.dagster.cloud`). Falls back to the `DAGSTER_CLOUD_ORGANIZATION` environment variable.")
                .validator(organization_validator()),
        )
        .attribute(
            Attribute::optional("api_token", Type::String, "A Dagster+ user API token with Organization Admin rights. Falls back to `DAGSTER_CLOUD_API_TOKEN`. Agent tokens (`agent:…`) cannot manage these objects.")
                .sensitive()
                .validator(api_token_validator()),
        )
        .attribute(
            Attribute::optional("url", Type::String, "The Dagster+ URL of the organization, such as `https://ORG.dagster.cloud` (without `/graphql`). Falls back to `DAGSTER_CLOUD_URL`, then to `https://ORG.dagster.cloud`.")
                .validator(Validator::string("the organization's Dagster+ URL", |s| dagster_url_check(s, "`url`"))),
        )
        .block(NestedBlock::new(
            "aws",
            Nesting::Single,
            Block::new("AWS settings for the registry resource. Credentials come from the standard AWS chain (environment, shared files, SSO, instance roles); nothing is resolved unless an AWS resource is used.")
                .attribute(Attribute::optional("region", Type::String, "AWS region. Falls back to `AWS_REGION` / `AWS_DEFAULT_REGION` and the profile's region."))
                .attribute(Attribute::optional("profile", Type::String, "Named profile from the shared AWS configuration files."))
                .attribute(Attribute::optional("endpoint_url", Type::String, "An endpoint for every AWS service, for example a local AWS emulator.").validator(url_validator())),
        ))
}

fn organization_validator() -> Validator {
    Validator::string("lowercase letters, digits and hyphens", |s| {
        let valid = !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if valid {
            Ok(())
        } else {
            Err(format!("`{s}` is not an organization name: use the lowercase name from your Dagster+ URL (https://ORG.dagster.cloud)."))
        }
    })
}

fn api_token_validator() -> Validator {
    Validator::string("a user token", |s| {
        if s.starts_with("agent:") {
            Err("This is an agent token. Agent tokens run agents and cannot manage tokens or deployments; use a user token with Organization Admin rights.".to_string())
        } else if s.trim().is_empty() {
            Err("The API token is empty.".to_string())
        } else {
            Ok(())
        }
    })
}

pub fn url_validator() -> Validator {
    Validator::string("an http(s) URL", |s| match reqwest::Url::parse(s) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        _ => Err(format!("`{s}` is not an http(s) URL.")),
    })
}

#[derive(serde::Deserialize)]
struct ProviderBlock {
    organization: Option<String>,
    api_token: Option<Secret>,
    url: Option<String>,
    aws: Option<AwsSettings>,
}

/// A setting from configuration, else from the environment (empty values count as unset).
fn setting(configured: Option<String>, env: &str) -> Option<String> {
    configured.or_else(|| std::env::var(env).ok()).filter(|v| !v.trim().is_empty())
}

fn resolve(block: ProviderBlock, ctx: &Context) -> Result<Configured, Diagnostic> {
    let organization = setting(block.organization, ENV_ORGANIZATION);
    let url = setting(block.url, ENV_URL);
    let api_token = block.api_token.or_else(|| setting(None, ENV_API_TOKEN).map(Secret::new)).ok_or_else(|| {
        Diagnostic::error(
            "Missing Dagster+ API token",
            format!("Set `api_token` in the provider block or the {ENV_API_TOKEN} environment variable."),
        )
        .at(Path::root().attr("api_token"))
    })?;
    let base_url = match (&url, &organization) {
        (Some(url), _) => url.clone(),
        (None, Some(org)) => format!("https://{org}.dagster.cloud"),
        (None, None) => {
            return Err(Diagnostic::error(
                "Missing Dagster+ organization",
                format!(
                "Set `organization` (or `url`) in the provider block, or the {ENV_ORGANIZATION} environment variable."
            ),
            )
            .at(Path::root().attr("organization")))
        }
    };
    if let Err(reason) = dagster_url_check(&base_url, &format!("`url` or {ENV_URL}")) {
        return Err(Diagnostic::error("Invalid Dagster+ URL", reason).at(Path::root().attr("url")));
    }
    let dagster = dagster::Client::new(&base_url, api_token, organization.clone(), ctx.clone())
        .map_err(|e| Diagnostic::error("Cannot create the Dagster+ client", e.to_string()))?;
    Ok(Configured {
        dagster,
        organization,
        dagster_url: base_url,
        aws: block.aws.unwrap_or_default(),
        full_deployment_names: tokio::sync::OnceCell::new(),
    })
}

/// The organization's base URL: http(s), no query or fragment, and not the GraphQL endpoint itself (the
/// client appends `/graphql`, or `/DEPLOYMENT/graphql`, to it).
fn dagster_url_check(url: &str, from: &str) -> Result<(), String> {
    let parsed = match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => parsed,
        _ => return Err(format!("`{url}` is not an http(s) URL (from {from}).")),
    };
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!("`{url}` (from {from}) has a query or fragment; give the organization's base URL, such as https://ORG.dagster.cloud."));
    }
    let path = parsed.path().trim_end_matches('/');
    if path == "/graphql" || path.ends_with("/graphql") {
        let base = url.trim_end_matches('/').trim_end_matches("graphql").trim_end_matches('/');
        return Err(format!("`{url}` (from {from}) is the GraphQL endpoint; give the organization's base URL `{base}`: the provider adds `/graphql` itself."));
    }
    Ok(())
}

#[async_trait]
impl tfplugin::Provider for DagsterBranchProvider {
    fn type_name(&self) -> &'static str {
        "dagsterbranch"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn configure(&self, ctx: &Context, config: &Value, diags: &mut Diagnostics) {
        // Values known only after apply (for example a URL from another resource) are legal here; the
        // resources report them if they are still unknown when needed.
        let result = match tfplugin::decode::<ProviderBlock>(config) {
            Ok(block) => resolve(block, ctx).map(Arc::new),
            Err(_) => Err(Diagnostic::error(
                "Provider configuration not known yet",
                "The provider block depends on values known only after apply; apply those first (-target) or use known values.",
            )),
        };
        if let Err(diagnostic) = &result {
            if config.is_wholly_known() {
                diags.push(diagnostic.clone());
            }
        }
        let _ = self.config.set(result);
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        resources::all(&self.config)
    }

    fn data_sources(&self) -> Vec<Arc<dyn tfplugin::DataSource>> {
        data_sources::all(&self.config)
    }

    fn list_resources(&self) -> Vec<Arc<dyn tfplugin::ListResource>> {
        list_resources::all(&self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_tokens_are_refused_as_api_token() {
        let validator = api_token_validator();
        let check = |s: &str| {
            let mut diags = Diagnostics::new();
            let block = Block::new("t")
                .attribute(Attribute::optional("api_token", Type::String, "").validator(validator.clone()));
            let value = Value::Object([("api_token".to_string(), Value::String(s.into()))].into_iter().collect());
            block.validate(&value, &Path::root(), &mut diags);
            diags.has_errors()
        };
        assert!(check("agent:acme:0123"));
        assert!(!check("user:acme:1:abcdef"));
    }
}
