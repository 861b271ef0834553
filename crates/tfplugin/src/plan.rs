//! The schema-driven part of PlanResourceChange, which every resource shares: defaults, "known after apply"
//! for computed values, write-only nulling, UseStateForUnknown and RequiresReplace. Resources refine the
//! result in `Resource::modify_plan`.

use cty::{Path, Value};

use crate::schema::{Block, Nesting};

/// The plan as values: what `plan_change` made of Terraform's proposal, before the resource refines it.
#[derive(Debug)]
pub(crate) struct ProposedPlan {
    /// Null when the object is being created.
    pub(crate) prior: Value,
    pub(crate) config: Value,
    pub(crate) planned: Value,
    pub(crate) requires_replace: Vec<Path>,
}

/// Computes the planned state from Terraform's proposed new state. Returns the planned value and the paths
/// whose change forces replacement.
pub fn plan_change(block: &Block, prior: &Value, proposed: &Value, config: &Value) -> (Value, Vec<Path>) {
    if proposed.is_null() {
        return (Value::Null, Vec::new());
    }
    let mut planned = proposed.clone();
    apply_defaults(block, config, &mut planned);
    apply_semantic_equality(block, if prior.is_null() { None } else { Some(prior) }, config, &mut planned);
    let changed = prior.is_null() || planned != *prior;
    mark_unknowns(block, if prior.is_null() { None } else { Some(prior) }, config, &mut planned, changed);
    let mut replace = Vec::new();
    if !prior.is_null() {
        collect_replacements(block, prior, &planned, &Path::root(), &mut replace);
    }
    (planned, replace)
}

fn attrs_mut(value: &mut Value) -> Option<&mut std::collections::BTreeMap<String, Value>> {
    match value {
        Value::Object(attrs) => Some(attrs),
        _ => None,
    }
}

fn config_is_null(config: &Value, name: &str) -> bool {
    config.get(name).is_none_or(Value::is_null)
}

pub(crate) fn apply_defaults(block: &Block, config: &Value, planned: &mut Value) {
    let Some(attrs) = attrs_mut(planned) else { return };
    for attribute in &block.attributes {
        if attribute.write_only {
            attrs.insert(attribute.name.clone(), Value::Null);
        } else if let Some(default) = &attribute.default {
            if config_is_null(config, &attribute.name) {
                attrs.insert(attribute.name.clone(), default.clone());
            }
        }
    }
    for nested in &block.blocks {
        let (Some(planned_items), Some(config_items)) = (attrs.get_mut(&nested.name), config.get(&nested.name)) else {
            continue;
        };
        match (nested.nesting, planned_items, config_items) {
            (Nesting::Single | Nesting::Group, planned_item, config_item) => {
                apply_defaults(&nested.block, config_item, planned_item)
            }
            (Nesting::List, Value::List(planned_list), Value::List(config_list)) => {
                for (planned_item, config_item) in planned_list.iter_mut().zip(config_list) {
                    apply_defaults(&nested.block, config_item, planned_item);
                }
            }
            _ => {}
        }
    }
}

/// Attributes compared by meaning plan their prior value when the configured one means the same, and null
/// when configuration leaves them out (being optional+computed, they would otherwise keep the prior value).
fn apply_semantic_equality(block: &Block, prior: Option<&Value>, config: &Value, planned: &mut Value) {
    let Some(attrs) = attrs_mut(planned) else { return };
    for attribute in &block.attributes {
        let Some(same) = &attribute.semantic_equality else { continue };
        let configured = config.get(&attribute.name).cloned().unwrap_or(Value::Null);
        let prior_value = prior.and_then(|p| p.get(&attribute.name)).filter(|v| !v.is_null());
        let value = match prior_value {
            Some(old) if !configured.is_null() && configured.is_wholly_known() && same.same(&configured, old) => {
                old.clone()
            }
            _ => configured,
        };
        attrs.insert(attribute.name.clone(), value);
    }
    for nested in &block.blocks {
        let (Some(planned_items), Some(config_items)) = (attrs.get_mut(&nested.name), config.get(&nested.name)) else {
            continue;
        };
        let prior_items = prior.and_then(|p| p.get(&nested.name));
        match (nested.nesting, planned_items, config_items) {
            (Nesting::Single | Nesting::Group, planned_item, config_item) => {
                apply_semantic_equality(&nested.block, prior_items.filter(|p| !p.is_null()), config_item, planned_item)
            }
            (Nesting::List, Value::List(planned_list), Value::List(config_list)) => {
                let prior_list = match prior_items {
                    Some(Value::List(items)) => items.as_slice(),
                    _ => &[],
                };
                for (i, (planned_item, config_item)) in planned_list.iter_mut().zip(config_list).enumerate() {
                    apply_semantic_equality(&nested.block, prior_list.get(i), config_item, planned_item);
                }
            }
            _ => {}
        }
    }
}

/// Computed attributes the provider will set become unknown: all of them on create, and on update those
/// that may change because something else did (unless they keep their prior value by design).
fn mark_unknowns(block: &Block, prior: Option<&Value>, config: &Value, planned: &mut Value, changed: bool) {
    let Some(attrs) = attrs_mut(planned) else { return };
    for attribute in &block.attributes {
        if !attribute.presence.is_computed()
            || attribute.default.is_some()
            || attribute.semantic_equality.is_some()
            || !config_is_null(config, &attribute.name)
        {
            continue;
        }
        let prior_value = prior.and_then(|p| p.get(&attribute.name));
        let keep = match prior_value {
            None => false,
            // Nothing changed: every prior value stands, null ones included.
            Some(_) if !changed => true,
            Some(v) if v.is_null() => false,
            Some(_) => attribute.use_state_for_unknown,
        };
        if !keep {
            attrs.insert(attribute.name.clone(), Value::unknown());
        }
    }
    for nested in &block.blocks {
        let (Some(planned_items), Some(config_items)) = (attrs.get_mut(&nested.name), config.get(&nested.name)) else {
            continue;
        };
        let prior_items = prior.and_then(|p| p.get(&nested.name));
        match (nested.nesting, planned_items, config_items) {
            (Nesting::Single | Nesting::Group, planned_item, config_item) if !planned_item.is_null() => {
                let prior_item = prior_items.filter(|p| !p.is_null());
                let item_changed = prior_item.is_none_or(|p| p != planned_item);
                mark_unknowns(&nested.block, prior_item, config_item, planned_item, item_changed);
            }
            (Nesting::List, Value::List(planned_list), Value::List(config_list)) => {
                let prior_list = match prior_items {
                    Some(Value::List(items)) => items.as_slice(),
                    _ => &[],
                };
                for (i, (planned_item, config_item)) in planned_list.iter_mut().zip(config_list).enumerate() {
                    let prior_item = prior_list.get(i);
                    let item_changed = prior_item.is_none_or(|p| p != planned_item);
                    mark_unknowns(&nested.block, prior_item, config_item, planned_item, item_changed);
                }
            }
            _ => {}
        }
    }
}

fn collect_replacements(block: &Block, prior: &Value, planned: &Value, path: &Path, out: &mut Vec<Path>) {
    for attribute in block.attributes.iter().filter(|a| a.requires_replace) {
        let before = prior.get(&attribute.name).unwrap_or(&Value::Null);
        let after = planned.get(&attribute.name).unwrap_or(&Value::Null);
        // An unknown planned value may still turn out equal; Terraform expects replacement to be declared
        // whenever it cannot be ruled out.
        if before != after || !after.is_wholly_known() {
            out.push(path.attr(&attribute.name));
        }
    }
    for nested in &block.blocks {
        let (Some(before), Some(after)) = (prior.get(&nested.name), planned.get(&nested.name)) else { continue };
        match (nested.nesting, before, after) {
            (Nesting::Single | Nesting::Group, b, a) if !b.is_null() && !a.is_null() => {
                collect_replacements(&nested.block, b, a, &path.attr(&nested.name), out)
            }
            (Nesting::List, Value::List(b), Value::List(a)) => {
                for (i, (b, a)) in b.iter().zip(a).enumerate() {
                    collect_replacements(&nested.block, b, a, &path.attr(&nested.name).index(i as i64), out);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Attribute, Block};
    use cty::Type;
    use std::collections::BTreeMap;

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<BTreeMap<_, _>>())
    }

    fn s(v: &str) -> Value {
        Value::String(v.to_string())
    }

    fn block() -> Block {
        Block::new("test")
            .attribute(Attribute::computed("id", Type::String, "id").use_state_for_unknown())
            .attribute(Attribute::computed("etag", Type::String, "changes on every update"))
            .attribute(Attribute::required("name", Type::String, "name").requires_replace())
            .attribute(Attribute::optional("note", Type::String, "note"))
            .attribute(Attribute::optional("mode", Type::String, "mode").default(s("fast")))
    }

    #[test]
    fn create_marks_computed_unknown_and_applies_defaults() {
        let config = obj(&[
            ("id", Value::Null),
            ("etag", Value::Null),
            ("name", s("a")),
            ("note", Value::Null),
            ("mode", Value::Null),
        ]);
        let (planned, replace) = plan_change(&block(), &Value::Null, &config, &config);
        assert!(!planned.get("id").unwrap().is_known());
        assert!(!planned.get("etag").unwrap().is_known());
        assert_eq!(planned.get("mode"), Some(&s("fast")));
        assert!(replace.is_empty());
    }

    #[test]
    fn unchanged_update_keeps_prior_values() {
        let prior =
            obj(&[("id", s("1")), ("etag", s("e1")), ("name", s("a")), ("note", Value::Null), ("mode", s("fast"))]);
        let config = obj(&[
            ("id", Value::Null),
            ("etag", Value::Null),
            ("name", s("a")),
            ("note", Value::Null),
            ("mode", Value::Null),
        ]);
        let (planned, replace) = plan_change(&block(), &prior, &prior, &config);
        assert_eq!(planned, prior);
        assert!(replace.is_empty());
    }

    #[test]
    fn unchanged_update_keeps_null_computed_values() {
        let prior =
            obj(&[("id", s("1")), ("etag", Value::Null), ("name", s("a")), ("note", Value::Null), ("mode", s("fast"))]);
        let config = obj(&[
            ("id", Value::Null),
            ("etag", Value::Null),
            ("name", s("a")),
            ("note", Value::Null),
            ("mode", Value::Null),
        ]);
        let (planned, _) = plan_change(&block(), &prior, &prior, &config);
        assert_eq!(planned, prior);
        assert!(planned.get("etag").unwrap().is_known());
    }

    #[test]
    fn in_place_change_keeps_stable_ids_and_unknowns_the_rest() {
        let prior =
            obj(&[("id", s("1")), ("etag", s("e1")), ("name", s("a")), ("note", Value::Null), ("mode", s("fast"))]);
        let proposed =
            obj(&[("id", s("1")), ("etag", s("e1")), ("name", s("a")), ("note", s("hi")), ("mode", s("fast"))]);
        let config = obj(&[
            ("id", Value::Null),
            ("etag", Value::Null),
            ("name", s("a")),
            ("note", s("hi")),
            ("mode", Value::Null),
        ]);
        let (planned, replace) = plan_change(&block(), &prior, &proposed, &config);
        assert_eq!(planned.get("id"), Some(&s("1")));
        assert!(!planned.get("etag").unwrap().is_known());
        assert!(replace.is_empty());
    }

    #[test]
    fn replacing_attribute_is_reported() {
        let prior =
            obj(&[("id", s("1")), ("etag", s("e1")), ("name", s("a")), ("note", Value::Null), ("mode", s("fast"))]);
        let proposed =
            obj(&[("id", s("1")), ("etag", s("e1")), ("name", s("b")), ("note", Value::Null), ("mode", s("fast"))]);
        let (_, replace) = plan_change(&block(), &prior, &proposed, &proposed);
        assert_eq!(replace, vec![Path::root().attr("name")]);
    }

    #[test]
    fn equal_meaning_keeps_the_prior_spelling_and_no_change() {
        let block = Block::new("t")
            .attribute(Attribute::computed("etag", Type::String, "changes on update"))
            .attribute(Attribute::optional("doc", Type::String, "doc").semantic_equality(|a, b| {
                a.as_str().map(|s| s.replace(' ', "")) == b.as_str().map(|s| s.replace(' ', ""))
            }));
        let prior = obj(&[("etag", s("e1")), ("doc", s("{\"a\": 1}"))]);
        let config = obj(&[("etag", Value::Null), ("doc", s("{\"a\":1}"))]);
        let proposed = obj(&[("etag", s("e1")), ("doc", s("{\"a\":1}"))]);
        let (planned, _) = plan_change(&block, &prior, &proposed, &config);
        assert_eq!(planned, prior, "an equivalent value must plan no change at all");

        let removed = obj(&[("etag", Value::Null), ("doc", Value::Null)]);
        let (planned, _) = plan_change(&block, &prior, &prior, &removed);
        assert!(planned.get("doc").unwrap().is_null(), "removing it from configuration removes it");
    }

    #[test]
    fn destroy_plans_null() {
        let prior = obj(&[("id", s("1"))]);
        let (planned, _) = plan_change(&block(), &prior, &Value::Null, &Value::Null);
        assert!(planned.is_null());
    }
}
