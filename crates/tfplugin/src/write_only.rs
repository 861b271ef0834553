//! Write-only attributes (protocol 6.8, Terraform ≥ 1.11): values that come in configuration only and are
//! never stored. Terraform sends them in `ApplyResourceChange.config` (and in the config of validate and
//! plan), never in a plan or state, and refuses a planned or new state that holds one.
//!
//! The layer keeps that contract for every resource: planned and recorded states have every write-only
//! attribute null, and during apply the planned model a resource gets carries the configured write-only
//! values, so `create` and `update` read them like any other attribute. Clients that do not announce the
//! capability (Terraform before 1.11) would treat the attribute as an ordinary one and store it, so a
//! configuration that sets one is refused at validate.

use cty::{Path, Value};

use crate::diag::{Diagnostic, Diagnostics};
use crate::schema::{Block, Nesting};

/// Refuses every non-null write-only attribute of `config`: for clients without write-only support.
pub(crate) fn refuse_for_old_clients(block: &Block, config: &Value, path: &Path, diags: &mut Diagnostics) {
    if config.is_null() || !config.is_known() {
        return;
    }
    for attribute in block.attributes.iter().filter(|a| a.write_only) {
        if config.get(&attribute.name).is_none_or(Value::is_null) {
            continue;
        }
        let instead = match &attribute.stored_alternative {
            Some(alternative) => format!("use `{alternative}` instead (it is stored in state), or "),
            None => String::new(),
        };
        diags.push(
            Diagnostic::error(
                format!("Write-only argument `{}` needs Terraform 1.11 or later", attribute.name),
                format!(
                    "`{}` is write-only: it must never be stored, but this version of Terraform does not know write-only arguments and would save it in state and plan files. Remove it and {instead}upgrade to Terraform 1.11 or later (OpenTofu 1.11 or later).",
                    attribute.name
                ),
            )
            .at(path.attr(&attribute.name)),
        );
    }
    for_each_nested(block, config, path, &mut |nested, item, item_path| {
        refuse_for_old_clients(nested, item, item_path, diags)
    });
}

/// Sets every write-only attribute of `value` to null, in nested blocks too.
pub(crate) fn null_out(block: &Block, value: &mut Value) {
    let Value::Object(attrs) = value else { return };
    for attribute in block.attributes.iter().filter(|a| a.write_only) {
        if let Some(v) = attrs.get_mut(&attribute.name) {
            *v = Value::Null;
        }
    }
    for nested in &block.blocks {
        let Some(items) = attrs.get_mut(&nested.name) else { continue };
        match items {
            Value::List(list) | Value::Set(list) => list.iter_mut().for_each(|item| null_out(&nested.block, item)),
            Value::Map(map) => map.values_mut().for_each(|item| null_out(&nested.block, item)),
            item => null_out(&nested.block, item),
        }
    }
}

/// `planned` with the write-only values of `config` filled in: what a resource's `create` and `update` get.
/// Nested blocks are matched by position (single and list nesting); write-only attributes in set or map
/// blocks have no stable counterpart and stay null.
pub(crate) fn with_config_values(block: &Block, planned: &Value, config: &Value) -> Value {
    let mut out = planned.clone();
    fill(block, &mut out, config);
    out
}

fn fill(block: &Block, planned: &mut Value, config: &Value) {
    let Value::Object(attrs) = planned else { return };
    for attribute in block.attributes.iter().filter(|a| a.write_only) {
        if let Some(configured) = config.get(&attribute.name) {
            attrs.insert(attribute.name.clone(), configured.clone());
        }
    }
    for nested in &block.blocks {
        let (Some(items), Some(configured)) = (attrs.get_mut(&nested.name), config.get(&nested.name)) else {
            continue;
        };
        match (nested.nesting, items, configured) {
            (Nesting::Single | Nesting::Group, item, configured) => fill(&nested.block, item, configured),
            (Nesting::List, Value::List(items), Value::List(configured)) => {
                items.iter_mut().zip(configured).for_each(|(item, c)| fill(&nested.block, item, c))
            }
            _ => {}
        }
    }
}

/// Calls `visit` for every item of every nested block of a configuration value, with its path.
fn for_each_nested(block: &Block, value: &Value, path: &Path, visit: &mut dyn FnMut(&Block, &Value, &Path)) {
    for nested in &block.blocks {
        let Some(items) = value.get(&nested.name) else { continue };
        let block_path = path.attr(&nested.name);
        match items {
            Value::List(list) => {
                list.iter().enumerate().for_each(|(i, item)| visit(&nested.block, item, &block_path.index(i as i64)))
            }
            // Set elements have no addressable path in the protocol; point at the block itself.
            Value::Set(list) => list.iter().for_each(|item| visit(&nested.block, item, &block_path)),
            Value::Map(map) => map.iter().for_each(|(key, item)| visit(&nested.block, item, &block_path.key(key))),
            item => visit(&nested.block, item, &block_path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Attribute, NestedBlock};
    use cty::Type;

    fn block() -> Block {
        Block::new("t")
            .attribute(Attribute::optional("token", Type::String, "stored").sensitive())
            .attribute(
                Attribute::optional("token_wo", Type::String, "not stored").write_only().stored_alternative("token"),
            )
            .block(NestedBlock::new(
                "inner",
                Nesting::Single,
                Block::new("i").attribute(Attribute::optional("key_wo", Type::String, "k").write_only()),
            ))
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    fn config() -> Value {
        obj(&[
            ("token", Value::Null),
            ("token_wo", Value::from("agent:o:secret")),
            ("inner", obj(&[("key_wo", Value::from("k1"))])),
        ])
    }

    #[test]
    fn old_clients_are_refused_naming_the_attribute_and_its_alternative() {
        let mut diags = Diagnostics::new();
        refuse_for_old_clients(&block(), &config(), &Path::root(), &mut diags);
        let found: Vec<_> = diags.iter().collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].path, Some(Path::root().attr("token_wo")));
        assert!(found[0].detail.contains("use `token` instead") && found[0].detail.contains("1.11"));
        assert_eq!(found[1].path, Some(Path::root().attr("inner").attr("key_wo")));
        assert!(!found[0].detail.contains("agent:o:secret"), "the value is never quoted");

        let mut unset = config();
        null_out(&block(), &mut unset);
        let mut diags = Diagnostics::new();
        refuse_for_old_clients(&block(), &unset, &Path::root(), &mut diags);
        assert!(diags.is_empty(), "a configuration without write-only values is fine on every client");
    }

    #[test]
    fn states_never_hold_write_only_values_and_apply_sees_them() {
        let mut planned = config();
        null_out(&block(), &mut planned);
        assert!(planned.get("token_wo").unwrap().is_null());
        assert!(planned.get("inner").unwrap().get("key_wo").unwrap().is_null());

        let handed = with_config_values(&block(), &planned, &config());
        assert_eq!(handed, config());
    }
}
