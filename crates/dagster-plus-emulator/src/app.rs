//! One emulator instance: store, schema and counters, shared by the HTTP
//! handlers and the in-process [`crate::RunningEmulator`] handle.

use std::collections::BTreeMap;
use std::sync::Arc;

use thiserror::Error;

use crate::config::EmulatorConfig;
use crate::domain::deployments;
use crate::metrics::OperationCounters;
use crate::schema::{self, EmulatorSchema};
use crate::store::{MutationError, Store, StoreError};

#[derive(Debug, Error)]
pub enum AppError {
    #[error("invalid emulator configuration: {0}")]
    InvalidConfig(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AppError> for std::io::Error {
    fn from(err: AppError) -> std::io::Error {
        let kind = match err {
            AppError::InvalidConfig(_) => std::io::ErrorKind::InvalidInput,
            AppError::Store(_) => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, err)
    }
}

pub struct App {
    pub store: Arc<Store>,
    pub schema: EmulatorSchema,
    pub counters: OperationCounters,
    pub api_token: String,
    pub organization: String,
}

impl App {
    pub fn new(config: &EmulatorConfig) -> Result<App, AppError> {
        if config.organization.is_empty() || config.organization.contains([':', '/']) {
            return Err(AppError::InvalidConfig(
                "the organization must be non-empty and contain no ':' or '/'",
            ));
        }
        if config.api_token.is_empty() {
            return Err(AppError::InvalidConfig("the API token must be non-empty"));
        }
        let store = Arc::new(Store::open(
            &config.organization,
            config.state_file.clone(),
        )?);
        Ok(App {
            schema: schema::build(Arc::clone(&store)),
            store,
            counters: OperationCounters::default(),
            api_token: config.api_token.clone(),
            organization: config.organization.clone(),
        })
    }

    /// The whole store as JSON (the state-file format).
    pub fn inventory(&self) -> serde_json::Value {
        self.store.read(|state| {
            serde_json::to_value(state).unwrap_or_else(
                |e| serde_json::json!({ "error": format!("cannot encode state: {e}") }),
            )
        })
    }

    pub fn operation_counts(&self) -> BTreeMap<String, u64> {
        self.counters.snapshot()
    }

    pub fn add_full_deployment(&self, name: &str) -> Result<i64, MutationError> {
        self.store
            .mutate(|state| deployments::add_full_deployment(state, name))
    }
}
