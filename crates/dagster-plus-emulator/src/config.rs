//! What an emulator instance serves.

use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Organization name; it appears in minted tokens (`agent:<org>:<hex>`).
    pub organization: String,
    /// The user token accepted as an organization admin.
    pub api_token: String,
    /// When set, state is loaded from and written through to this file.
    pub state_file: Option<PathBuf>,
}
