//! Validation messages in the wording of graphql-core, the library behind the
//! real Dagster+ server, for the mistake real clients make: an enum value in
//! the wrong case (`branch-deployment create-or-update --pull-request-status
//! closed` sends `"closed"`). async-graphql rejects the same documents; only
//! its wording differs, and clients and people match on the text.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::resolver_utils::EnumType;
use async_graphql::{Pos, ServerError};
use async_graphql_value::Value as AstValue;

use crate::model::{
    DeploymentAgentType, PermissionDeploymentScope, PermissionGrant, PullRequestStatus, SnapshotBaseDeploymentCondition,
};
use crate::schema::settings::CliEventType;

/// graphql-core offers at most this many suggestions.
const MAX_SUGGESTIONS: usize = 5;

/// Arguments whose value is exactly a variable (`branchData: $branchData`),
/// with the position async-graphql reports errors at (the argument name).
#[derive(Default)]
pub struct VariableArguments(Vec<(Pos, String, String)>);

pub fn variable_arguments(doc: &ExecutableDocument) -> VariableArguments {
    let mut out = Vec::new();
    for (_, op) in doc.operations.iter() {
        collect(&op.node.selection_set.node, &mut out);
    }
    for fragment in doc.fragments.values() {
        collect(&fragment.node.selection_set.node, &mut out);
    }
    VariableArguments(out)
}

fn collect(set: &SelectionSet, out: &mut Vec<(Pos, String, String)>) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                for (name, value) in &field.node.arguments {
                    if let AstValue::Variable(var) = &value.node {
                        out.push((name.pos, name.node.to_string(), var.to_string()));
                    }
                }
                collect(&field.node.selection_set.node, out);
            }
            Selection::InlineFragment(frag) => collect(&frag.node.selection_set.node, out),
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// Rewrites the enum-value errors among `errors` in place.
pub fn rewrite(errors: &mut [ServerError], vars: &VariableArguments) {
    for error in errors {
        if let Some(message) = enum_message(error, vars) {
            error.message = message;
        }
    }
}

// async-graphql: `Invalid value for argument "branchData.pullRequestStatus",
// enumeration type "PullRequestStatus" does not contain the value "closed"`.
fn enum_message(error: &ServerError, vars: &VariableArguments) -> Option<String> {
    let rest = error.message.strip_prefix("Invalid value for argument \"")?;
    let (path, rest) = rest.split_once("\", enumeration type \"")?;
    let (enum_name, rest) = rest.split_once("\" does not contain the value \"")?;
    let value = rest.strip_suffix('"')?;
    let core =
        format!("Value '{value}' does not exist in '{enum_name}' enum.{}", did_you_mean(value, enum_values(enum_name)));
    let (argument, sub_path) = match path.split_once('.') {
        Some((arg, sub)) => (arg, Some(sub)),
        None => (path, None),
    };
    let variable = error
        .locations
        .first()
        .and_then(|pos| vars.0.iter().find(|(p, arg, _)| p == pos && arg == argument).map(|(_, _, var)| var.as_str()));
    Some(match variable {
        // A literal in the document: graphql-core reports the bare enum error.
        None => core,
        Some(var) => {
            let at = sub_path.map(|sub| format!(" at '{var}{}'", python_path(sub))).unwrap_or_default();
            format!("Variable '${var}' got invalid value '{value}'{at}; {core}")
        }
    })
}

// `a.0.b` becomes `.a[0].b`, as graphql-core prints paths.
fn python_path(path: &str) -> String {
    path.split('.')
        .map(|seg| {
            if !seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit()) {
                format!("[{seg}]")
            } else {
                format!(".{seg}")
            }
        })
        .collect()
}

fn names<T: EnumType>() -> Vec<&'static str> {
    T::items().iter().map(|item| item.name).collect()
}

// The input enums of this schema (output-only enums never fail validation).
fn enum_values(name: &str) -> Vec<&'static str> {
    match name {
        "PullRequestStatus" => names::<PullRequestStatus>(),
        "SnapshotBaseDeploymentCondition" => names::<SnapshotBaseDeploymentCondition>(),
        "PermissionGrant" => names::<PermissionGrant>(),
        "PermissionDeploymentScope" => names::<PermissionDeploymentScope>(),
        "DeploymentAgentType" => names::<DeploymentAgentType>(),
        "CliEventType" => names::<CliEventType>(),
        _ => Vec::new(),
    }
}

/// graphql-core's `did_you_mean(suggestion_list(…), "the enum value")`.
fn did_you_mean(input: &str, options: Vec<&str>) -> String {
    let mut scored: Vec<(usize, &str)> =
        options.into_iter().filter_map(|option| lexical_distance(input, option).map(|d| (d, option))).collect();
    scored.sort();
    let quoted: Vec<String> = scored.iter().take(MAX_SUGGESTIONS).map(|(_, s)| format!("'{s}'")).collect();
    let list = match quoted.as_slice() {
        [] => return String::new(),
        [one] => one.clone(),
        [a, b] => format!("{a} or {b}"),
        [init @ .., last] => format!("{}, or {last}", init.join(", ")),
    };
    format!(" Did you mean the enum value {list}?")
}

/// graphql-core's `LexicalDistance.measure`: a case change counts as one edit,
/// otherwise the optimal-string-alignment distance on lower-cased text, or
/// `None` above the threshold (40% of the input's length, plus one).
fn lexical_distance(input: &str, option: &str) -> Option<usize> {
    if input == option {
        return Some(0);
    }
    let threshold = input.chars().count() * 2 / 5 + 1;
    let a: Vec<char> = input.to_lowercase().chars().collect();
    let b: Vec<char> = option.to_lowercase().chars().collect();
    if a == b {
        return Some(1);
    }
    let distance = osa_distance(&a, &b);
    (distance <= threshold).then_some(distance)
}

fn osa_distance(a: &[char], b: &[char]) -> usize {
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(message: &str, line: usize, column: usize) -> ServerError {
        ServerError::new(message, Some(Pos { line, column }))
    }

    #[test]
    fn enum_errors_read_like_graphql_core() {
        let doc = async_graphql::parser::parse_query(
            "mutation M($branchData: In!) {\n  f(branchData: $branchData, s: organization) { x }\n}",
        )
        .unwrap();
        let vars = variable_arguments(&doc);
        let mut errors = vec![
            error("Invalid value for argument \"branchData.pullRequestStatus\", enumeration type \"PullRequestStatus\" does not contain the value \"closed\"", 2, 5),
            error("Invalid value for argument \"s\", enumeration type \"PermissionDeploymentScope\" does not contain the value \"organization\"", 2, 30),
            error("Unknown field \"x\"", 2, 50),
        ];
        rewrite(&mut errors, &vars);
        assert_eq!(
            errors[0].message,
            "Variable '$branchData' got invalid value 'closed' at 'branchData.pullRequestStatus'; Value 'closed' does not exist in 'PullRequestStatus' enum. Did you mean the enum value 'CLOSED'?"
        );
        assert_eq!(
            errors[1].message,
            "Value 'organization' does not exist in 'PermissionDeploymentScope' enum. Did you mean the enum value 'ORGANIZATION'?"
        );
        assert_eq!(errors[2].message, "Unknown field \"x\"");
    }

    #[test]
    fn suggestions_follow_the_lexical_distance() {
        assert_eq!(did_you_mean("closed", vec!["OPEN", "CLOSED", "MERGED"]), " Did you mean the enum value 'CLOSED'?");
        assert_eq!(did_you_mean("zzzzzz", vec!["OPEN"]), "");
        assert_eq!(did_you_mean("AGENTS", vec!["AGENT", "ADMIN"]), " Did you mean the enum value 'AGENT'?");
        assert_eq!(
            did_you_mean("merge", vec!["MERGED", "MERGER", "OPEN"]),
            " Did you mean the enum value 'MERGED' or 'MERGER'?"
        );
        assert_eq!(python_path("a.0.b"), ".a[0].b");
    }
}
