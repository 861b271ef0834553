//! Full deployments (the bases of branch deployments and the targets of deployment-scoped grants).

use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FullDeployment {
    pub deployment_id: i64,
    pub deployment_name: String,
}
