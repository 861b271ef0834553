//! Compares a schema a stand-in server serves with the real one: whatever the stand-in offers must exist in
//! production with the same shape, so a client that works against the stand-in asks only for what is real.

use crate::schema::{Schema, TypeDef, BUILT_IN_SCALARS};
use crate::Problem;

/// Every way the types of `served_sdl` differ from the real schema's. `allowlist` names what is served but
/// absent from the real schema as recorded and is there for a reason the record cannot judge, each with that
/// reason: a type (`Name`), a field (`Type.field`) or an argument (`Type.field(argument)`). An entry that
/// excuses nothing is a problem too, so the list stays as short as it can be.
pub fn surface_problems(real: &Schema, served_sdl: &str, allowlist: &[(&str, &str)]) -> Vec<Problem> {
    let served = match Schema::parse(served_sdl) {
        Ok(served) => served,
        Err(e) => return vec![Problem::new("served schema", "", format!("does not parse: {e}"))],
    };
    // Each problem with whether it is an absence, the only kind an allowlist entry excuses.
    let mut found: Vec<(Problem, bool)> = Vec::new();
    for (root, served_root, real_root) in [
        ("query", Some(&served.query), Some(&real.query)),
        ("mutation", served.mutation.as_ref(), real.mutation.as_ref()),
    ] {
        if served_root.is_some() && served_root != real_root {
            let message = format!(
                "the {root} root is `{}`, the real one `{}`",
                served_root.map_or("", |r| r),
                real_root.map_or("none", |r| r)
            );
            found.push((Problem::new("served schema", "", message), false));
        }
    }
    for (name, def) in &served.types {
        if name.starts_with("__") || BUILT_IN_SCALARS.contains(&name.as_str()) {
            continue;
        }
        match real.types.get(name) {
            None => found.push((Problem::new(name, "", "the real schema (as recorded) has no such type".into()), true)),
            Some(real_def) => compare(name, def, real_def, &mut found),
        }
    }
    let mut used = vec![false; allowlist.len()];
    let mut problems = Vec::new();
    for (problem, absent) in found {
        let subject = match problem.path.is_empty() {
            true => problem.context.clone(),
            false => format!("{}.{}", problem.context, problem.path),
        };
        match allowlist.iter().position(|(entry, _)| absent && *entry == subject) {
            Some(index) => used[index] = true,
            None => problems.push(problem),
        }
    }
    for ((entry, _), _) in allowlist.iter().zip(used).filter(|(_, used)| !used) {
        problems.push(Problem::new(entry, "", "is allowlisted, but nothing served needs it: remove it".to_string()));
    }
    problems
}

fn compare(name: &str, served: &TypeDef, real: &TypeDef, found: &mut Vec<(Problem, bool)>) {
    // `absent`: the real type lacks what is served (rather than having it in another shape).
    let mut problem =
        |path: String, absent: bool, message: String| found.push((Problem::new(name, &path, message), absent));
    if served.kind != real.kind {
        return problem(String::new(), false, format!("is of kind {}, the real one {}", served.kind, real.kind));
    }
    if real.stub {
        // Only the kind is recorded; there is nothing more to compare.
        return;
    }
    for interface in served.interfaces.iter().filter(|i| !real.interfaces.contains(i)) {
        problem(String::new(), false, format!("implements `{interface}`, the real one does not"));
    }
    for member in served.members.iter().filter(|m| !real.members.contains(m)) {
        problem(
            String::new(),
            false,
            format!("has member `{member}`, the real union does not ({})", real.members.join(" | ")),
        );
    }
    for value in served.values.iter().filter(|v| !real.values.contains(v)) {
        problem(
            String::new(),
            false,
            format!("has value `{value}`, the real enum does not ({})", real.values.join(", ")),
        );
    }
    for (field, input) in &served.input_fields {
        match real.input_fields.get(field) {
            None => problem(field.clone(), true, "the real input has no such field".to_string()),
            Some(real_input) if real_input.ty != input.ty => {
                problem(field.clone(), false, format!("is `{}`, the real one `{}`", input.ty, real_input.ty))
            }
            Some(_) => {}
        }
    }
    for (field, definition) in &served.fields {
        let Some(real_field) = real.fields.get(field) else {
            problem(field.clone(), true, format!("the real `{name}` has no such field"));
            continue;
        };
        if real_field.ty != definition.ty {
            problem(field.clone(), false, format!("is `{}`, the real one `{}`", definition.ty, real_field.ty));
        }
        for (argument, input) in &definition.args {
            let path = format!("{field}({argument})");
            match real_field.args.get(argument) {
                None if input.is_required() => {
                    problem(path, true, "is required, but the real field has no such argument".to_string())
                }
                None => problem(path, true, "the real field has no such argument".to_string()),
                Some(real_input) if real_input.ty != input.ty => {
                    problem(path, false, format!("is `{}`, the real one `{}`", input.ty, real_input.ty))
                }
                Some(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = "schema { query: Q mutation: M }
type Q { item(id: Int!): ItemOrError! status: Status! }
type M { noop: Boolean }
union ItemOrError = Item | PythonError
type Item { id: Int! name: String }
type PythonError { message: String! }
enum Status { ON OFF }
input Filter { name: String }
type Run @stub";

    fn problems(served: &str, allowlist: &[(&str, &str)]) -> Vec<String> {
        let real = Schema::parse(REAL).unwrap();
        surface_problems(&real, served, allowlist).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_faithful_subset_has_no_problems() {
        let served = "schema { query: Q mutation: M }
type Q { item(id: Int!): ItemOrError! }
type M { noop: Boolean }
union ItemOrError = Item
type Item { id: Int! }
type Run { anything: String }
enum Status { ON }
input Filter { name: String }";
        assert_eq!(problems(served, &[]), Vec::<String>::new());
    }

    #[test]
    fn field_type_argument_member_value_and_kind_mismatches_are_named() {
        let served = "schema { query: Q mutation: M }
type Q { item(id: String!, extra: Int!): ItemOrError status: Status! }
type M { noop: Boolean }
union ItemOrError = Item | OtherError
type OtherError { message: String! }
type Item { id: Int! nam: String }
enum Status { ON MAYBE }
type Filter { name: String }";
        let found = problems(served, &[]);
        for expected in [
            "Q: item: is `ItemOrError`, the real one `ItemOrError!`",
            "Q: item(id): is `String!`, the real one `Int!`",
            "Q: item(extra): is required, but the real field has no such argument",
            "ItemOrError: has member `OtherError`, the real union does not (Item | PythonError)",
            "OtherError: the real schema (as recorded) has no such type",
            "Item: nam: the real `Item` has no such field",
            "Status: has value `MAYBE`, the real enum does not (ON, OFF)",
            "Filter: is of kind OBJECT, the real one INPUT_OBJECT",
        ] {
            assert!(found.iter().any(|p| p == expected), "{expected:?} not in {found:#?}");
        }
        assert_eq!(found.len(), 8, "{found:#?}");
    }

    #[test]
    fn the_allowlist_excuses_unknown_types_and_stays_minimal() {
        let served =
            "schema { query: Q } type Q { item(id: Int!): ItemOrError! } type Item { id: Int! } type Extra { x: Int }";
        assert_eq!(
            problems(served, &[("Extra", "reached only through a root field outside the record")]),
            Vec::<String>::new()
        );
        let stale = problems(served, &[("Extra", "why"), ("Item", "why"), ("Gone", "why")]);
        assert_eq!(
            stale,
            [
                "Item: is allowlisted, but nothing served needs it: remove it",
                "Gone: is allowlisted, but nothing served needs it: remove it"
            ]
        );
        // Fields and arguments, by `Type.field` and `Type.field(argument)`; only their absence is excused.
        let served = "schema { query: Q } type Q { item(id: String!, since: Float): ItemOrError! extra: Int }";
        let allowlist = [("Q.extra", "why"), ("Q.item(since)", "why"), ("Q.item(id)", "why")];
        assert_eq!(
            problems(served, &allowlist),
            [
                "Q: item(id): is `String!`, the real one `Int!`",
                "Q.item(id): is allowlisted, but nothing served needs it: remove it"
            ]
        );
    }
}
