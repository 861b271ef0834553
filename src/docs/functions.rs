//! `docs/functions/<name>.md`: one page per provider-defined function, from the same `Signature` the provider
//! serves, with `examples/functions/<name>/function.tf` embedded.

use std::fmt::Write as _;

use cty::Type;
use tfplugin::{FunctionHandle, Parameter};

use super::{code, finish, front_matter, type_label, Examples, PROVIDER};

/// How the Terraform version requirement reads on every function page.
const REQUIREMENT: &str =
    "Provider-defined functions need Terraform 1.8 or later; older versions refuse a configuration \
that calls one, while configurations that do not call one keep working.";

/// Object types spelt out attribute by attribute, so the page shows the result's shape.
fn long_type(ty: &Type) -> String {
    match ty {
        Type::List(inner) => format!("List of {}", long_type(inner)),
        Type::Map(inner) => format!("Map of {}", long_type(inner)),
        Type::Object(object) => {
            let fields: Vec<String> =
                object.attributes.iter().map(|(name, ty)| format!("`{name}` ({})", type_label(ty))).collect();
            format!("Object with {}", fields.join(", "))
        }
        other => type_label(other),
    }
}

fn argument_line(out: &mut String, position: usize, parameter: &Parameter, variadic: bool) {
    let mut notes = vec![type_label(&parameter.ty)];
    if parameter.allow_null {
        notes.push("Nullable".into());
    }
    if variadic {
        notes.push("Variadic".into());
    }
    let _ = writeln!(out, "{position}. `{}` ({}) {}", parameter.name, notes.join(", "), parameter.description.trim());
}

pub(super) fn page(function: &FunctionHandle, examples: &Examples, problems: &mut Vec<String>) -> String {
    let name = function.name();
    let signature = function.signature();
    if signature.summary.trim().is_empty() || signature.description.trim().is_empty() {
        problems.push(format!("function {name} has no summary or description"));
    }
    let mut out = front_matter(&format!("{name} function - {PROVIDER}"), &signature.summary);
    let _ = write!(out, "# function: {name}\n\n{}\n\n{REQUIREMENT}\n\n", signature.description.trim());
    out.push_str("## Example Usage\n\n");
    if let Some(text) = examples.file(&format!("functions/{name}/function.tf"), true, problems) {
        code(&mut out, "terraform", &text);
    }
    out.push_str("## Signature\n\n");
    let mut parameters: Vec<String> =
        signature.parameters.iter().map(|p| format!("{} {}", p.name, type_label(&p.ty).to_lowercase())).collect();
    if let Some(v) = &signature.variadic {
        parameters.push(format!("{}... {}", v.name, type_label(&v.ty).to_lowercase()));
    }
    let call = format!(
        "provider::{PROVIDER}::{name}({}) {}",
        parameters.join(", "),
        type_label(&signature.return_type).to_lowercase()
    );
    code(&mut out, "text", &call);
    out.push_str("## Arguments\n\n");
    for (index, parameter) in signature.parameters.iter().enumerate() {
        argument_line(&mut out, index + 1, parameter, false);
    }
    if let Some(variadic) = &signature.variadic {
        argument_line(&mut out, signature.parameters.len() + 1, variadic, true);
    }
    for parameter in signature.parameters.iter().chain(&signature.variadic) {
        if parameter.description.trim().is_empty() {
            problems.push(format!("function {name}: argument `{}` has no description", parameter.name));
        }
    }
    let _ = write!(out, "\n## Return Type\n\n{}\n", long_type(&signature.return_type));
    finish(out)
}
