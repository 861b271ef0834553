//! Ownership markers. The SDK retries every call after a transient network error, including creates whose
//! response was lost after AWS committed them; the retry then meets "already exists" for the provider's own
//! object. The provider tags what it creates so that such an object can be told apart from someone else's:
//! it adopts only an object whose marker names the same registry.

use std::collections::BTreeMap;

/// The marker's key; its value is the registry's repository name.
pub const OWNER_TAG: &str = "dagsterbranch:registry";

/// Tag keys with this prefix belong to the provider: users cannot set them, and tag reconciliation never
/// removes them.
pub const RESERVED_PREFIX: &str = "dagsterbranch:";

/// Whether the object was made by this call or found (made by an earlier attempt of this provider).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Created,
    Adopted,
}

/// `tags` plus the marker naming `registry`.
pub fn marked(tags: &BTreeMap<String, String>, registry: &str) -> BTreeMap<String, String> {
    let mut all = tags.clone();
    all.insert(OWNER_TAG.to_string(), registry.to_string());
    all
}

/// Whether the tags carry this registry's marker.
pub fn owned_by(tags: &BTreeMap<String, String>, registry: &str) -> bool {
    tags.get(OWNER_TAG).is_some_and(|owner| owner == registry)
}

pub fn is_reserved(key: &str) -> bool {
    key.starts_with(RESERVED_PREFIX)
}

/// The tags a user manages: everything but the provider's own keys, which never reach the `tags` attribute
/// (they would show as drift).
pub fn user_tags(tags: BTreeMap<String, String>) -> BTreeMap<String, String> {
    tags.into_iter().filter(|(k, _)| !is_reserved(k)).collect()
}

/// The tag changes that make `current` into `desired` plus the marker: keys to remove (never a reserved
/// one) and tags to set.
pub fn tag_changes(
    current: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
    registry: &str,
) -> (Vec<String>, BTreeMap<String, String>) {
    let desired = marked(desired, registry);
    let removed = current.keys().filter(|k| !is_reserved(k) && !desired.contains_key(*k)).cloned().collect();
    let changed = desired.into_iter().filter(|(k, v)| current.get(k) != Some(v)).collect();
    (removed, changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn reconciliation_keeps_and_restores_the_marker() {
        let current = map(&[("team", "data"), (OWNER_TAG, "dagster/app"), ("old", "x")]);
        let (removed, changed) = tag_changes(&current, &map(&[("team", "ml")]), "dagster/app");
        assert_eq!(removed, vec!["old".to_string()]);
        assert_eq!(changed, map(&[("team", "ml")]));

        // An object made before markers existed gets one.
        let (removed, changed) = tag_changes(&map(&[("team", "data")]), &map(&[("team", "data")]), "dagster/app");
        assert!(removed.is_empty());
        assert_eq!(changed, map(&[(OWNER_TAG, "dagster/app")]));
    }

    #[test]
    fn only_the_same_registry_owns() {
        assert!(owned_by(&marked(&BTreeMap::new(), "dagster/app"), "dagster/app"));
        assert!(!owned_by(&marked(&BTreeMap::new(), "dagster/other"), "dagster/app"));
        assert!(!owned_by(&map(&[("team", "data")]), "dagster/app"));
        assert_eq!(user_tags(map(&[("team", "data"), (OWNER_TAG, "dagster/app")])), map(&[("team", "data")]));
    }
}
