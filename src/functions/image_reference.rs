//! `image_reference(repository_url, tag_or_digest)`: the image a code location runs, from a registry's
//! `repository_url` and a tag (`url:tag`) or a `sha256:` digest (`url@sha256:…`), both checked, in place of
//! `"${url}:${tag}"` interpolations that only fail minutes later as a load error.

use cty::Type;
use tfplugin::{Function, FunctionError, Parameter, Signature};

pub struct ImageReference;

const DIGEST_PREFIX: &str = "sha256:";

/// `repository_url` must name a repository only: no tag, no digest.
fn check_repository(url: &str) -> Result<(), String> {
    crate::image::check_reference(url)?;
    let last = url.rsplit('/').next().unwrap_or(url);
    if url.contains('@') {
        Err(format!("`{url}` already has a digest; pass the repository only"))
    } else if last.contains(':') {
        Err(format!("`{url}` already has a tag; pass the repository only"))
    } else {
        Ok(())
    }
}

/// The separator to put between repository and `tag_or_digest`.
fn separator(tag_or_digest: &str) -> Result<char, String> {
    if let Some(hex) = tag_or_digest.strip_prefix(DIGEST_PREFIX) {
        let valid = hex.len() == 64 && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
        return if valid {
            Ok('@')
        } else {
            Err(format!("`{tag_or_digest}` is not a valid digest (expected `sha256:` and 64 lowercase hex digits)"))
        };
    }
    crate::image::check_tag(tag_or_digest)
        .map(|_| ':')
        .map_err(|why| format!("{why}; a digest is written `sha256:<64 hex digits>`"))
}

impl Function for ImageReference {
    type Args = (String, String);
    type Return = String;

    fn name(&self) -> &'static str {
        "image_reference"
    }

    fn signature(&self) -> Signature {
        Signature::new(
            "An image reference from a repository URL and a tag or digest",
            "Returns `repository_url:tag`, or `repository_url@sha256:…` when the second argument is a digest, after checking both: the URL must be a repository without tag or digest (e.g. `dagsterbranch_registry.images.repository_url`), the second a tag (letters, digits, `_`, `.`, `-`, at most 128) or `sha256:` followed by 64 lowercase hex digits. A bad argument fails the plan naming it.",
            Type::String,
        )
        .parameter(Parameter::new("repository_url", Type::String, "The repository, e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com/dagster/app` or `ghcr.io/acme/etl`."))
        .parameter(Parameter::new("tag_or_digest", Type::String, "A tag (e.g. the commit hash) or a `sha256:<64 hex>` digest."))
    }

    fn call(&self, (url, tag_or_digest): (String, String)) -> Result<String, FunctionError> {
        check_repository(&url).map_err(|why| FunctionError::argument(0, format!("repository_url: {why}")))?;
        let separator =
            separator(&tag_or_digest).map_err(|why| FunctionError::argument(1, format!("tag_or_digest: {why}")))?;
        Ok(format!("{url}{separator}{tag_or_digest}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(url: &str, second: &str) -> Result<String, FunctionError> {
        ImageReference.call((url.into(), second.into()))
    }

    #[test]
    fn joins_a_tag_with_a_colon_and_a_digest_with_an_at() {
        assert_eq!(call("ghcr.io/acme/etl", "4f2a1c9").unwrap(), "ghcr.io/acme/etl:4f2a1c9");
        assert_eq!(call("localhost:5000/app", "v1.2").unwrap(), "localhost:5000/app:v1.2");
        let digest = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(call("ghcr.io/acme/etl", &digest).unwrap(), format!("ghcr.io/acme/etl@{digest}"));
    }

    #[test]
    fn each_bad_argument_is_blamed_by_position() {
        for (url, second, argument) in [
            ("ghcr.io/acme/etl:1", "2", 0),
            ("ghcr.io/Acme/etl", "2", 0),
            ("ghcr.io/acme/etl@sha256:0123456789abcdef0123456789abcdef", "2", 0),
            ("ghcr.io/acme/etl", "sha256:abc", 1),
            ("ghcr.io/acme/etl", &format!("sha256:{}", "AB".repeat(32)), 1),
            ("ghcr.io/acme/etl", "bad tag", 1),
            ("ghcr.io/acme/etl", "", 1),
        ] {
            let error = call(url, second).unwrap_err();
            assert_eq!(error.argument, Some(argument), "{url} {second}: {}", error.text);
        }
    }
}
