//! The page of an action (`docs/actions/`): what an action is and how it is run, the example, and the
//! arguments of its `config` block.

use std::fmt::Write as _;

use tfplugin::Schema;

use super::{code, finish, front_matter, render_block, Examples, Kind, PROVIDER};

pub(super) fn action_page(name: &str, schema: &Schema, examples: &Examples, problems: &mut Vec<String>) -> String {
    let description = &schema.block.description;
    let mut out = front_matter(&format!("{name} Action - {PROVIDER}"), description);
    let _ = write!(out, "# {name} (Action)\n\n{}\n\n", description.trim());
    let _ = write!(
        out,
        "An action is declared with an `action` block (Terraform 1.14 and later; older versions refuse the block) \
         and changes Dagster+ without keeping anything in state. Run it with \
         `terraform apply -invoke=action.{name}.NAME`, or from a resource's `lifecycle {{ action_trigger {{ … }} }}`. \
         It prints a line of progress as it goes.\n\n"
    );
    out.push_str("## Example Usage\n\n");
    if let Some(text) = examples.file(&format!("actions/{name}/action.tf"), true, problems) {
        code(&mut out, "terraform", &text);
    }
    out.push_str("## Schema\n\nThe arguments of the `config` block:\n\n");
    render_block(&mut out, &schema.block, "", Kind::ListConfig);
    finish(out)
}
