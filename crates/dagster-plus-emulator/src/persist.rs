//! Reading and atomically writing the `--state` file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::model::{State, STATE_FORMAT_VERSION};

#[derive(Debug, Error)]
pub enum PersistError {
    #[error("cannot read state file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("state file {path} is not valid emulator state: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("state file {path} has format version {found}, this emulator writes {expected}")]
    Version { path: PathBuf, found: u32, expected: u32 },
    #[error("cannot encode emulator state: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("cannot write state file {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// Loads the state file; `Ok(None)` when it does not exist yet.
pub fn load(path: &Path) -> Result<Option<State>, PersistError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(PersistError::Read { path: path.to_owned(), source }),
    };
    let state: State =
        serde_json::from_slice(&bytes).map_err(|source| PersistError::Parse { path: path.to_owned(), source })?;
    if state.format_version != STATE_FORMAT_VERSION {
        return Err(PersistError::Version {
            path: path.to_owned(),
            found: state.format_version,
            expected: STATE_FORMAT_VERSION,
        });
    }
    Ok(Some(state))
}

/// Writes a temporary file next to `path` and renames it over `path`, so a
/// crash never leaves a half-written state file behind.
pub fn save_atomic(path: &Path, state: &State) -> Result<(), PersistError> {
    let bytes = serde_json::to_vec_pretty(state).map_err(PersistError::Encode)?;
    let tmp = temp_path(path);
    let write_err = |source| PersistError::Write { path: tmp.clone(), source };
    let mut file = fs::File::create(&tmp).map_err(write_err)?;
    file.write_all(&bytes).map_err(write_err)?;
    file.sync_all().map_err(write_err)?;
    drop(file);
    fs::rename(&tmp, path).map_err(|source| PersistError::Write { path: path.to_owned(), source })
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "state".to_owned());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}
