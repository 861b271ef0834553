//! Checks an executable document against a schema, for the rules that a misspelling or a difference between
//! the schema a client was written against and the real one breaks: fields, arguments and their types,
//! variables, enum literals, fragments and selection sets.

use std::collections::BTreeSet;
use std::collections::HashMap;

use async_graphql_parser::types::{BaseType, ExecutableDocument, Field, OperationType, Selection, SelectionSet, Type};
use async_graphql_value::Value;

use crate::schema::{named, Kind, Schema, TypeDef};
use crate::Problem;

/// An operation's name and kind, as the document declares them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationHeader {
    pub name: Option<String>,
    pub kind: OperationType,
}

/// The operations a document declares, sorted by name.
pub fn operations(document: &str) -> Result<Vec<OperationHeader>, String> {
    let document = async_graphql_parser::parse_query(document).map_err(|e| e.to_string())?;
    let mut headers: Vec<OperationHeader> = document
        .operations
        .iter()
        .map(|(name, op)| OperationHeader { name: name.map(|n| n.to_string()), kind: op.node.ty })
        .collect();
    headers.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(headers)
}

/// Every way the document's operations do not fit the schema; empty when they all do.
pub fn validate_document(schema: &Schema, document: &str) -> Vec<Problem> {
    let parsed = match async_graphql_parser::parse_query(document) {
        Ok(parsed) => parsed,
        Err(e) => return vec![Problem::new("document", "", format!("does not parse: {e}"))],
    };
    let mut operations: Vec<_> = parsed.operations.iter().collect();
    operations.sort_by_key(|(name, _)| name.map(|n| n.to_string()));
    let mut problems = Vec::new();
    let mut spread = BTreeSet::new();
    for (name, operation) in operations {
        let mut check = Check {
            schema,
            document: &parsed,
            operation: name.map_or_else(|| "(anonymous operation)".to_string(), |n| n.to_string()),
            variables: HashMap::new(),
            used_variables: BTreeSet::new(),
            fragment_stack: Vec::new(),
            spread: &mut spread,
            problems: Vec::new(),
        };
        check.operation(operation.node.ty, &operation.node);
        problems.extend(check.problems);
    }
    let mut unused: Vec<_> = parsed.fragments.keys().filter(|f| !spread.contains(f.as_str())).collect();
    unused.sort();
    for fragment in unused {
        problems.push(Problem::new("document", "", format!("fragment `{fragment}` is never used")));
    }
    problems
}

struct Check<'a, 's> {
    schema: &'a Schema,
    document: &'a ExecutableDocument,
    operation: String,
    /// Each declared variable's type and whether it has a default value.
    variables: HashMap<String, (Type, bool)>,
    used_variables: BTreeSet<String>,
    /// The fragments being expanded, against a fragment that spreads itself.
    fragment_stack: Vec<String>,
    spread: &'s mut BTreeSet<String>,
    problems: Vec<Problem>,
}

impl Check<'_, '_> {
    fn problem(&mut self, path: &str, message: String) {
        self.problems.push(Problem::new(&self.operation, path, message));
    }

    fn operation(&mut self, kind: OperationType, operation: &async_graphql_parser::types::OperationDefinition) {
        let schema = self.schema;
        for variable in &operation.variable_definitions {
            let (name, ty) = (variable.node.name.node.to_string(), &variable.node.var_type.node);
            match schema.types.get(named(ty)) {
                None => self.problem("", format!("`${name}` is declared `{ty}`, but there is no type `{}`", named(ty))),
                Some(def) if !def.kind.is_input() => self.problem(
                    "",
                    format!("`${name}` is declared `{ty}`, but `{}` is not a scalar, enum or input object", named(ty)),
                ),
                Some(_) => {}
            }
            self.variables.insert(name, (ty.clone(), variable.node.default_value.is_some()));
        }
        let root = match kind {
            OperationType::Query => Some(&schema.query),
            OperationType::Mutation => schema.mutation.as_ref(),
            OperationType::Subscription => None,
        };
        match root.filter(|root| schema.types.contains_key(*root)) {
            Some(root) => self.selection_set(root, &operation.selection_set.node, ""),
            None => self.problem("", format!("the schema has no {kind} root type")),
        }
        let mut unused: Vec<_> = self.variables.keys().filter(|v| !self.used_variables.contains(*v)).cloned().collect();
        unused.sort();
        for variable in unused {
            self.problem("", format!("`${variable}` is declared but never used"));
        }
    }

    fn selection_set(&mut self, parent: &str, set: &SelectionSet, path: &str) {
        let (schema, document) = (self.schema, self.document);
        // A parent that does not exist was reported where it was named.
        let Some(def) = schema.types.get(parent) else { return };
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => self.field(parent, def, &field.node, path),
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    self.spread.insert(name.to_string());
                    let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) else {
                        self.problem(path, format!("fragment `{name}` is not defined"));
                        continue;
                    };
                    if self.fragment_stack.iter().any(|f| f == name) {
                        self.problem(path, format!("fragment `{name}` spreads itself"));
                        continue;
                    }
                    let on = fragment.node.type_condition.node.on.node.as_str();
                    if self.applies(parent, on, path, &format!("fragment `{name}` on `{on}`")) {
                        self.fragment_stack.push(name.to_string());
                        self.selection_set(on, &fragment.node.selection_set.node, path);
                        self.fragment_stack.pop();
                    }
                }
                Selection::InlineFragment(inline) => {
                    let on = inline.node.type_condition.as_ref().map_or(parent, |c| c.node.on.node.as_str());
                    if self.applies(parent, on, path, &format!("inline fragment on `{on}`")) {
                        self.selection_set(on, &inline.node.selection_set.node, path);
                    }
                }
            }
        }
    }

    /// Whether a fragment on `on` can apply where a `parent` is selected: the same type, a member of the
    /// union, an implementor of the interface (or, the other way round, an abstract type it belongs to).
    fn applies(&mut self, parent: &str, on: &str, path: &str, what: &str) -> bool {
        let schema = self.schema;
        let Some(def) = schema.types.get(on) else {
            self.problem(path, format!("{what}: there is no type `{on}`"));
            return false;
        };
        if !def.kind.is_composite() {
            self.problem(path, format!("{what}: `{on}` is not an object, interface or union"));
            return false;
        }
        if !schema.possible_types(parent).is_disjoint(&schema.possible_types(on)) {
            return true;
        }
        let why = match schema.types.get(parent).map(|p| p.kind) {
            Some(Kind::Union) => format!("`{on}` is not a member of union `{parent}`"),
            Some(Kind::Interface) => format!("`{on}` does not implement interface `{parent}`"),
            _ => format!("a `{parent}` is never a `{on}`"),
        };
        self.problem(path, format!("{what} can never apply: {why}"));
        false
    }

    fn field(&mut self, parent: &str, def: &TypeDef, field: &Field, path: &str) {
        let schema = self.schema;
        let name = field.name.node.as_str();
        let here = if path.is_empty() { name.to_string() } else { format!("{path}.{name}") };
        let selects = !field.selection_set.node.items.is_empty();
        if name == "__typename" {
            if selects {
                self.problem(&here, "`__typename` is a String, a leaf that takes no selection".to_string());
            }
            return;
        }
        if def.stub {
            let message = format!("`{parent}` is recorded without its fields, so `{name}` cannot be checked");
            return self.problem(&here, message);
        }
        if def.kind == Kind::Union {
            let message = format!(
                "`{parent}` is a union: only `__typename` can be selected on it directly; select `{name}` in a fragment on a member"
            );
            return self.problem(&here, message);
        }
        let Some(definition) = def.fields.get(name) else {
            return self.problem(&here, format!("`{parent}` has no field `{name}`"));
        };
        for (argument, value) in &field.arguments {
            let argument = argument.node.as_str();
            match definition.args.get(argument) {
                None => self.problem(&here, format!("`{name}` has no argument `{argument}`")),
                Some(input) => {
                    self.value(&value.node, &input.ty, input.has_default, &here, &format!("argument `{argument}`"))
                }
            }
        }
        for (argument, input) in &definition.args {
            if input.is_required() && field.get_argument(argument).is_none() {
                self.problem(&here, format!("required argument `{argument}: {}` is missing", input.ty));
            }
        }
        let result = named(&definition.ty);
        let Some(result_def) = schema.types.get(result) else {
            let message = format!(
                "`{result}`, the type of `{name}`, is not in the schema as recorded, so `{name}` cannot be checked"
            );
            return self.problem(&here, message);
        };
        let ty = &definition.ty;
        match (result_def.kind.is_composite(), selects) {
            (true, true) => self.selection_set(result, &field.selection_set.node, &here),
            (true, false) => {
                self.problem(&here, format!("`{name}` is a `{ty}`, which needs a selection of its fields"))
            }
            (false, true) => self.problem(&here, format!("`{name}` is a `{ty}`, a leaf that takes no selection")),
            (false, false) => {}
        }
    }

    /// Checks a value given where `expected` goes (an argument or an input object field).
    fn value(&mut self, value: &Value, expected: &Type, has_default: bool, here: &str, what: &str) {
        match value {
            Value::Variable(variable) => {
                self.used_variables.insert(variable.to_string());
                match self.variables.get(variable.as_str()) {
                    None => self.problem(here, format!("{what} uses `${variable}`, which is not declared")),
                    Some((declared, declared_default)) => {
                        if !fits(declared, expected, has_default || *declared_default) {
                            let message = format!("{what} is `{expected}`, but `${variable}` is declared `{declared}`");
                            self.problem(here, message);
                        }
                    }
                }
            }
            Value::Null if !expected.nullable => self.problem(here, format!("{what} is `{expected}`, not nullable")),
            Value::Null => {}
            Value::List(items) => match &expected.base {
                BaseType::List(inner) => items.iter().for_each(|item| self.value(item, inner, false, here, what)),
                BaseType::Named(_) => self.problem(here, format!("{what} is `{expected}`, not a list")),
            },
            // A single value where a list goes counts as a list of one.
            _ => match &expected.base {
                BaseType::List(inner) => self.value(value, inner, false, here, what),
                BaseType::Named(ty) => self.literal(value, ty, here, what),
            },
        }
    }

    fn literal(&mut self, value: &Value, ty: &str, here: &str, what: &str) {
        let Some(def) = self.schema.types.get(ty) else { return };
        match (def.kind, value) {
            (Kind::Enum, Value::Enum(literal)) if !def.values.iter().any(|v| v == literal.as_str()) => {
                let values = def.values.join(", ");
                self.problem(here, format!("{what}: `{literal}` is not a value of enum `{ty}` ({values})"));
            }
            (Kind::Enum, Value::Enum(_)) => {}
            (Kind::Enum, _) => self.problem(here, format!("{what} is the enum `{ty}`; give one of its values")),
            (_, Value::Enum(literal)) => self.problem(here, format!("{what} is `{ty}`, not an enum: `{literal}`")),
            (Kind::InputObject, Value::Object(fields)) => {
                for (key, field_value) in fields {
                    match def.input_fields.get(key.as_str()) {
                        None => self.problem(here, format!("{what}: input `{ty}` has no field `{key}`")),
                        Some(input) => {
                            let what = format!("{what}.{key}");
                            self.value(field_value, &input.ty, input.has_default, here, &what)
                        }
                    }
                }
                for (key, input) in &def.input_fields {
                    if input.is_required() && !fields.keys().any(|k| k.as_str() == key) {
                        self.problem(here, format!("{what}: required field `{key}` of input `{ty}` is missing"));
                    }
                }
            }
            (Kind::InputObject, _) => self.problem(here, format!("{what} is the input object `{ty}`")),
            (Kind::Scalar, _) => {
                let fits = match ty {
                    "Int" => matches!(value, Value::Number(n) if n.is_i64()),
                    "Float" => matches!(value, Value::Number(_)),
                    "String" => matches!(value, Value::String(_)),
                    "ID" => matches!(value, Value::String(_) | Value::Number(_)),
                    "Boolean" => matches!(value, Value::Boolean(_)),
                    // Custom scalars (GenericScalar, JSONString, …) take any literal.
                    _ => true,
                };
                if !fits {
                    self.problem(here, format!("{what} is `{ty}`; the literal {value} does not fit"));
                }
            }
            _ => {}
        }
    }
}

/// Whether a variable of type `variable` may be used where `location` goes: the same type, or a non-null
/// one where a nullable one goes, at every list level. A default makes a non-null location accept a
/// nullable variable.
fn fits(variable: &Type, location: &Type, has_default: bool) -> bool {
    if !location.nullable && variable.nullable && !has_default {
        return false;
    }
    match (&variable.base, &location.base) {
        (BaseType::Named(a), BaseType::Named(b)) => a == b,
        (BaseType::List(a), BaseType::List(b)) => fits(a, b, false),
        _ => false,
    }
}

#[cfg(test)]
#[path = "document_tests.rs"]
mod tests;
