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

/// A random version-4 UUID in canonical form, like the ids real agents report.
pub fn random_uuid() -> Result<String, EntropyError> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| EntropyError(e.to_string()))?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]))
}
