//! Names the root fields a GraphQL request selects, for counters and logs.

use std::collections::BTreeSet;

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};

/// Fragments may spread each other; this bounds a malicious cycle (validation
/// rejects cycles anyway, but we walk the document before validation).
const MAX_FRAGMENT_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootSelection {
    pub operation_name: Option<String>,
    /// `query`, `mutation` or `subscription`.
    pub kind: &'static str,
    pub fields: BTreeSet<String>,
}

impl RootSelection {
    /// Counter keys such as `mutation.createAgentToken`.
    pub fn counter_keys(&self) -> impl Iterator<Item = String> + '_ {
        self.fields.iter().map(move |f| format!("{}.{f}", self.kind))
    }
}

/// The operation the request will execute, mirroring GraphQL's selection rule:
/// by name when given, otherwise the only operation in the document.
pub fn root_selection(doc: &ExecutableDocument, operation_name: Option<&str>) -> Option<RootSelection> {
    let mut operations = doc.operations.iter();
    let (name, op) = match operation_name {
        Some(wanted) => operations.find(|(name, _)| name.map(|n| n.as_str()) == Some(wanted))?,
        None => {
            let first = operations.next()?;
            if operations.next().is_some() {
                return None;
            }
            first
        }
    };
    let kind = match op.node.ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    let mut fields = BTreeSet::new();
    collect(doc, &op.node.selection_set.node, 0, &mut fields);
    Some(RootSelection { operation_name: name.map(|n| n.to_string()), kind, fields })
}

fn collect(doc: &ExecutableDocument, set: &SelectionSet, depth: usize, out: &mut BTreeSet<String>) {
    if depth > MAX_FRAGMENT_DEPTH {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                // `__typename` and introspection are not API operations.
                if !name.starts_with("__") {
                    out.insert(name.to_owned());
                }
            }
            Selection::InlineFragment(frag) => collect(doc, &frag.node.selection_set.node, depth + 1, out),
            Selection::FragmentSpread(spread) => {
                if let Some(def) = doc.fragments.get(&spread.node.fragment_name.node) {
                    collect(doc, &def.node.selection_set.node, depth + 1, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fields_through_fragments() {
        let doc = async_graphql::parser::parse_query(
            "query A { ...F x: fullDeployments { deploymentId } __typename } \
             fragment F on CloudQuery { currentDeployment { deploymentId } } \
             mutation B { createAgentToken { __typename } }",
        )
        .unwrap();
        let a = root_selection(&doc, Some("A")).unwrap();
        assert_eq!(a.counter_keys().collect::<Vec<_>>(), ["query.currentDeployment", "query.fullDeployments"]);
        let b = root_selection(&doc, Some("B")).unwrap();
        assert_eq!(b.kind, "mutation");
        assert!(root_selection(&doc, None).is_none());
    }
}
