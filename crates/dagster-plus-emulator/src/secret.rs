//! Random material for minted token values.

use thiserror::Error;

#[derive(Debug, Error)]
#[error("the operating system random source failed: {0}")]
pub struct EntropyError(String);

/// 32 lowercase hex digits (128 random bits), the third part of `agent:<org>:<hex>`.
pub fn random_hex32() -> Result<String, EntropyError> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| EntropyError(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
