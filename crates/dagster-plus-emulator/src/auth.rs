//! Who is calling: the configured user token (an org admin) or a live agent token.

use std::fmt;

use crate::domain::tokens;
use crate::store::Store;

/// The header real clients authenticate with (no `Authorization` header is sent).
pub const TOKEN_HEADER: &str = "Dagster-Cloud-Api-Token";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Principal {
    /// The configured user token; allowed everything.
    Admin,
    /// A non-revoked agent token; authenticates, but may not manage tokens.
    Agent { token_id: i64 },
}

impl Principal {
    pub fn is_admin(self) -> bool {
        self == Principal::Admin
    }
}

/// Log-safe description: never the token value itself.
impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Admin => f.write_str("user-token"),
            Principal::Agent { token_id } => write!(f, "agent-token#{token_id}"),
        }
    }
}

/// `None` means the request must be answered with HTTP 401.
pub fn authenticate(store: &Store, admin_token: &str, presented: Option<&str>) -> Option<Principal> {
    let presented = presented.filter(|t| !t.is_empty())?;
    if presented == admin_token {
        return Some(Principal::Admin);
    }
    store.read(|state| tokens::find_live_by_value(state, presented).map(|t| Principal::Agent { token_id: t.id }))
}
