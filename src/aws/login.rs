//! Registry login for pushing images: ECR's `GetAuthorizationToken`, whose token is base64 of
//! `user:password` (the user is always `AWS`) and is valid for 12 hours. What `docker login` and
//! `aws ecr get-login-password` use.

use base64::Engine as _;
use tracing::info;

use super::error::{required, Error, NameOperation as _, Result};
use crate::secret::Secret;

const OPERATION: &str = "ecr:GetAuthorizationToken";

/// Credentials for `docker login`: the password is a secret and formats as `***`.
#[derive(Clone, Debug)]
pub struct RegistryLogin {
    pub username: String,
    pub password: Secret,
    /// `https://<registry>.dkr.ecr.<region>.amazonaws.com`.
    pub endpoint: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// Asks ECR for login credentials for `registry_id` (the caller's own registry when `None`).
pub async fn authorization_token(client: &aws_sdk_ecr::Client, registry_id: Option<&str>) -> Result<RegistryLogin> {
    // `registryIds` is deprecated in ECR (a token works for every registry the caller may push to), but it
    // still selects which registry's endpoint the answer names, which is what `registry_id` is for.
    #[allow(deprecated)]
    let request = client.get_authorization_token().set_registry_ids(registry_id.map(|id| vec![id.to_string()]));
    let output = request.send().await.op(OPERATION)?;
    let data = required(output.authorization_data().first(), OPERATION, "authorizationData")?;
    let token = required(data.authorization_token(), OPERATION, "authorizationToken")?;
    let (username, password) = split_token(token)?;
    let endpoint = required(data.proxy_endpoint(), OPERATION, "proxyEndpoint")?.to_string();
    let expires_at = required(data.expires_at(), OPERATION, "expiresAt")?
        .fmt(aws_sdk_ecr::primitives::DateTimeFormat::DateTime)
        .map_err(|e| Error::Request(format!("{OPERATION} returned an expiry that cannot be formatted: {e}")))?;
    info!(%endpoint, %expires_at, "registry login credentials obtained");
    Ok(RegistryLogin { username, password, endpoint, expires_at })
}

/// `base64(user:password)` into its two parts. The error never quotes the token.
fn split_token(token: &str) -> Result<(String, Secret)> {
    let malformed = |why: &str| Error::Request(format!("{OPERATION} returned a token that is not {why}"));
    let decoded = base64::engine::general_purpose::STANDARD.decode(token.trim()).map_err(|_| malformed("base64"))?;
    let text = String::from_utf8(decoded).map_err(|_| malformed("text"))?;
    let (username, password) = text.split_once(':').ok_or_else(|| malformed("of the form user:password"))?;
    Ok((username.to_string(), Secret::new(password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_into_user_and_password() {
        let token = base64::engine::general_purpose::STANDARD.encode("AWS:abc:def");
        let (user, password) = split_token(&token).unwrap();
        assert_eq!(user, "AWS");
        assert_eq!(password.expose(), "abc:def", "only the first colon separates the user");
    }

    #[test]
    fn malformed_tokens_are_refused_without_quoting_them() {
        let error = split_token("not base64 at all!").unwrap_err().to_string();
        assert!(error.contains("not base64"), "{error}");
        let no_colon = base64::engine::general_purpose::STANDARD.encode("AWSsecretpassword");
        let error = split_token(&no_colon).unwrap_err().to_string();
        assert!(!error.contains("secretpassword") && !error.contains(&no_colon), "{error}");
    }
}
