//! Deployment settings (§6; CLI documents D12, D13) and the CLI's telemetry
//! call `markCliEvent` (D15), which `ci deploy` sends at the end.

use async_graphql::{Context, Enum, InputObject, Object, Union};

use super::context::{may_modify, not_permitted, request, scope_error, scope_python_error, scope_target, store};
use super::deployments::DeploymentSettings;
use super::errors::{
    DeleteFinalDeploymentError, DeploymentNotFoundError, DuplicateDeploymentError, PythonError, UnauthorizedError,
};
use super::scalars::GenericScalar;
use crate::domain::{deployments, DomainError};

#[derive(InputObject, Clone, Debug)]
pub struct DeploymentSettingsInput {
    pub settings: Option<GenericScalar>,
}

#[derive(Union)]
pub enum SetDeploymentSettingsResult {
    DeploymentSettings(DeploymentSettings),
    DeploymentNotFoundError(DeploymentNotFoundError),
    DuplicateDeploymentError(DuplicateDeploymentError),
    DeleteFinalDeploymentError(DeleteFinalDeploymentError),
    UnauthorizedError(UnauthorizedError),
    PythonError(PythonError),
}

#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum CliEventType {
    Deploy,
    Upload,
    Build,
}

#[derive(Default)]
pub struct SettingsQuery;

#[Object]
impl SettingsQuery {
    async fn deployment_settings(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DeploymentSettings>> {
        let target = scope_target(ctx)?.map_err(|e| scope_error(&e))?;
        Ok(store(ctx)?.read(|state| {
            deployments::by_id(state, target.deployment_id)
                .map(|d| DeploymentSettings { settings: Some(GenericScalar(d.settings.clone())) })
        }))
    }
}

#[derive(Default)]
pub struct SettingsMutation;

#[Object]
impl SettingsMutation {
    // Replaces the settings document; without `deploymentId` (as the CLI
    // sends it), the request's deployment.
    async fn set_deployment_settings(
        &self,
        ctx: &Context<'_>,
        deployment_id: Option<i64>,
        deployment_settings: DeploymentSettingsInput,
    ) -> async_graphql::Result<SetDeploymentSettingsResult> {
        let (id, name, writable) = match deployment_id {
            Some(id) => {
                let principal = request(ctx)?.principal;
                let found = store(ctx)?.read(|state| {
                    deployments::by_id(state, id)
                        .map(|d| (id, d.deployment_name.clone(), may_modify(principal, state, d)))
                });
                match found {
                    Some(found) => found,
                    None => {
                        return Ok(SetDeploymentSettingsResult::DeploymentNotFoundError(DeploymentNotFoundError {
                            message: DomainError::DeploymentIdNotFound(id).to_string(),
                        }))
                    }
                }
            }
            None => match scope_target(ctx)? {
                Ok(t) => (t.deployment_id, t.deployment_name, t.writable),
                Err(e) => return Ok(SetDeploymentSettingsResult::PythonError(scope_python_error(&e))),
            },
        };
        if !writable {
            return Ok(SetDeploymentSettingsResult::UnauthorizedError(not_permitted(&name)));
        }
        let settings =
            deployment_settings.settings.map(|s| s.0).filter(|v| !v.is_null()).unwrap_or_else(|| serde_json::json!({}));
        if !settings.is_object() {
            return Ok(SetDeploymentSettingsResult::PythonError(PythonError::new(
                "Deployment settings must be a map",
                "DagsterInvalidConfigError",
            )));
        }
        Ok(match store(ctx)?.mutate(|state| deployments::set_settings(state, id, settings)) {
            Ok(saved) => SetDeploymentSettingsResult::DeploymentSettings(DeploymentSettings {
                settings: Some(GenericScalar(saved)),
            }),
            Err(e) => SetDeploymentSettingsResult::PythonError(PythonError::from_mutation(&e)),
        })
    }

    // Telemetry: logged and counted (as `mutation.markCliEvent`), nothing else. Nullable, as in the real schema.
    async fn mark_cli_event(
        &self,
        event_type: CliEventType,
        duration_seconds: f64,
        success: Option<bool>,
        tags: Option<Vec<Option<String>>>,
        message: Option<String>,
    ) -> Option<String> {
        tracing::debug!(?event_type, duration_seconds, ?success, ?tags, ?message, "CLI event");
        Some("ok".to_owned())
    }
}
