//! The go-plugin handshake: how Terraform starts a provider process and finds its socket.

use std::fmt;

/// go-plugin's magic cookie for Terraform providers. It only proves the binary was started by a plugin host.
const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
const CORE_PROTOCOL_VERSION: u32 = 1;
pub(crate) const APP_PROTOCOL_VERSION: u32 = 6;

#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error(
        "This binary is a plugin for Terraform and OpenTofu and is not meant to be run by hand.\n\
         Install it as a provider and run `terraform init`; see the README for a local development setup."
    )]
    NotStartedByTerraform,
    #[error(
        "This provider speaks plugin protocol 6 only (Terraform 1.0 or newer, or OpenTofu), but the client offered \
         protocol version(s) {offered}. Upgrade Terraform to 1.0 or newer."
    )]
    UnsupportedProtocol { offered: String },
}

/// What the plugin host asked for in the environment.
pub(crate) struct HandshakeRequest {
    /// Terraform's client certificate (PEM) for AutoMTLS; absent only with `TF_PLUGIN_NO_AUTO_MTLS`-style
    /// hosts, which we refuse to serve in plaintext.
    pub client_cert: Option<String>,
}

pub(crate) fn read_environment() -> Result<HandshakeRequest, HandshakeError> {
    if std::env::var(MAGIC_COOKIE_KEY).ok().as_deref() != Some(MAGIC_COOKIE_VALUE) {
        return Err(HandshakeError::NotStartedByTerraform);
    }
    // Older go-plugin hosts do not send the variable at all; they speak the version the handshake line names.
    if let Ok(offered) = std::env::var("PLUGIN_PROTOCOL_VERSIONS") {
        let supported = offered.split(',').any(|v| v.trim().parse() == Ok(APP_PROTOCOL_VERSION));
        if !offered.trim().is_empty() && !supported {
            return Err(HandshakeError::UnsupportedProtocol { offered });
        }
    }
    let client_cert = std::env::var("PLUGIN_CLIENT_CERT").ok().filter(|c| !c.trim().is_empty());
    Ok(HandshakeRequest { client_cert })
}

/// The single line go-plugin reads from the plugin's stdout.
pub(crate) struct HandshakeLine<'a> {
    pub socket_path: &'a std::path::Path,
    pub server_certificate: &'a [u8],
}

impl fmt::Display for HandshakeLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use base64::Engine;
        // go-plugin decodes the certificate with unpadded standard base64.
        let cert = base64::engine::general_purpose::STANDARD_NO_PAD.encode(self.server_certificate);
        write!(f, "{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|unix|{}|grpc|{cert}", self.socket_path.display())
    }
}
