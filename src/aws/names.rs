//! Naming rules of ECR and IAM, checked at plan time (AWS checks them only at apply, and moto not at all),
//! and the IAM user name derived from a repository name.

/// ECR repository names: 2–256 characters, `/`-separated segments of lowercase letters and digits joined
/// by single `.`, `_` or `-`.
pub fn check_repository_name(name: &str) -> Result<(), String> {
    let len = name.chars().count();
    if !(2..=256).contains(&len) {
        return Err(format!("`{name}` has {len} characters; ECR repository names have 2 to 256."));
    }
    for segment in name.split('/') {
        if !valid_segment(segment) {
            return Err(format!(
                "`{name}` is not a valid ECR repository name: use lowercase letters and digits, separated by single `.`, `_` or `-`, in `/`-separated parts that start and end with a letter or digit (for example `dagster/branch-123`)."
            ));
        }
    }
    Ok(())
}

fn valid_segment(segment: &str) -> bool {
    let mut previous_was_separator = true; // a segment must start with a letter or digit
    for c in segment.chars() {
        let alnum = c.is_ascii_lowercase() || c.is_ascii_digit();
        let separator = matches!(c, '.' | '_' | '-');
        let allowed = alnum || (separator && !previous_was_separator);
        if !allowed {
            return false;
        }
        previous_was_separator = separator;
    }
    !segment.is_empty() && !previous_was_separator
}

/// IAM user names: 1–64 characters from letters, digits and `_+=,.@-`.
pub fn check_user_name(name: &str) -> Result<(), String> {
    let len = name.chars().count();
    if !(1..=64).contains(&len) {
        return Err(format!("`{name}` has {len} characters; IAM user names have 1 to 64."));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c))) {
        return Err(format!("`{name}` contains `{bad}`; IAM user names allow letters, digits and `_+=,.@-`."));
    }
    Ok(())
}

/// IAM paths: `/` or `/segments/`, at most 512 printable ASCII characters.
pub fn check_user_path(path: &str) -> Result<(), String> {
    let printable = path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c));
    if path.len() > 512 || !printable || !path.starts_with('/') || !path.ends_with('/') {
        return Err(format!(
            "`{path}` is not an IAM path: it must start and end with `/` (for example `/dagster/`), use printable ASCII without spaces and have at most 512 characters."
        ));
    }
    Ok(())
}

const USER_SUFFIX: &str = "-ecr-push";
const MAX_USER_NAME: usize = 64;

/// The IAM user name used when `user.name` is not configured: the repository name with `/` turned into `+`
/// (which ECR names never contain, so distinct repositories get distinct users) and `-ecr-push` appended.
/// Names longer than IAM's 64 characters are cut and made unique again with a hash of the full name.
pub fn derived_user_name(repository: &str) -> String {
    let base = repository.replace('/', "+");
    let full = format!("{base}{USER_SUFFIX}");
    if full.len() <= MAX_USER_NAME {
        return full;
    }
    let hash = format!("{:08x}", fnv1a(repository.as_bytes()) as u32);
    let keep = MAX_USER_NAME - USER_SUFFIX.len() - hash.len() - 1;
    // Repository names are ASCII, so cutting at a byte index is safe.
    let head = base[..keep].trim_end_matches(['+', '.', '_', '-']);
    format!("{head}-{hash}{USER_SUFFIX}")
}

/// FNV-1a: stable across builds and platforms, which is all a name suffix needs.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names() {
        for ok in ["ab", "dagster/branch-abc", "a.b_c-d/e1", "x/y/z9"] {
            assert!(check_repository_name(ok).is_ok(), "{ok}");
        }
        for bad in ["a", "Bad_Name", "a//b", "/ab", "ab/", "a--b", "-ab", "ab-", "a b", "ab@c"] {
            assert!(check_repository_name(bad).is_err(), "{bad}");
        }
        assert!(check_repository_name(&"a".repeat(257)).is_err());
        assert!(check_repository_name(&"a".repeat(256)).is_ok());
    }

    #[test]
    fn user_names_and_paths() {
        assert!(check_user_name("ci+push=1,x.y@z-w_v").is_ok());
        assert!(check_user_name("has space").is_err());
        assert!(check_user_name(&"u".repeat(65)).is_err());
        assert!(check_user_path("/").is_ok());
        assert!(check_user_path("/dagster/ci/").is_ok());
        assert!(check_user_path("nopath").is_err());
        assert!(check_user_path("/a b/").is_err());
    }

    #[test]
    fn derived_names_are_valid_distinct_and_stable() {
        assert_eq!(derived_user_name("dagster/branch-abc"), "dagster+branch-abc-ecr-push");
        assert_ne!(derived_user_name("a/b"), derived_user_name("a-b"));
        let long_a = format!("team/{}", "a".repeat(200));
        let long_b = format!("team/{}b", "a".repeat(199));
        let (a, b) = (derived_user_name(&long_a), derived_user_name(&long_b));
        assert_ne!(a, b);
        assert_eq!(a, derived_user_name(&long_a));
        for name in [a, b, derived_user_name(&"x".repeat(256))] {
            assert!(name.len() <= 64, "{name}");
            check_user_name(&name).unwrap();
        }
    }
}
