use dagster_plus_schema::{operations, validate_document, OperationType, Schema};

use super::*;

#[test]
fn every_operation_fits_the_real_schema() {
    let real = Schema::real();
    let problems: Vec<String> = OPERATIONS
        .iter()
        .flat_map(|operation| validate_document(&real, operation.document))
        .map(|problem| problem.to_string())
        .collect();
    assert!(problems.is_empty(), "documents that do not fit the real Dagster+ schema:\n{}", problems.join("\n"));
}

#[test]
fn each_declaration_names_its_documents_single_operation() {
    for operation in OPERATIONS {
        let headers = operations(operation.document).unwrap_or_else(|e| panic!("{}: {e}", operation.name));
        let [header] = headers.as_slice() else {
            panic!("{}: {} operations in one document", operation.name, headers.len())
        };
        assert_eq!(header.name.as_deref(), Some(operation.name));
        let expected = if operation.is_mutation() { OperationType::Mutation } else { OperationType::Query };
        assert_eq!(header.kind, expected, "{}", operation.name);
    }
    let mut names: Vec<_> = OPERATIONS.iter().map(|o| o.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), OPERATIONS.len(), "an operation is registered twice");
}

#[test]
fn only_creating_an_agent_token_is_not_repeatable() {
    let not_repeatable: Vec<_> = OPERATIONS.iter().filter(|o| !o.is_repeatable()).map(|o| o.name).collect();
    assert_eq!(not_repeatable, ["CreateAgentToken"]);
}

#[test]
fn every_graphql_file_is_part_of_a_registered_operation() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/dagster/graphql");
    let mut files = 0;
    for entry in std::fs::read_dir(&directory).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(
            path.extension().and_then(|e| e.to_str()),
            Some("graphql"),
            "{} is not a .graphql file",
            path.display()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            OPERATIONS.iter().any(|operation| operation.document.contains(&text)),
            "{} is not used by any operation in OPERATIONS, so nothing checks it",
            path.display()
        );
        files += 1;
    }
    assert!(files >= OPERATIONS.len());
    // Each operation's own file comes first and carries its name.
    for operation in OPERATIONS {
        let own = std::fs::read_to_string(directory.join(format!("{}.graphql", operation.name))).unwrap();
        assert!(operation.document.starts_with(&own), "{} does not start with its own file", operation.name);
    }
}
