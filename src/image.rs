//! Container image references (`[registry/]repository[:tag][@digest]`), checked at plan time so that a typo
//! fails before anything is deployed rather than as a load error minutes later.

/// Why an image reference is malformed; `Ok` when it is well formed.
pub fn check_reference(reference: &str) -> Result<(), String> {
    if reference.is_empty() {
        return Err("the image reference is empty".into());
    }
    if reference.chars().any(char::is_whitespace) {
        return Err(format!("`{reference}` contains whitespace"));
    }
    let (name_and_tag, digest) = match reference.split_once('@') {
        Some((left, digest)) => (left, Some(digest)),
        None => (reference, None),
    };
    if let Some(digest) = digest {
        check_digest(digest).map_err(|why| format!("`{reference}`: {why}"))?;
    }
    // A tag follows the last ':' that comes after the last '/'; an earlier ':' is a registry port.
    let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
        Some(i) => (&name_and_tag[..last_slash + i], Some(&name_and_tag[last_slash + i + 1..])),
        None => (name_and_tag, None),
    };
    if let Some(tag) = tag {
        check_tag(tag).map_err(|why| format!("`{reference}`: {why}"))?;
    }
    let mut components: Vec<&str> = name.split('/').collect();
    if components.len() > 1 && looks_like_registry(components[0]) {
        check_registry(components[0]).map_err(|why| format!("`{reference}`: {why}"))?;
        components.remove(0);
    }
    for component in components {
        check_path_component(component).map_err(|why| format!("`{reference}`: {why}"))?;
    }
    Ok(())
}

/// A first component is a registry host when it has a dot or a port, or is `localhost`.
fn looks_like_registry(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

fn check_registry(registry: &str) -> Result<(), String> {
    let (host, port) = match registry.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (registry, None),
    };
    let host_ok = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if !host_ok {
        return Err(format!("`{registry}` is not a valid registry host"));
    }
    if let Some(port) = port {
        if port.parse::<u16>().is_err() {
            return Err(format!("`{port}` is not a valid registry port"));
        }
    }
    Ok(())
}

/// Repository path components: lowercase alphanumerics separated by `.`, `_`, `__` or dashes.
fn check_path_component(component: &str) -> Result<(), String> {
    let valid = !component.is_empty()
        && component.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        && component.starts_with(|c: char| c.is_ascii_alphanumeric())
        && component.ends_with(|c: char| c.is_ascii_alphanumeric());
    if valid {
        Ok(())
    } else if component.chars().any(|c| c.is_ascii_uppercase()) {
        Err(format!("repository path `{component}` must be lowercase"))
    } else {
        Err(format!("`{component}` is not a valid repository path component"))
    }
}

pub fn check_tag(tag: &str) -> Result<(), String> {
    let valid = !tag.is_empty()
        && tag.len() <= 128
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if valid {
        Ok(())
    } else {
        Err(format!("`{tag}` is not a valid tag (letters, digits, `_`, `.`, `-`; at most 128 characters)"))
    }
}

fn check_digest(digest: &str) -> Result<(), String> {
    match digest.split_once(':') {
        Some((algorithm, hex))
            if !algorithm.is_empty() && hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit()) =>
        {
            Ok(())
        }
        _ => Err(format!("`{digest}` is not a valid digest (expected `sha256:<hex>`)")),
    }
}

#[cfg(test)]
mod tests {
    use super::check_reference;

    #[test]
    fn accepts_common_references() {
        for ok in [
            "python:3.12-slim",
            "ghcr.io/acme/app:1.2.3",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/branch-app:4f2a1c9",
            "localhost:5000/app",
            "app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "registry.example.com:8443/team/app:latest",
        ] {
            assert_eq!(check_reference(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_malformed_references() {
        for bad in [
            "",
            "App:1",
            "app:",
            "app:bad tag",
            "ghcr.io//app",
            "app@sha256:xyz",
            "-app",
            "registry.example.com:port/app",
            "app:-x",
        ] {
            assert!(check_reference(bad).is_err(), "{bad} should be rejected");
        }
    }
}
