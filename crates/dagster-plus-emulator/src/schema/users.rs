//! `DagsterCloudUser`: the one user the emulator knows, the owner of the
//! configured user token.

use async_graphql::{SimpleObject, ID};

#[derive(SimpleObject, Clone, Debug)]
pub struct DagsterCloudUser {
    pub id: ID,
    pub user_id: i64,
    pub email: String,
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub picture: Option<String>,
    pub is_scim_provisioned: bool,
}

pub fn admin_user(organization: &str) -> DagsterCloudUser {
    DagsterCloudUser {
        id: ID::from("1"),
        user_id: 1,
        email: format!("admin@{organization}.example.com"),
        name: Some("Emulator Admin".to_owned()),
        first_name: Some("Emulator".to_owned()),
        last_name: Some("Admin".to_owned()),
        picture: None,
        is_scim_provisioned: false,
    }
}
