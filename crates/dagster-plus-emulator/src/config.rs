//! What an emulator instance serves.

use std::path::PathBuf;

use crate::simulation::SimulationUpdate;

#[derive(Clone, Debug, Default)]
pub struct EmulatorConfig {
    /// Organization name; it appears in minted tokens (`agent:<org>:<hex>`).
    pub organization: String,
    /// The user token accepted as an organization admin.
    pub api_token: String,
    /// When set, state is loaded from and written through to this file.
    pub state_file: Option<PathBuf>,
    /// Simulation settings applied at start (e.g. request latency from the command line).
    pub simulation: SimulationUpdate,
}
