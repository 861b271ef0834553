//! `ephemeral "dagsterbranch_registry_credentials"`: a `docker login` for the ECR registry from
//! `ecr:GetAuthorizationToken`, as the provider's AWS identity or as an access key given here (for example
//! the CI user's key from `dagsterbranch_registry`). Being ephemeral, the password is never written to state
//! or plan files: it exists only while Terraform runs, for provider blocks, provisioners and write-only
//! arguments.

use async_trait::async_trait;
use cty::{Path, Type};
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Context, Diagnostic, Diagnostics, EphemeralResource, Field, Opened, Schema, Validator};

use crate::aws::error::Error as AwsError;
use crate::aws::login::{self, RegistryLogin};
use crate::client::ProviderClient;
use crate::secret::Secret;

pub struct RegistryCredentials;

pub fn schema() -> Schema {
    Schema::new("Login credentials for pushing images to an Amazon ECR registry, from `ecr:GetAuthorizationToken` (what `aws ecr get-login-password` prints). The password is valid for 12 hours. As an ephemeral resource (Terraform 1.10 and later) it is obtained afresh in every plan and apply and never stored in state or plan files; use it in provider blocks, provisioners and write-only arguments.")
        .attribute(
            Attribute::optional("registry_id", Type::String, "The AWS account id (12 digits) of the registry to log in to. Defaults to the account of the credentials used.")
                .validator(account_id()),
        )
        .attribute(
            Attribute::optional("access_key_id", Type::String, "Log in with this access key instead of the provider's AWS credentials, for example `dagsterbranch_registry.ci.access_key_id` to use the CI user's push-only key. Requires `secret_access_key`.")
                .validator(Validator::not_blank()),
        )
        .attribute(
            Attribute::optional("secret_access_key", Type::String, "The secret of `access_key_id`.")
                .sensitive()
                .validator(secret_not_empty()),
        )
        .attribute(Attribute::computed("username", Type::String, "The user name for `docker login` (always `AWS`)."))
        .attribute(Attribute::computed("password", Type::String, "The password for `docker login`, valid for 12 hours.").sensitive())
        .attribute(Attribute::computed("endpoint", Type::String, "The registry endpoint to log in to, `https://<registry_id>.dkr.ecr.<region>.amazonaws.com`."))
        .attribute(Attribute::computed("expires_at", Type::String, "When the password expires (RFC 3339)."))
}

fn account_id() -> Validator {
    Validator::string("12 digits", |s| {
        if s.len() == 12 && s.chars().all(|c| c.is_ascii_digit()) {
            Ok(())
        } else {
            Err(format!("`{s}` is not an AWS account id: use the registry's 12-digit account id."))
        }
    })
}

/// An empty secret is what `dagsterbranch_registry` holds after an import (AWS returns a secret only when the
/// key is created). The message never quotes the value.
fn secret_not_empty() -> Validator {
    Validator::string("not empty", |s| {
        if s.trim().is_empty() {
            Err("The secret access key is empty. An imported `dagsterbranch_registry` has no secret; rotate its key (`key_rotation`) to get one, or leave out both `access_key_id` and `secret_access_key` to use the provider's AWS credentials.".to_string())
        } else {
            Ok(())
        }
    })
}

/// The configuration and the login, in the shape of the schema. The key pair is `Field` so that validation
/// can tell a missing half from one that is not known yet.
#[derive(Debug, Deserialize, Serialize)]
pub struct RegistryCredentialsModel {
    registry_id: Option<String>,
    access_key_id: Field<String>,
    secret_access_key: Field<Secret>,
    username: Option<String>,
    password: Option<Secret>,
    endpoint: Option<String>,
    expires_at: Option<String>,
}

/// What can go wrong while logging in. Each variant's message is the diagnostic's summary; its source, the
/// detail.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("Cannot set up AWS access")]
    Setup(#[source] Box<AwsError>),
    #[error("Could not get registry login credentials from ECR")]
    Login { source: Box<AwsError>, with_given_key: bool },
}

impl From<CredentialsError> for Diagnostic {
    fn from(error: CredentialsError) -> Self {
        let summary = error.to_string();
        let mut detail = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
        match error {
            CredentialsError::Setup(_) => Diagnostic::error(summary, detail),
            CredentialsError::Login { with_given_key, .. } => {
                let whose = if with_given_key { "The access key given" } else { "The provider's AWS identity" };
                detail.push_str(&format!(" {whose} needs permission for `ecr:GetAuthorizationToken`."));
                let diagnostic = Diagnostic::error(summary, detail);
                if with_given_key {
                    diagnostic.at(Path::root().attr("access_key_id"))
                } else {
                    diagnostic
                }
            }
        }
    }
}

async fn log_in(client: &ProviderClient, config: &RegistryCredentialsModel) -> Result<RegistryLogin, CredentialsError> {
    let clients = client.aws_clients().await.map_err(|e| CredentialsError::Setup(Box::new(e)))?;
    let registry_id = config.registry_id.as_deref();
    let result = match (config.access_key_id.known(), config.secret_access_key.known()) {
        (Some(id), Some(secret)) => {
            let (_, ecr) = clients.signing_with(id, secret);
            login::authorization_token(&ecr, registry_id).await
        }
        _ => login::authorization_token(&clients.ecr, registry_id).await,
    };
    let with_given_key = config.access_key_id.known().is_some();
    result.map_err(|e| CredentialsError::Login { source: Box::new(e), with_given_key })
}

#[async_trait]
impl EphemeralResource for RegistryCredentials {
    type Client = ProviderClient;
    type Model = RegistryCredentialsModel;

    fn type_name(&self) -> &'static str {
        "dagsterbranch_registry_credentials"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    /// The key pair comes whole or not at all; a half not known yet (from a registry still to be created) is
    /// fine.
    fn validate(&self, config: &RegistryCredentialsModel, diags: &mut Diagnostics) {
        let (id, secret) = (&config.access_key_id, &config.secret_access_key);
        let missing = |name: &str, other: &str| {
            Diagnostic::error(
                format!("`{name}` is missing"),
                format!("`{other}` is set, so `{name}` is needed too. Set both to log in with that access key, or neither to use the provider's AWS credentials."),
            )
            .at(Path::root().attr(name))
        };
        if id.is_null() && !secret.is_null() {
            diags.push(missing("access_key_id", "secret_access_key"));
        }
        if secret.is_null() && !id.is_null() {
            diags.push(missing("secret_access_key", "access_key_id"));
        }
    }

    async fn open(
        &self,
        _ctx: &Context,
        client: &ProviderClient,
        mut config: RegistryCredentialsModel,
        diags: &mut Diagnostics,
    ) -> Option<Opened<RegistryCredentialsModel>> {
        let login = diags.capture(log_in(client, &config).await)?;
        config.username = Some(login.username);
        config.password = Some(login.password);
        config.endpoint = Some(login.endpoint);
        config.expires_at = Some(login.expires_at);
        // No renewal: ECR cannot extend a token, and 12 hours outlast any Terraform run.
        Some(Opened::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_covers_the_schema() {
        tfplugin::model::check_covers::<RegistryCredentialsModel>(&schema().block).unwrap();
    }

    fn config(id: Field<&str>, secret: Field<&str>) -> RegistryCredentialsModel {
        RegistryCredentialsModel {
            registry_id: None,
            access_key_id: id.map(str::to_string),
            secret_access_key: secret.map(Secret::new),
            username: None,
            password: None,
            endpoint: None,
            expires_at: None,
        }
    }

    fn problems(config: &RegistryCredentialsModel) -> Vec<Diagnostic> {
        let mut diags = Diagnostics::new();
        RegistryCredentials.validate(config, &mut diags);
        diags.iter().cloned().collect()
    }

    #[test]
    fn the_key_pair_comes_whole_or_not_at_all() {
        assert!(problems(&config(Field::Null, Field::Null)).is_empty());
        assert!(problems(&config(Field::Known("AKIA1"), Field::Known("s"))).is_empty());
        assert!(problems(&config(Field::Unknown, Field::Unknown)).is_empty(), "a registry not created yet");
        let half = problems(&config(Field::Known("AKIA1"), Field::Null));
        assert_eq!(half.len(), 1);
        assert_eq!(half[0].path, Some(Path::root().attr("secret_access_key")));
        let half = problems(&config(Field::Null, Field::Known("s")));
        assert_eq!(half[0].path, Some(Path::root().attr("access_key_id")));
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        let refused = |s: &str| {
            let value = cty::Value::Object([("registry_id".to_string(), cty::Value::from(s))].into_iter().collect());
            let mut diags = Diagnostics::new();
            schema().block.validate(&value, &Path::root(), &mut diags);
            diags.has_errors()
        };
        assert!(!refused("123456789012"));
        assert!(refused("12345"));
        assert!(refused("12345678901a"));
    }

    #[test]
    fn the_password_never_shows_in_debug_output() {
        let mut model = config(Field::Known("AKIA1"), Field::Known("secret-key"));
        model.password = Some(Secret::new("ecr-password"));
        let shown = format!("{model:?}");
        assert!(!shown.contains("ecr-password") && !shown.contains("secret-key"), "{shown}");
    }
}
