//! Code locations inside a deployment: add or update from a snake_case document, delete, and read back the
//! deployed metadata together with each location's load status. All calls are deployment-scoped.

use serde::Deserialize;
use serde_json::json;

use super::{operations, Client, Error, ErrorMember, Scope};

/// A location as deployed: the dagster-serdes `CodeDeploymentMetadata` fields the provider manages.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct DeployedLocation {
    #[serde(skip)]
    pub name: String,
    pub image: Option<String>,
    pub module_name: Option<String>,
    pub package_name: Option<String>,
    pub python_file: Option<String>,
    pub autoload_defs_module_name: Option<String>,
    pub working_directory: Option<String>,
    pub executable_path: Option<String>,
    pub attribute: Option<String>,
    #[serde(default, deserialize_with = "agent_queue")]
    pub agent_queue: Option<String>,
    pub container_context: Option<serde_json::Value>,
    pub git_metadata: Option<GitMetadata>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct GitMetadata {
    pub commit_hash: Option<String>,
    pub url: Option<String>,
}

/// Older servers store the queue as `{"queue_name": …}`, newer ones as a plain string.
fn agent_queue<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Queue {
        Name(String),
        Object { queue_name: Option<String> },
    }
    Ok(match Option::<Queue>::deserialize(deserializer)? {
        Some(Queue::Name(name)) => Some(name),
        Some(Queue::Object { queue_name }) => queue_name,
        None => None,
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadStatus {
    Loading,
    Loaded,
    /// Loaded with a load error: the location's code failed to import.
    Failed(String),
}

impl LoadStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            LoadStatus::Loading => "LOADING",
            LoadStatus::Loaded => "LOADED",
            LoadStatus::Failed(_) => "ERROR",
        }
    }
}

/// Everything a deployment's workspace says about its locations.
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    pub locations: Vec<DeployedLocation>,
    pub statuses: Vec<(String, LoadStatus)>,
}

impl Workspace {
    pub fn status(&self, name: &str) -> Option<&LoadStatus> {
        self.statuses.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

impl Client {
    /// Decodes a workspace entry's dagster-serdes `CodeDeploymentMetadata`.
    pub(super) fn deployed_location(&self, name: String, serialized: &str) -> Result<DeployedLocation, Error> {
        let mut location: DeployedLocation = serde_json::from_str(serialized).map_err(|e| Error::Decode {
            url: self.base_url().to_string(),
            detail: format!("metadata of location `{name}`: {e}"),
        })?;
        location.name = name;
        Ok(location)
    }

    pub async fn add_or_update_location(&self, deployment: &str, document: &serde_json::Value) -> Result<(), Error> {
        #[derive(Deserialize)]
        #[serde(tag = "__typename")]
        enum Result_ {
            WorkspaceEntry {},
            #[serde(untagged)]
            Error(ErrorMember),
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            add_or_update_location_from_document: Result_,
        }
        let data: Data = self
            .execute_in(
                Scope::Deployment(deployment),
                &operations::ADD_OR_UPDATE_LOCATION,
                json!({ "document": document }),
            )
            .await?;
        match data.add_or_update_location_from_document {
            Result_::WorkspaceEntry {} => Ok(()),
            Result_::Error(e) => Err(e.into()),
        }
    }

    pub async fn delete_location(&self, deployment: &str, name: &str) -> Result<(), Error> {
        #[derive(Deserialize)]
        #[serde(tag = "__typename")]
        enum Result_ {
            DeleteLocationSuccess {},
            #[serde(untagged)]
            Error(ErrorMember),
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            delete_location: Result_,
        }
        let data: Data = self
            .execute_in(Scope::Deployment(deployment), &operations::DELETE_LOCATION, json!({ "locationName": name }))
            .await?;
        match data.delete_location {
            Result_::DeleteLocationSuccess {} => Ok(()),
            Result_::Error(e) => Err(e.into()),
        }
    }

    /// The deployed locations and their load status, in one request.
    pub async fn workspace(&self, deployment: &str) -> Result<Workspace, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Entry {
            location_name: String,
            serialized_deployment_metadata: String,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Entries {
            workspace_entries: Vec<Entry>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct LoadError {
            #[serde(rename = "__typename")]
            typename: String,
            message: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct LocationEntry {
            name: String,
            load_status: String,
            location_or_load_error: Option<LoadError>,
        }
        #[derive(Deserialize)]
        #[serde(tag = "__typename")]
        enum WorkspaceOrError {
            Workspace {
                #[serde(rename = "locationEntries")]
                location_entries: Vec<LocationEntry>,
            },
            #[serde(untagged)]
            Error(ErrorMember),
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            workspace: Entries,
            workspace_or_error: WorkspaceOrError,
        }
        let data: Data = self.execute_in(Scope::Deployment(deployment), &operations::WORKSPACE, json!({})).await?;
        let locations = data
            .workspace
            .workspace_entries
            .into_iter()
            .map(|entry| self.deployed_location(entry.location_name, &entry.serialized_deployment_metadata))
            .collect::<Result<Vec<_>, _>>()?;
        let statuses = match data.workspace_or_error {
            WorkspaceOrError::Workspace { location_entries } => location_entries
                .into_iter()
                .map(|entry| {
                    let status = match (&entry.load_status[..], entry.location_or_load_error) {
                        (_, Some(LoadError { typename, message })) if typename == "PythonError" => {
                            LoadStatus::Failed(message.unwrap_or_default())
                        }
                        ("LOADED", _) => LoadStatus::Loaded,
                        _ => LoadStatus::Loading,
                    };
                    (entry.name, status)
                })
                .collect(),
            WorkspaceOrError::Error(e) => return Err(e.into()),
        };
        Ok(Workspace { locations, statuses })
    }
}
