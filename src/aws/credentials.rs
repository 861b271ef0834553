//! Waiting until a new access key works. AWS reports no "propagated" state: a new key is rejected as
//! unknown for seconds (sometimes more than ten), and its user's policy propagates separately. CI that
//! starts right after `terraform apply` would fail in that window, so the provider polls with the key.

use std::time::{Duration, Instant};

use tfplugin::Context;
use tracing::info;

use super::clients::Clients;
use super::error::{ApiError, NameOperation as _, Result};
use super::iam::NewAccessKey;
use super::retry::retry;

/// Upper bound for each of the two checks.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(120);

/// Polls `sts:GetCallerIdentity` (always allowed, so it only tests the key) and then
/// `ecr:GetAuthorizationToken` (tests the push policy too) with the new key.
pub async fn wait_until_usable(ctx: &Context, clients: &Clients, key: &NewAccessKey) -> Result<()> {
    let started = Instant::now();
    let (sts, ecr) = clients.signing_with(&key.id, &key.secret);
    retry(ctx, "sts:GetCallerIdentity with the new access key", WAIT_TIMEOUT, ApiError::is_unknown_key, || async {
        sts.get_caller_identity().send().await.op("sts:GetCallerIdentity").map(|_| ())
    })
    .await?;
    let not_yet = |e: &ApiError| e.is_unknown_key() || e.is_access_denied();
    retry(ctx, "ecr:GetAuthorizationToken with the new access key", WAIT_TIMEOUT, not_yet, || async {
        ecr.get_authorization_token().send().await.op("ecr:GetAuthorizationToken").map(|_| ())
    })
    .await?;
    info!(access_key_id = %key.id, waited_ms = started.elapsed().as_millis() as u64, "new access key works");
    Ok(())
}
