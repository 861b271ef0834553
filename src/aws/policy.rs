//! The push-only inline policy of the CI user, and the JSON helpers shared with the lifecycle policy.

use serde_json::{json, Value};

/// Name of the inline policy on the CI user.
pub const POLICY_NAME: &str = "dagsterbranch-ecr-push";

/// What a push needs on the repository. `ecr:GetAuthorizationToken` is separate because it has no
/// resource-level permission.
pub const PUSH_ACTIONS: [&str; 5] = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
];

/// Lets clients read manifests (docker/buildx may look up an existing tag while pushing). Layer blobs stay
/// unreadable, so images still cannot be pulled.
pub const MANIFEST_READ_ACTION: &str = "ecr:BatchGetImage";

/// The inline policy for pushing to one repository. `repository_arn` must be the ARN the ECR API returned,
/// so that the partition (`aws`, `aws-cn`, `aws-us-gov`) and the path are right.
pub fn push_policy(repository_arn: &str, allow_manifest_read: bool) -> String {
    let mut actions: Vec<&str> = PUSH_ACTIONS.to_vec();
    if allow_manifest_read {
        actions.push(MANIFEST_READ_ACTION);
    }
    json!({
        "Version": "2012-10-17",
        "Statement": [
            { "Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*" },
            { "Sid": "EcrPush", "Effect": "Allow", "Action": actions, "Resource": repository_arn },
        ],
    })
    .to_string()
}

/// Whether a policy document (as read back from IAM) grants manifest reads; used on import.
pub fn grants_manifest_read(document: &str) -> bool {
    let Ok(policy) = serde_json::from_str::<Value>(document) else { return false };
    let statements = match &policy["Statement"] {
        Value::Array(items) => items.clone(),
        single => vec![single.clone()],
    };
    statements.iter().any(|s| match &s["Action"] {
        Value::String(a) => a == MANIFEST_READ_ACTION,
        Value::Array(items) => items.iter().any(|a| a == MANIFEST_READ_ACTION),
        _ => false,
    })
}

/// Whether two JSON documents mean the same (key order and whitespace aside). Unparsable text compares as
/// text.
pub fn same_json(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// IAM returns policy documents URL-encoded (RFC 3986); the SDK hands them over as they are.
pub fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const ARN: &str = "arn:aws-cn:ecr:cn-north-1:123456789012:repository/dagster/branch-abc";

    /// aws.md §2.6, layer 1: the document alone proves push-only and the scoping to one repository.
    fn assert_push_only(document: &str, allow_manifest_read: bool) {
        let policy: Value = serde_json::from_str(document).expect("valid JSON");
        assert_eq!(policy["Version"], "2012-10-17");
        let statements = policy["Statement"].as_array().expect("a statement list");
        assert_eq!(statements.len(), 2, "exactly two statements");
        for statement in statements {
            assert_eq!(statement["Effect"], "Allow");
            let keys: BTreeSet<&str> = statement.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                BTreeSet::from(["Sid", "Effect", "Action", "Resource"]),
                "no NotAction, NotResource, Principal or Condition"
            );
        }
        assert_eq!(statements[0]["Action"], "ecr:GetAuthorizationToken");
        assert_eq!(statements[0]["Resource"], "*");
        let actions: BTreeSet<&str> =
            statements[1]["Action"].as_array().expect("action list").iter().map(|a| a.as_str().unwrap()).collect();
        let mut expected: BTreeSet<&str> = PUSH_ACTIONS.into_iter().collect();
        if allow_manifest_read {
            expected.insert(MANIFEST_READ_ACTION);
        }
        assert_eq!(actions, expected);
        assert!(actions.iter().all(|a| a.starts_with("ecr:") && !a.contains('*')), "no wildcard, iam: or sts: action");
        assert_eq!(statements[1]["Resource"], ARN, "scoped to the repository ARN as returned by the API");
    }

    #[test]
    fn strict_policy_is_push_only_on_one_repository() {
        let document = push_policy(ARN, false);
        assert_push_only(&document, false);
        assert!(!grants_manifest_read(&document));
        assert!(document.len() < 2048, "fits IAM's inline policy limit");
    }

    #[test]
    fn manifest_read_adds_exactly_batch_get_image() {
        let document = push_policy(ARN, true);
        assert_push_only(&document, true);
        assert!(grants_manifest_read(&document));
    }

    #[test]
    fn rendering_is_stable() {
        assert_eq!(push_policy(ARN, true), push_policy(ARN, true));
    }

    #[test]
    fn decodes_iam_documents() {
        let encoded = "%7B%22Version%22%3A%20%222012-10-17%22%7D";
        assert_eq!(url_decode(encoded), r#"{"Version": "2012-10-17"}"#);
        assert_eq!(url_decode("100%"), "100%");
        assert_eq!(url_decode("%zz"), "%zz");
        assert!(same_json(&url_decode(encoded), r#"{ "Version":"2012-10-17" }"#));
    }
}
