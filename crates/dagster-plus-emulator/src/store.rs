//! The emulator's single source of truth: in-memory state behind a mutex,
//! written through to the state file after every successful mutation.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

use thiserror::Error;

use crate::domain::DomainError;
use crate::model::State;
use crate::persist::{self, PersistError};

#[derive(Debug, Error)]
pub enum StoreError {
    #[error(transparent)]
    Persist(#[from] PersistError),
    #[error("state file {path} belongs to organization {found:?}, but the emulator serves {expected:?}")]
    OrganizationMismatch { path: PathBuf, found: String, expected: String },
}

/// A failed mutation: either refused by the domain rules or not saved.
/// Either way the in-memory state is left unchanged.
#[derive(Debug, Error)]
pub enum MutationError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Persist(#[from] PersistError),
}

pub struct Store {
    state: Mutex<State>,
    state_file: Option<PathBuf>,
}

impl Store {
    /// Loads `state_file` if it exists, otherwise starts a fresh organization
    /// (and writes it, so the file exists from the first start on).
    pub fn open(organization: &str, state_file: Option<PathBuf>) -> Result<Store, StoreError> {
        let loaded = match &state_file {
            Some(path) => persist::load(path)?,
            None => None,
        };
        let state = match (loaded, &state_file) {
            (Some(state), Some(path)) => {
                if state.organization != organization {
                    return Err(StoreError::OrganizationMismatch {
                        path: path.clone(),
                        found: state.organization,
                        expected: organization.to_owned(),
                    });
                }
                state
            }
            (_, path) => {
                let state = State::new(organization);
                if let Some(path) = path {
                    persist::save_atomic(path, &state)?;
                }
                state
            }
        };
        Ok(Store { state: Mutex::new(state), state_file })
    }

    /// Runs `f` on a snapshot of the state.
    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.lock())
    }

    /// Applies `f` to a copy of the state and commits the copy only if `f`
    /// succeeds and the state file (if any) was written, so a refused or
    /// unsaved mutation never leaves partial changes behind.
    pub fn mutate<T>(&self, f: impl FnOnce(&mut State) -> Result<T, DomainError>) -> Result<T, MutationError> {
        let mut guard = self.lock();
        let mut draft = guard.clone();
        let out = f(&mut draft)?;
        if let Some(path) = &self.state_file {
            persist::save_atomic(path, &draft)?;
        }
        *guard = draft;
        Ok(out)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // `mutate` swaps in a fully built state, so the data behind a poisoned
        // lock is still consistent and safe to keep using.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
