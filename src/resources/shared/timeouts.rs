//! The `timeouts` block: how long an operation may wait, written as `90s`, `30m` or `1h30m`.

use std::time::Duration;

use tfplugin::{Attribute, Block, NestedBlock, Nesting, Validator};

/// The `timeouts` block's model; resources declare the operations they wait in (see [`block`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Timeouts {
    pub create: Option<String>,
    pub update: Option<String>,
    pub delete: Option<String>,
}

/// Which operation's timeout to take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

impl Timeouts {
    /// The configured timeout of `operation`, else `default`. Values were validated at plan time.
    pub fn of(timeouts: Option<&Timeouts>, operation: Operation, default: Duration) -> Duration {
        let configured = timeouts.and_then(|t| match operation {
            Operation::Create => t.create.as_deref(),
            Operation::Update => t.update.as_deref(),
            Operation::Delete => t.delete.as_deref(),
        });
        configured_or(configured, default)
    }
}

/// A configured timeout (validated at plan time), else `default`: for blocks that have only some operations,
/// such as the agent's `create`-only one.
pub fn configured_or(configured: Option<&str>, default: Duration) -> Duration {
    configured.and_then(|text| parse_duration(text).ok()).unwrap_or(default)
}

/// The `timeouts` block with an attribute per operation in `operations` (operation, description).
pub fn block(description: &str, operations: &[(Operation, &str)]) -> NestedBlock {
    let mut block = Block::new(description);
    for (operation, text) in operations {
        let name = match operation {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
        };
        block = block.attribute(
            Attribute::optional(name, cty::Type::String, text)
                .validator(Validator::string("a duration like `90s`, `30m` or `1h`", |s| {
                    parse_duration(s).map(|_| ())
                })),
        );
    }
    NestedBlock::new("timeouts", Nesting::Single, block)
}

/// `90s`, `30m`, `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("`{text}` is not a duration; use forms like `90s`, `30m` or `1h30m`.");
    let mut total = 0u64;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(invalid()),
        };
        let amount: u64 = digits.parse().map_err(|_| invalid())?;
        total = amount.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(invalid)?;
        digits.clear();
    }
    if !digits.is_empty() || text.is_empty() {
        return Err(invalid());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_fall_back() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("5d").is_err());
        let timeouts = Timeouts { create: Some("90s".into()), ..Timeouts::default() };
        let default = Duration::from_secs(600);
        assert_eq!(Timeouts::of(Some(&timeouts), Operation::Create, default), Duration::from_secs(90));
        assert_eq!(Timeouts::of(Some(&timeouts), Operation::Delete, default), default);
        assert_eq!(Timeouts::of(None, Operation::Update, default), default);
    }
}
