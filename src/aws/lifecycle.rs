//! The repository's lifecycle policy, rendered from two settings. The rules always come in the same order
//! with the same priorities, so a re-render of unchanged settings is byte-identical (no drift).

use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LifecycleRules {
    pub expire_untagged_after_days: Option<i64>,
    pub keep_last_images: Option<i64>,
}

impl LifecycleRules {
    /// The policy text, or `None` when no rule is set (the repository then has no lifecycle policy).
    pub fn render(&self) -> Option<String> {
        let mut rules = Vec::new();
        // ECR requires a rule with `tagStatus: any` to have the highest priority number, so it comes last.
        if let Some(days) = self.expire_untagged_after_days {
            rules.push(json!({
                "rulePriority": rules.len() + 1,
                "description": format!("Expire untagged images {days} days after push"),
                "selection": { "tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": days },
                "action": { "type": "expire" },
            }));
        }
        if let Some(count) = self.keep_last_images {
            rules.push(json!({
                "rulePriority": rules.len() + 1,
                "description": format!("Keep only the {count} most recent images"),
                "selection": { "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": count },
                "action": { "type": "expire" },
            }));
        }
        if rules.is_empty() {
            None
        } else {
            Some(json!({ "rules": rules }).to_string())
        }
    }

    /// Recovers the settings from a policy this provider rendered (used on import). Any other policy gives
    /// `None`; the rendered text then differs and the next apply replaces it.
    pub fn parse(text: &str) -> Option<LifecycleRules> {
        let policy: Value = serde_json::from_str(text).ok()?;
        let mut rules = LifecycleRules::default();
        for rule in policy["rules"].as_array()? {
            let selection = &rule["selection"];
            let number = selection["countNumber"].as_i64()?;
            match (selection["tagStatus"].as_str()?, selection["countType"].as_str()?) {
                ("untagged", "sinceImagePushed") => rules.expire_untagged_after_days = Some(number),
                ("any", "imageCountMoreThan") => rules.keep_last_images = Some(number),
                _ => return None,
            }
        }
        let rendered = rules.render()?;
        super::policy::same_json(&rendered, text).then_some(rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rules_in_a_fixed_order() {
        let both = LifecycleRules { expire_untagged_after_days: Some(7), keep_last_images: Some(50) };
        let text = both.render().unwrap();
        let policy: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(policy["rules"][0]["rulePriority"], 1);
        assert_eq!(policy["rules"][0]["selection"]["tagStatus"], "untagged");
        assert_eq!(policy["rules"][1]["rulePriority"], 2);
        assert_eq!(policy["rules"][1]["selection"]["tagStatus"], "any");
        assert_eq!(text, both.render().unwrap());
        assert!(text.len() >= 100, "ECR rejects policies under 100 characters");
        assert_eq!(LifecycleRules::parse(&text), Some(both));
    }

    #[test]
    fn single_rules_and_none() {
        assert_eq!(LifecycleRules::default().render(), None);
        let keep = LifecycleRules { keep_last_images: Some(3), ..Default::default() };
        let text = keep.render().unwrap();
        assert!(text.len() >= 100);
        assert_eq!(LifecycleRules::parse(&text), Some(keep));
        assert_eq!(
            LifecycleRules::parse(
                r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":1}}]}"#
            ),
            None
        );
    }
}
