//! Reading code locations back (§4.3–4.4): `workspace`, `workspaceOrError`,
//! `locationStatusesOrError`, `locationsAsDocument`, all deployment-scoped.

use async_graphql::{Context, Object, SimpleObject, Union, ID};

use super::context::{request, scope_error, scope_python_error, store};
use super::errors::PythonError;
use super::scalars::GenericScalar;
use crate::domain::locations;
use crate::model::{CodeLocation, Deployment, RepositoryLocationLoadStatus};
use crate::scope::{self, ScopeError};
use crate::serdes;

#[derive(SimpleObject, Clone, Debug)]
pub struct WorkspaceEntry {
    pub location_name: String,
    /// dagster-serdes `CodeDeploymentMetadata`.
    pub serialized_deployment_metadata: String,
    pub metadata_timestamp: Option<f64>,
    pub data_updated_timestamp: Option<f64>,
    pub has_outdated_data: bool,
    pub has_load_error: bool,
    pub can_edit_code_location_permissions: bool,
}

impl WorkspaceEntry {
    pub fn from_model(location: &CodeLocation, caller_is_admin: bool) -> WorkspaceEntry {
        let loaded = location.load.status == RepositoryLocationLoadStatus::Loaded;
        WorkspaceEntry {
            location_name: location.location_name.clone(),
            serialized_deployment_metadata: serdes::code_deployment_metadata(&location.spec),
            metadata_timestamp: Some(location.updated_at),
            data_updated_timestamp: loaded.then_some(location.load.ready_at),
            has_outdated_data: false,
            has_load_error: loaded && location.load.error.is_some(),
            can_edit_code_location_permissions: caller_is_admin,
        }
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct WorkspaceQuery {
    pub workspace_entries: Vec<WorkspaceEntry>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct RepositoryLocation {
    pub id: ID,
    pub name: String,
    pub is_reload_supported: bool,
}

#[derive(Union, Clone, Debug)]
pub enum RepositoryLocationOrLoadError {
    RepositoryLocation(RepositoryLocation),
    PythonError(PythonError),
}

#[derive(SimpleObject, Clone, Debug)]
pub struct RepositoryMetadata {
    pub key: String,
    pub value: String,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct WorkspaceLocationEntry {
    pub id: ID,
    pub name: String,
    /// Null while loading; a `PythonError` once a failed load has finished.
    pub location_or_load_error: Option<RepositoryLocationOrLoadError>,
    pub load_status: RepositoryLocationLoadStatus,
    pub display_metadata: Vec<RepositoryMetadata>,
    pub updated_timestamp: f64,
    pub version_key: String,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Workspace {
    // `String!` in the real schema, unlike the other ids here.
    pub id: String,
    pub location_entries: Vec<WorkspaceLocationEntry>,
}

#[derive(Union)]
pub enum WorkspaceOrError {
    Workspace(Workspace),
    PythonError(PythonError),
}

#[derive(SimpleObject, Clone, Debug)]
pub struct WorkspaceLocationStatusEntry {
    pub id: ID,
    pub name: String,
    pub load_status: RepositoryLocationLoadStatus,
    pub update_timestamp: f64,
    pub version_key: String,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct WorkspaceLocationStatusEntries {
    pub entries: Vec<WorkspaceLocationStatusEntry>,
}

#[derive(Union)]
pub enum WorkspaceLocationStatusEntriesOrError {
    WorkspaceLocationStatusEntries(WorkspaceLocationStatusEntries),
    PythonError(PythonError),
}

#[derive(SimpleObject, Clone, Debug)]
pub struct LocationsAsDocument {
    pub document: Option<GenericScalar>,
}

fn location_entry(location: &CodeLocation) -> WorkspaceLocationEntry {
    let name = location.location_name.clone();
    let location_or_load_error = match (location.load.status, &location.load.error) {
        (RepositoryLocationLoadStatus::Loading, _) => None,
        (RepositoryLocationLoadStatus::Loaded, Some(error)) => Some(RepositoryLocationOrLoadError::PythonError(
            PythonError::new(error.clone(), "DagsterUserCodeUnreachableError"),
        )),
        (RepositoryLocationLoadStatus::Loaded, None) => {
            Some(RepositoryLocationOrLoadError::RepositoryLocation(RepositoryLocation {
                id: ID::from(name.clone()),
                name: name.clone(),
                is_reload_supported: true,
            }))
        }
    };
    let spec = &location.spec;
    let mut display_metadata =
        vec![RepositoryMetadata { key: spec.code_source.kind.key().to_owned(), value: spec.code_source.value.clone() }];
    for (key, value) in [
        ("image", &spec.image),
        ("working_directory", &spec.working_directory),
        ("attribute", &spec.attribute),
        ("executable_path", &spec.executable_path),
        ("agent_queue", &spec.agent_queue),
    ] {
        if let Some(value) = value {
            display_metadata.push(RepositoryMetadata { key: key.to_owned(), value: value.clone() });
        }
    }
    WorkspaceLocationEntry {
        id: ID::from(name.clone()),
        name,
        location_or_load_error,
        load_status: location.load.status,
        display_metadata,
        updated_timestamp: location.updated_at,
        version_key: location.revision.to_string(),
    }
}

// Runs `f` on the request's deployment.
fn with_scoped<T>(
    ctx: &Context<'_>,
    f: impl FnOnce(&Deployment, bool) -> T,
) -> async_graphql::Result<Result<T, ScopeError>> {
    let req = request(ctx)?;
    let admin = req.principal.is_admin();
    Ok(store(ctx)?.read(|state| scope::resolve(&req.scope, state).map(|d| f(d, admin))))
}

#[derive(Default)]
pub struct WorkspaceReadQuery;

#[Object]
impl WorkspaceReadQuery {
    // Nullable in the real schema, as is `locationsAsDocument`: an error leaves the rest of the answer.
    async fn workspace(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<WorkspaceQuery>> {
        let entries =
            with_scoped(ctx, |d, admin| d.locations.iter().map(|l| WorkspaceEntry::from_model(l, admin)).collect())?
                .map_err(|e| scope_error(&e))?;
        Ok(Some(WorkspaceQuery { workspace_entries: entries }))
    }

    async fn workspace_or_error(&self, ctx: &Context<'_>) -> async_graphql::Result<WorkspaceOrError> {
        Ok(
            match with_scoped(ctx, |d, _| Workspace {
                id: format!("workspace:{}", d.deployment_name),
                location_entries: d.locations.iter().map(location_entry).collect(),
            })? {
                Ok(workspace) => WorkspaceOrError::Workspace(workspace),
                Err(e) => WorkspaceOrError::PythonError(scope_python_error(&e)),
            },
        )
    }

    async fn location_statuses_or_error(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<WorkspaceLocationStatusEntriesOrError> {
        let entries = with_scoped(ctx, |d, _| {
            d.locations
                .iter()
                .map(|l| WorkspaceLocationStatusEntry {
                    id: ID::from(l.location_name.clone()),
                    name: l.location_name.clone(),
                    load_status: l.load.status,
                    update_timestamp: l.updated_at,
                    version_key: l.revision.to_string(),
                })
                .collect()
        })?;
        Ok(match entries {
            Ok(entries) => {
                WorkspaceLocationStatusEntriesOrError::WorkspaceLocationStatusEntries(WorkspaceLocationStatusEntries {
                    entries,
                })
            }
            Err(e) => WorkspaceLocationStatusEntriesOrError::PythonError(scope_python_error(&e)),
        })
    }

    // `{"locations": [ … ]}` in the document format (what `pull-locations` prints).
    async fn locations_as_document(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<LocationsAsDocument>> {
        let locations = with_scoped(ctx, |d, _| d.locations.iter().map(locations::as_document).collect::<Vec<_>>())?
            .map_err(|e| scope_error(&e))?;
        Ok(Some(LocationsAsDocument { document: Some(GenericScalar(serde_json::json!({ "locations": locations }))) }))
    }
}
