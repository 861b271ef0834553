//! Matching the failing-image pattern, where a regex engine would be more
//! dependency than the job needs.

/// A pattern with a wildcard is a glob over the whole text (`*` any run of
/// characters, `?` exactly one); without one it matches as a substring, so
/// `broken` catches `ghcr.io/acme/broken:1`.
pub fn pattern_matches(pattern: &str, text: &str) -> bool {
    if pattern.contains(['*', '?']) {
        matches(pattern, text)
    } else {
        text.contains(pattern)
    }
}

/// Shell-style wildcard matching over a whole string.
pub fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with backtracking to the last `*`: linear space and no
    // exponential blow-up on patterns like `*a*a*a*`.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((star_pi, star_ti)) = star {
            pi = star_pi + 1;
            ti = star_ti + 1;
            star = Some((star_pi, star_ti + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::{matches, pattern_matches};

    #[test]
    fn plain_patterns_are_substrings() {
        assert!(pattern_matches("broken", "ghcr.io/acme/broken:1"));
        assert!(!pattern_matches("broken", "ghcr.io/acme/etl:1"));
        assert!(pattern_matches("*:broken", "a:broken"));
        assert!(!pattern_matches("*:broken", "a:broken:2"));
    }

    #[test]
    fn wildcards() {
        assert!(matches("*:broken", "registry/app:broken"));
        assert!(!matches("*:broken", "registry/app:broken2"));
        assert!(matches("*fail*", "img/fail:1"));
        assert!(matches("img/?:1", "img/a:1"));
        assert!(!matches("img/?:1", "img/ab:1"));
        assert!(matches("exact", "exact"));
        assert!(!matches("exact", "exactly"));
        assert!(matches("*", ""));
        assert!(matches("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaab"));
        assert!(!matches("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaa"));
    }
}
