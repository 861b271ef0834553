//! Deployment lookups and the seeding of full deployments.

use super::DomainError;
use crate::model::{Deployment, DeploymentAgentType, DeploymentType, State};

/// The full deployment every organization starts with; un-prefixed `/graphql`
/// requests are scoped to it.
pub const DEFAULT_DEPLOYMENT: &str = "prod";

/// Path segments the HTTP layer owns, so no deployment may be named after them.
const RESERVED_NAMES: &[&str] = &["graphql", "_emulator"];

pub fn by_name<'a>(state: &'a State, name: &str) -> Option<&'a Deployment> {
    state.deployments.iter().find(|d| d.deployment_name == name)
}

pub fn by_id(state: &State, id: i64) -> Option<&Deployment> {
    state.deployments.iter().find(|d| d.deployment_id == id)
}

pub fn full_deployments(state: &State) -> impl Iterator<Item = &Deployment> {
    state.deployments.iter().filter(|d| d.deployment_type == DeploymentType::Production)
}

/// The deployment an unscoped request acts on: `prod`, or the oldest full
/// deployment if `prod` is ever gone.
pub fn default_deployment(state: &State) -> Option<&Deployment> {
    by_name(state, DEFAULT_DEPLOYMENT).or_else(|| full_deployments(state).next())
}

/// Adds a full (PRODUCTION) deployment and returns its id.
pub fn add_full_deployment(state: &mut State, name: &str) -> Result<i64, DomainError> {
    validate_name(state, name)?;
    if by_name(state, name).is_some() {
        return Err(DomainError::DuplicateDeployment(name.to_owned()));
    }
    Ok(state.push_full_deployment(name))
}

pub fn set_agent_type(state: &mut State, id: i64, agent_type: DeploymentAgentType) -> Result<(), DomainError> {
    by_id_mut(state, id)?.agent_type = agent_type;
    Ok(())
}

/// Replaces the deployment's settings document.
pub fn set_settings(state: &mut State, id: i64, settings: serde_json::Value) -> Result<serde_json::Value, DomainError> {
    let deployment = by_id_mut(state, id)?;
    deployment.settings = settings;
    Ok(deployment.settings.clone())
}

fn by_id_mut(state: &mut State, id: i64) -> Result<&mut Deployment, DomainError> {
    state.deployments.iter_mut().find(|d| d.deployment_id == id).ok_or(DomainError::DeploymentIdNotFound(id))
}

/// Names become URL path segments (`/{deployment}/graphql`), so keep them to a
/// safe alphabet and away from the organization name, which `dg` uses as the
/// same path segment.
fn validate_name(state: &State, name: &str) -> Result<(), DomainError> {
    let invalid = |reason| DomainError::InvalidDeploymentName { name: name.to_owned(), reason };
    if name.is_empty() || name.len() > 63 {
        return Err(invalid("must be 1 to 63 characters long"));
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if !name.chars().all(allowed) {
        return Err(invalid("only lowercase letters, digits, '-' and '_' are allowed"));
    }
    if RESERVED_NAMES.contains(&name) {
        return Err(invalid("the name is reserved by the emulator"));
    }
    if name == state.organization {
        return Err(invalid("the name equals the organization name"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_prod_is_default_and_ids_increase() {
        let mut state = State::new("acme");
        let prod = default_deployment(&state).map(|d| d.deployment_id);
        assert_eq!(prod, Some(1));
        assert_eq!(add_full_deployment(&mut state, "staging"), Ok(2));
        assert_eq!(add_full_deployment(&mut state, "staging"), Err(DomainError::DuplicateDeployment("staging".into())));
        assert!(add_full_deployment(&mut state, "Bad/Name").is_err());
        assert!(add_full_deployment(&mut state, "acme").is_err());
        assert_eq!(full_deployments(&state).count(), 2);
    }
}
