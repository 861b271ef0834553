//! One emulator instance: store, schema and counters, shared by the HTTP
//! handlers and the in-process [`crate::RunningEmulator`] handle.

use std::collections::BTreeMap;
use std::sync::Arc;

use thiserror::Error;

use crate::config::EmulatorConfig;
use crate::domain::agents::{self, HeartbeatReport};
use crate::domain::{deployments, timed};
use crate::faults::Faults;
use crate::metrics::OperationCounters;
use crate::schema::{self, EmulatorSchema};
use crate::simulation::Simulation;
use crate::store::{MutationError, Store, StoreError};
use crate::{clock, secret};

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
    pub simulation: Arc<Simulation>,
    pub faults: Faults,
    pub api_token: String,
    pub organization: String,
}

impl App {
    pub fn new(config: &EmulatorConfig) -> Result<App, AppError> {
        if config.organization.is_empty() || config.organization.contains([':', '/']) {
            return Err(AppError::InvalidConfig("the organization must be non-empty and contain no ':' or '/'"));
        }
        if config.api_token.is_empty() {
            return Err(AppError::InvalidConfig("the API token must be non-empty"));
        }
        let store = Arc::new(Store::open(&config.organization, config.state_file.clone())?);
        let simulation = Arc::new(Simulation::default());
        simulation.update(config.simulation.clone());
        Ok(App {
            schema: schema::build(Arc::clone(&store), Arc::clone(&simulation)),
            store,
            counters: OperationCounters::default(),
            simulation,
            faults: Faults::default(),
            api_token: config.api_token.clone(),
            organization: config.organization.clone(),
        })
    }

    /// Applies the transitions that are due by now (finished loads, completed
    /// deletions, silent agents), so whatever is observed next is current.
    pub fn advance_clock(&self) {
        let now = clock::now_seconds();
        let sim = self.simulation.get();
        if !self.store.read(|state| timed::is_due(state, now, &sim)) {
            return;
        }
        if let Err(e) = self.store.mutate(|state| {
            timed::advance(state, now, &sim);
            Ok(())
        }) {
            tracing::error!(error = %e, "cannot save time-driven state changes");
        }
    }

    /// The whole store as JSON (the state-file format).
    pub fn inventory(&self) -> serde_json::Value {
        self.advance_clock();
        self.store.read(|state| {
            serde_json::to_value(state)
                .unwrap_or_else(|e| serde_json::json!({ "error": format!("cannot encode state: {e}") }))
        })
    }

    pub fn operation_counts(&self) -> BTreeMap<String, u64> {
        self.counters.snapshot()
    }

    pub fn add_full_deployment(&self, name: &str) -> Result<i64, MutationError> {
        self.store.mutate(|state| deployments::add_full_deployment(state, name))
    }

    /// Records a heartbeat sent through the admin API or the library; returns the agent id.
    pub fn heartbeat(&self, report: HeartbeatReport) -> Result<String, AgentCallError> {
        let fresh_id = secret::random_uuid().map_err(AgentCallError::Entropy)?;
        let now = clock::now_seconds();
        self.advance_clock();
        Ok(self.store.mutate(|state| agents::record_heartbeat(state, report, now, &fresh_id))?)
    }

    pub fn stop_heartbeats(&self, label: &str) -> Result<usize, MutationError> {
        self.advance_clock();
        self.store.mutate(|state| agents::stop(state, label))
    }
}

#[derive(Debug, Error)]
pub enum AgentCallError {
    #[error("cannot mint an agent id: {0}")]
    Entropy(#[source] secret::EntropyError),
    #[error(transparent)]
    Mutation(#[from] MutationError),
}
