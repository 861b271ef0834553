//! The `dagsterbranch` provider block: where Dagster+ is, the API token, and AWS settings for the resources
//! that create AWS objects. Configure makes no network call; it builds the clients (`ProviderClient`) that the
//! protocol layer hands to every resource, data source and list resource.

use async_trait::async_trait;
use cty::{Path, Type};
use tfplugin::{
    ActionHandle, Attribute, Block, Context, DataSourceHandle, Diagnostic, Diagnostics, EphemeralResourceHandle, Field,
    FunctionHandle, ListResourceHandle, NestedBlock, Nesting, ResourceHandle, Schema, Validator,
};

use crate::client::{AwsSettings, ProviderClient};
use crate::dagster;
use crate::resources::shared::validators;
use crate::secret::Secret;
use crate::{actions, data_sources, ephemeral_resources, functions, list_resources, resources};

pub const ENV_ORGANIZATION: &str = "DAGSTER_CLOUD_ORGANIZATION";
pub const ENV_API_TOKEN: &str = "DAGSTER_CLOUD_API_TOKEN";
pub const ENV_URL: &str = "DAGSTER_CLOUD_URL";

pub struct DagsterBranchProvider;

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
            Block::new("AWS settings for the registry resource and the registry login credentials. Credentials come from the standard AWS chain (environment, shared files, SSO, instance roles); nothing is resolved unless an AWS resource is used.")
                .attribute(Attribute::optional("region", Type::String, "AWS region. Falls back to `AWS_REGION` / `AWS_DEFAULT_REGION` and the profile's region."))
                .attribute(Attribute::optional("profile", Type::String, "Named profile from the shared AWS configuration files."))
                .attribute(Attribute::optional("endpoint_url", Type::String, "An endpoint for every AWS service, for example a local AWS emulator.").validator(validators::url())),
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

/// The provider block as Terraform sends it; any attribute may still be unknown during plan.
#[derive(serde::Deserialize)]
pub struct ProviderBlock {
    organization: Field<String>,
    api_token: Field<Secret>,
    url: Field<String>,
    aws: Field<AwsBlock>,
}

#[derive(serde::Deserialize)]
pub struct AwsBlock {
    region: Field<String>,
    profile: Field<String>,
    endpoint_url: Field<String>,
}

/// A provider argument only known after apply (for example a URL from another resource). Falling back to
/// the environment or the default URL would plan against the wrong organization, so it is refused, naming
/// the argument, the way Terraform's own providers do.
fn unknown_argument(path: Path, name: &str) -> Diagnostic {
    Diagnostic::error(
        format!("Provider argument `{name}` is not known until apply"),
        format!("The dagsterbranch provider needs `{name}` to plan, but it depends on a value that is known only after apply. Apply what it depends on first (`terraform apply -target=…`), or set it to a known value or through its environment variable."),
    )
    .at(path)
}

impl ProviderBlock {
    /// The block with every attribute known, or a diagnostic per unknown one.
    fn known(self) -> Result<KnownProviderBlock, Vec<Diagnostic>> {
        let mut unknown = Vec::new();
        let root = Path::root();
        let organization = known_or_report(self.organization, root.attr("organization"), "organization", &mut unknown);
        let url = known_or_report(self.url, root.attr("url"), "url", &mut unknown);
        let api_token = known_or_report(self.api_token, root.attr("api_token"), "api_token", &mut unknown);
        let aws = known_or_report(self.aws, root.attr("aws"), "aws", &mut unknown).map(|aws| {
            let at = |name: &str| root.attr("aws").attr(name);
            AwsSettings {
                region: known_or_report(aws.region, at("region"), "aws.region", &mut unknown),
                profile: known_or_report(aws.profile, at("profile"), "aws.profile", &mut unknown),
                endpoint_url: known_or_report(aws.endpoint_url, at("endpoint_url"), "aws.endpoint_url", &mut unknown),
            }
        });
        if unknown.is_empty() {
            Ok(KnownProviderBlock { organization, api_token, url, aws })
        } else {
            Err(unknown)
        }
    }
}

/// The value of a provider argument; an unknown one is reported (and reads as unset).
fn known_or_report<T>(field: Field<T>, path: Path, name: &str, unknown: &mut Vec<Diagnostic>) -> Option<T> {
    if field.is_unknown() {
        unknown.push(unknown_argument(path, name));
    }
    field.into_known()
}

struct KnownProviderBlock {
    organization: Option<String>,
    api_token: Option<Secret>,
    url: Option<String>,
    aws: Option<AwsSettings>,
}

/// A setting from configuration, else from the environment (empty values count as unset).
fn setting(configured: Option<String>, env: &str) -> Option<String> {
    configured.or_else(|| std::env::var(env).ok()).filter(|v| !v.trim().is_empty())
}

fn resolve(block: KnownProviderBlock, ctx: &Context) -> Result<ProviderClient, Diagnostic> {
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
    Ok(ProviderClient::new(dagster, organization, base_url, block.aws.unwrap_or_default()))
}

/// The organization's base URL: http(s), no query or fragment, and not the GraphQL endpoint itself (the
/// client appends `/graphql`, or `/DEPLOYMENT/graphql`, to it).
fn dagster_url_check(url: &str, from: &str) -> Result<(), String> {
    let parsed = validators::check_url(url).map_err(|e| format!("{e} (from {from})"))?;
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
    type Client = ProviderClient;
    type Config = ProviderBlock;

    fn type_name(&self) -> &'static str {
        "dagsterbranch"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn configure(&self, ctx: &Context, config: ProviderBlock, diags: &mut Diagnostics) -> Option<ProviderClient> {
        let block = match config.known() {
            Ok(block) => block,
            Err(unknown) => {
                unknown.into_iter().for_each(|d| diags.push(d));
                return None;
            }
        };
        match resolve(block, ctx) {
            Ok(configured) => Some(configured),
            Err(diagnostic) => {
                diags.push(diagnostic);
                None
            }
        }
    }

    fn resources(&self) -> Vec<ResourceHandle<ProviderClient>> {
        resources::all()
    }

    fn data_sources(&self) -> Vec<DataSourceHandle<ProviderClient>> {
        data_sources::all()
    }

    fn list_resources(&self) -> Vec<ListResourceHandle<ProviderClient>> {
        list_resources::all()
    }

    fn ephemeral_resources(&self) -> Vec<EphemeralResourceHandle<ProviderClient>> {
        ephemeral_resources::all()
    }

    fn functions(&self) -> Vec<FunctionHandle> {
        functions::all()
    }

    fn actions(&self) -> Vec<ActionHandle<ProviderClient>> {
        actions::all()
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
            let value =
                cty::Value::Object([("api_token".to_string(), cty::Value::String(s.into()))].into_iter().collect());
            block.validate(&value, &Path::root(), &mut diags);
            diags.has_errors()
        };
        assert!(check("agent:acme:0123"));
        assert!(!check("user:acme:1:abcdef"));
    }
}
