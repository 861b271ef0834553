//! Names of branch deployments.
//!
//! The real naming rule is not observable; names seen in the docs look like a
//! slug of the branch name. The emulator appends a short hash of repository and
//! branch, so a (repo, branch) pair always gets the same, URL-safe name and two
//! repositories with the same branch name do not collide.

/// Keeps room for the `-<hash>` suffix within the 63-character name limit.
const MAX_SLUG_LEN: usize = 40;
const HASH_HEX_LEN: usize = 6;

/// `feature/X_y` in `acme/app` becomes `feature-x-y-<6 hex>`.
pub fn branch_deployment_name(repo_name: &str, branch_name: &str) -> String {
    name_with_hash_len(repo_name, branch_name, HASH_HEX_LEN)
}

/// A longer hash, for the unlikely case that the short name is taken.
pub fn branch_deployment_name_long(repo_name: &str, branch_name: &str) -> String {
    name_with_hash_len(repo_name, branch_name, 16)
}

fn name_with_hash_len(repo_name: &str, branch_name: &str, hex_len: usize) -> String {
    let hash = format!("{:016x}", fnv1a64(&format!("{repo_name}\n{branch_name}")));
    format!("{}-{}", slug(branch_name), &hash[..hex_len])
}

fn slug(branch_name: &str) -> String {
    let mut out = String::new();
    for c in branch_name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.truncate(MAX_SLUG_LEN);
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        "branch".to_owned()
    } else {
        trimmed.to_owned()
    }
}

// FNV-1a: tiny, and stable across runs and platforms (unlike `DefaultHasher`).
fn fnv1a64(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_slugs_with_a_hash() {
        let a = branch_deployment_name("acme/data-platform", "feature/x");
        assert_eq!(a, branch_deployment_name("acme/data-platform", "feature/x"));
        assert!(a.starts_with("feature-x-"), "{a}");
        assert_eq!(a.len(), "feature-x-".len() + 6);
        assert_ne!(a, branch_deployment_name("acme/other", "feature/x"));
        assert!(branch_deployment_name("r", "__//").starts_with("branch-"));
        let long = branch_deployment_name("r", &"Very-Long_Branch.Name/".repeat(10));
        assert!(long.len() <= 63 && !long.contains("--"), "{long}");
        assert!(long.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        assert_eq!(branch_deployment_name_long("r", "b").len(), "b-".len() + 16);
    }
}
