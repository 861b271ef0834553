//! `terraform-provider-dagsterbranch docs`: renders the registry documentation tree (`docs/index.md`,
//! `docs/resources/`, `docs/data-sources/`, `docs/ephemeral-resources/`, `docs/list-resources/`,
//! `docs/functions/`, `docs/actions/`) from the same `Schema` values and function signatures the provider
//! serves to Terraform, with the files under `examples/` embedded. Rendering from the in-process schema
//! (instead of `terraform providers schema -json`) keeps defaults, replacement and validation rules, which
//! the protocol does not carry, in the pages.
//!
//! `docs/guides/` is written by hand and only read here (for the index's list of guides).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use cty::{Type, Value};
use tfplugin::{Attribute, Block, IdentitySchema, NestedBlock, Nesting, Presence, Provider as _, Schema};

use crate::provider::{self, DagsterBranchProvider};

mod action_page;
mod functions;

const PROVIDER: &str = "dagsterbranch";

/// The directories the generator owns; anything else under `docs/` is left alone.
const GENERATED_DIRS: [&str; 6] =
    ["resources", "data-sources", "ephemeral-resources", "list-resources", "functions", "actions"];

/// The rendered tree: paths relative to `docs/`, and whatever is missing to make it complete.
pub struct Rendered {
    pub pages: BTreeMap<PathBuf, String>,
    /// Missing descriptions and missing examples; the check fails while any are left.
    pub problems: Vec<String>,
}

/// Renders every page. `root` is the repository root (for `examples/` and `docs/guides/`).
pub fn render(root: &Path) -> Rendered {
    let provider = DagsterBranchProvider;
    let mut out = Rendered { pages: BTreeMap::new(), problems: Vec::new() };
    let examples = Examples { root: root.join("examples") };

    check_block(&provider.schema().block, "provider", &mut out.problems);
    let mut resources: Vec<_> = provider.resources();
    resources.sort_by_key(|r| r.type_name());
    let mut data_sources: Vec<_> = provider.data_sources();
    data_sources.sort_by_key(|d| d.type_name());
    let mut lists: Vec<_> = provider.list_resources();
    lists.sort_by_key(|l| l.type_name());
    let mut ephemerals: Vec<_> = provider.ephemeral_resources();
    ephemerals.sort_by_key(|e| e.type_name());
    let mut function_handles = provider.functions();
    function_handles.sort_by_key(|f| f.name());
    let mut actions: Vec<_> = provider.actions();
    actions.sort_by_key(|a| a.type_name());
    let guides = read_guides(&root.join("docs/guides"));

    let contents = Contents {
        resources: resources.iter().map(|r| r.type_name()).collect(),
        data_sources: data_sources.iter().map(|d| d.type_name()).collect(),
        ephemerals: ephemerals.iter().map(|e| e.type_name()).collect(),
        lists: lists.iter().map(|l| l.type_name()).collect(),
        functions: function_handles.iter().map(|f| f.name()).collect(),
        actions: actions.iter().map(|a| a.type_name()).collect(),
        guides,
    };
    out.pages.insert("index.md".into(), index_page(&provider.schema(), &contents, &examples, &mut out.problems));

    for resource in &resources {
        let name = resource.type_name();
        check_block(&resource.schema().block, name, &mut out.problems);
        if let Some(identity) = resource.identity_schema() {
            for attribute in identity.attributes.iter().filter(|a| a.description.trim().is_empty()) {
                out.problems.push(format!("{name}: identity attribute `{}` has no description", attribute.name));
            }
        }
        let page = resource_page(
            name,
            resource.schema(),
            resource.identity_schema(),
            resource.importable(),
            &examples,
            &mut out.problems,
        );
        out.pages.insert(PathBuf::from("resources").join(format!("{}.md", short(name))), page);
    }
    for data_source in &data_sources {
        let name = data_source.type_name();
        check_block(&data_source.schema().block, &format!("data.{name}"), &mut out.problems);
        let page = data_source_page(name, data_source.schema(), &examples, &mut out.problems);
        out.pages.insert(PathBuf::from("data-sources").join(format!("{}.md", short(name))), page);
    }
    for ephemeral in &ephemerals {
        let name = ephemeral.type_name();
        check_block(&ephemeral.schema().block, &format!("ephemeral.{name}"), &mut out.problems);
        let page = ephemeral_page(name, ephemeral.schema(), &examples, &mut out.problems);
        out.pages.insert(PathBuf::from("ephemeral-resources").join(format!("{}.md", short(name))), page);
    }
    for list in &lists {
        let name = list.type_name();
        check_block(&list.schema().block, &format!("list.{name}"), &mut out.problems);
        let page = list_page(name, list.schema(), &examples, &mut out.problems);
        out.pages.insert(PathBuf::from("list-resources").join(format!("{}.md", short(name))), page);
    }
    for function in &function_handles {
        let page = functions::page(function, &examples, &mut out.problems);
        out.pages.insert(PathBuf::from("functions").join(format!("{}.md", function.name())), page);
    }
    for action in &actions {
        let name = action.type_name();
        check_block(&action.schema().block, &format!("action.{name}"), &mut out.problems);
        let page = action_page::action_page(name, action.schema(), &examples, &mut out.problems);
        out.pages.insert(PathBuf::from("actions").join(format!("{}.md", short(name))), page);
    }
    out
}

/// Writes the rendered pages under `docs_dir` and removes generated pages of types that no longer exist.
pub fn write(docs_dir: &Path, rendered: &Rendered) -> std::io::Result<()> {
    for stale in stale_files(docs_dir, rendered) {
        std::fs::remove_file(docs_dir.join(stale))?;
    }
    for (path, text) in &rendered.pages {
        let target = docs_dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if std::fs::read_to_string(&target).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&target, text)?;
        }
    }
    Ok(())
}

/// The pages whose committed text differs from the rendering, are missing, or belong to no served type.
pub fn differences(docs_dir: &Path, rendered: &Rendered) -> Vec<String> {
    let mut differences = Vec::new();
    for (path, text) in &rendered.pages {
        match std::fs::read_to_string(docs_dir.join(path)) {
            Ok(committed) if committed == *text => {}
            Ok(_) => differences.push(format!("docs/{} is out of date", path.display())),
            Err(_) => differences.push(format!("docs/{} is missing", path.display())),
        }
    }
    for stale in stale_files(docs_dir, rendered) {
        differences.push(format!("docs/{} documents a type the provider no longer serves", stale.display()));
    }
    differences
}

fn stale_files(docs_dir: &Path, rendered: &Rendered) -> Vec<PathBuf> {
    let mut stale = Vec::new();
    for dir in GENERATED_DIRS {
        let Ok(entries) = std::fs::read_dir(docs_dir.join(dir)) else { continue };
        for entry in entries.flatten() {
            let relative = PathBuf::from(dir).join(entry.file_name());
            if !rendered.pages.contains_key(&relative) {
                stale.push(relative);
            }
        }
    }
    stale.sort();
    stale
}

/// The `docs` subcommand. Returns the process exit code.
pub fn run(args: &[String]) -> i32 {
    let mut check = false;
    // `cargo run -- docs` sets CARGO_MANIFEST_DIR, so it works from any directory of the checkout.
    let mut root = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--root" => match iter.next() {
                Some(dir) => root = PathBuf::from(dir),
                None => return usage("--root needs a directory"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return 0;
            }
            other => return usage(&format!("unknown argument `{other}`")),
        }
    }
    if !root.join("examples").is_dir() {
        return usage(&format!(
            "{} has no examples/ directory; run from the repository root or pass --root",
            root.display()
        ));
    }
    let rendered = render(&root);
    let docs_dir = root.join("docs");
    let mut failed = false;
    for problem in &rendered.problems {
        eprintln!("docs: {problem}");
        failed = true;
    }
    if check {
        let differences = differences(&docs_dir, &rendered);
        for difference in &differences {
            eprintln!("docs: {difference}");
        }
        if !differences.is_empty() {
            eprintln!("docs: regenerate with `cargo run -- docs` (or scripts/docs) and commit the result");
            failed = true;
        }
    } else if let Err(e) = write(&docs_dir, &rendered) {
        eprintln!("docs: cannot write {}: {e}", docs_dir.display());
        return 1;
    } else {
        println!("docs: {} pages in {}", rendered.pages.len(), docs_dir.display());
    }
    i32::from(failed)
}

const USAGE: &str = "usage: terraform-provider-dagsterbranch docs [--check] [--root DIR]

Renders docs/ (index, resources, data sources, list resources) from the provider's schema and the files
under examples/. --check compares instead of writing and fails when docs/ is out of date, a description is
missing, or an example is missing. DIR is the repository root (default: the checkout `cargo run` builds,
else the current directory).";

fn usage(problem: &str) -> i32 {
    eprintln!("docs: {problem}\n\n{USAGE}");
    2
}

// ----- completeness ----------------------------------------------------------------------------------------

fn check_block(block: &Block, path: &str, problems: &mut Vec<String>) {
    if block.description.trim().is_empty() {
        problems.push(format!("{path}: no description"));
    }
    for attribute in &block.attributes {
        if attribute.description.trim().is_empty() {
            problems.push(format!("{path}.{}: no description", attribute.name));
        }
    }
    for nested in &block.blocks {
        check_block(&nested.block, &format!("{path}.{}", nested.name), problems);
    }
}

// ----- examples --------------------------------------------------------------------------------------------

struct Examples {
    root: PathBuf,
}

impl Examples {
    /// The text of an example file (relative to `examples/`), or a problem when it is required and missing.
    fn file(&self, relative: &str, required: bool, problems: &mut Vec<String>) -> Option<String> {
        match std::fs::read_to_string(self.root.join(relative)) {
            Ok(text) => Some(text.trim_end().to_string()),
            Err(_) => {
                if required {
                    problems.push(format!("examples/{relative} is missing"));
                }
                None
            }
        }
    }

    /// Every file with `suffix` in a directory, sorted by name.
    fn files_with_suffix(&self, dir: &str, suffix: &str) -> Vec<(String, String)> {
        let Ok(entries) = std::fs::read_dir(self.root.join(dir)) else { return Vec::new() };
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(suffix))
            .collect();
        names.sort();
        names
            .into_iter()
            .filter_map(|name| {
                let text = std::fs::read_to_string(self.root.join(dir).join(&name)).ok()?;
                Some((name, text.trim_end().to_string()))
            })
            .collect()
    }
}

fn code(out: &mut String, language: &str, text: &str) {
    let _ = write!(out, "```{language}\n{text}\n```\n\n");
}

// ----- pages -----------------------------------------------------------------------------------------------

struct Contents {
    resources: Vec<&'static str>,
    data_sources: Vec<&'static str>,
    ephemerals: Vec<&'static str>,
    lists: Vec<&'static str>,
    functions: Vec<&'static str>,
    actions: Vec<&'static str>,
    guides: Vec<(String, String)>,
}

fn front_matter(title: &str, description: &str) -> String {
    let summary = first_paragraph(description);
    let mut out = format!("---\npage_title: \"{title}\"\nsubcategory: \"\"\ndescription: |-\n");
    for line in summary.lines() {
        let _ = writeln!(out, "  {line}");
    }
    out.push_str("---\n\n");
    out
}

fn first_paragraph(text: &str) -> String {
    text.trim().split("\n\n").next().unwrap_or_default().to_string()
}

fn short(type_name: &str) -> &str {
    type_name.strip_prefix("dagsterbranch_").unwrap_or(type_name)
}

fn index_page(schema: &Schema, contents: &Contents, examples: &Examples, problems: &mut Vec<String>) -> String {
    let description = &schema.block.description;
    let mut out = front_matter(&format!("Provider: {PROVIDER}"), description);
    let _ = write!(out, "# {PROVIDER} Provider\n\n{}\n\n", description.trim());
    out.push_str(INDEX_INTRO);

    out.push_str("## Example Usage\n\n");
    if let Some(text) = examples.file("provider/provider.tf", true, problems) {
        code(&mut out, "terraform", &text);
    }

    out.push_str("## Authentication\n\n### Dagster+\n\n");
    out.push_str(
        "The provider talks to the Dagster+ GraphQL API with a **user** API token of an Organization Admin; agent \
         tokens are refused because they cannot manage tokens or deployments. Each setting can come from the \
         provider block or, when the block leaves it out, from the environment:\n\n",
    );
    out.push_str("| Argument | Environment variable | Notes |\n| --- | --- | --- |\n");
    let _ = writeln!(
        out,
        "| `organization` | `{}` | The `ORG` of `https://ORG.dagster.cloud`. |",
        provider::ENV_ORGANIZATION
    );
    let _ = writeln!(
        out,
        "| `api_token` | `{}` | Sensitive; prefer the variable so the token stays out of the configuration. |",
        provider::ENV_API_TOKEN
    );
    let _ = writeln!(out, "| `url` | `{}` | Only needed when Dagster+ is not at `https://ORG.dagster.cloud` (for example a local emulator). |\n", provider::ENV_URL);
    out.push_str(AWS_SECTION);
    out.push_str(VERSIONS_SECTION);

    out.push_str("## Schema\n\n");
    render_block(&mut out, &schema.block, "", Kind::Provider);

    out.push_str("## Contents\n\n");
    let sections: [(&str, &str, &Vec<&'static str>); 6] = [
        ("Resources", "resources", &contents.resources),
        ("Data sources", "data-sources", &contents.data_sources),
        ("Ephemeral resources (Terraform 1.10+)", "ephemeral-resources", &contents.ephemerals),
        ("List resources (`terraform query`)", "list-resources", &contents.lists),
        ("Functions (Terraform 1.8+)", "functions", &contents.functions),
        ("Actions (Terraform 1.14+)", "actions", &contents.actions),
    ];
    for (title, dir, names) in sections {
        let _ = writeln!(out, "{title}:\n");
        for name in names {
            let _ = writeln!(out, "- [`{name}`]({dir}/{}.md)", short(name));
        }
        out.push('\n');
    }
    if !contents.guides.is_empty() {
        out.push_str("Guides:\n\n");
        for (file, title) in &contents.guides {
            let _ = writeln!(out, "- [{title}](guides/{file})");
        }
        out.push('\n');
    }
    finish(out)
}

const INDEX_INTRO: &str = "\
Use it to declare, next to each other: the agent token and configuration of a dedicated branch-deployment \
agent, a private Amazon ECR repository with a push-only IAM user for CI, and one Dagster+ branch deployment \
per git branch with its code locations. Existing branch deployments can be imported by name, by \
`repo:branch`, by identity (Terraform 1.12+) or discovered with `terraform query` (Terraform 1.14+); an \
agent that already runs is imported by its label, agent tokens by their id.

";

const AWS_SECTION: &str = "\
### AWS

Only `dagsterbranch_registry` and the ephemeral `dagsterbranch_registry_credentials` and `dagsterbranch_stored_secrets` call AWS, and the \
provider resolves AWS credentials only when one of them is planned, applied or opened, so configurations \
without them need no AWS setup. Credentials come from the standard \
AWS chain, in this order:

1. the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optionally `AWS_SESSION_TOKEN`;
2. the shared files `~/.aws/credentials` and `~/.aws/config` (paths from `AWS_SHARED_CREDENTIALS_FILE` and \
`AWS_CONFIG_FILE`), for the profile in `aws { profile }` or `AWS_PROFILE`, including SSO, \
`credential_process` and assumed-role profiles;
3. web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` with `AWS_ROLE_ARN`, as in GitHub Actions or GitLab OIDC);
4. the ECS container role and the EC2 instance profile.

The region is `aws { region }`, else `AWS_REGION` or `AWS_DEFAULT_REGION`, else the profile's region. \
`aws { endpoint_url }` (or `AWS_ENDPOINT_URL`) sends every AWS call to another endpoint, for example a local \
AWS emulator.

The identity needs permission to manage the ECR repository, the IAM user, its inline policy and access keys; \
the user it creates can only push images to its one repository.

";

const VERSIONS_SECTION: &str = "\
## Terraform and OpenTofu versions

The provider speaks plugin protocol 6, which Terraform 1.0 and later and OpenTofu use; its tests run \
Terraform 1.0.3 and 1.15. Import blocks need Terraform 1.5 (OpenTofu 1.6), provider functions Terraform 1.8, \
ephemeral resources Terraform 1.10, import by identity Terraform 1.12, and list resources (`terraform query`) \
and actions Terraform 1.14; everything else works without them.

";

fn resource_page(
    name: &str,
    schema: &Schema,
    identity: Option<&IdentitySchema>,
    importable: bool,
    examples: &Examples,
    problems: &mut Vec<String>,
) -> String {
    let description = &schema.block.description;
    let mut out = front_matter(&format!("{name} Resource - {PROVIDER}"), description);
    let _ = write!(out, "# {name} (Resource)\n\n{}\n\n", description.trim());
    let dir = format!("resources/{name}");
    out.push_str("## Example Usage\n\n");
    if let Some(text) = examples.file(&format!("{dir}/resource.tf"), true, problems) {
        code(&mut out, "terraform", &text);
    }
    out.push_str("## Schema\n\n");
    render_block(&mut out, &schema.block, "", Kind::Resource);

    let by_id = examples.file(&format!("{dir}/import-by-string-id.tf"), importable, problems);
    let by_identity = examples.file(&format!("{dir}/import-by-identity.tf"), identity.is_some(), problems);
    let command = examples.file(&format!("{dir}/import.sh"), importable, problems);
    if by_id.is_some() || by_identity.is_some() || command.is_some() {
        out.push_str("## Import\n\n");
        if let Some(text) = by_id {
            out.push_str("With an `import` block (Terraform 1.5 and later), by the import id:\n\n");
            code(&mut out, "terraform", &text);
        }
        if let (Some(text), Some(identity)) = (by_identity, identity) {
            out.push_str(
                "By identity (Terraform 1.12 and later), which names the object by attributes that never change \
                 instead of an id:\n\n",
            );
            code(&mut out, "terraform", &text);
            out.push_str("### Identity Schema\n\n");
            let (required, optional): (Vec<_>, Vec<_>) =
                identity.attributes.iter().partition(|a| a.required_for_import);
            for (title, attributes) in [("Required", required), ("Optional", optional)] {
                if attributes.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "#### {title}\n");
                let mut attributes = attributes;
                attributes.sort_by(|a, b| a.name.cmp(&b.name));
                for attribute in attributes {
                    let _ = writeln!(
                        out,
                        "- `{}` ({}) {}",
                        attribute.name,
                        type_label(&attribute.ty),
                        attribute.description.trim()
                    );
                }
                out.push('\n');
            }
        }
        if let Some(text) = command {
            out.push_str("With the `terraform import` command (every Terraform version):\n\n");
            code(&mut out, "shell", &text);
        }
    }
    finish(out)
}

fn data_source_page(name: &str, schema: &Schema, examples: &Examples, problems: &mut Vec<String>) -> String {
    let description = &schema.block.description;
    let mut out = front_matter(&format!("{name} Data Source - {PROVIDER}"), description);
    let _ = write!(out, "# {name} (Data Source)\n\n{}\n\n", description.trim());
    out.push_str("## Example Usage\n\n");
    if let Some(text) = examples.file(&format!("data-sources/{name}/data-source.tf"), true, problems) {
        code(&mut out, "terraform", &text);
    }
    out.push_str("## Schema\n\n");
    render_block(&mut out, &schema.block, "", Kind::DataSource);
    finish(out)
}

fn ephemeral_page(name: &str, schema: &Schema, examples: &Examples, problems: &mut Vec<String>) -> String {
    let description = &schema.block.description;
    let mut out = front_matter(&format!("{name} Ephemeral Resource - {PROVIDER}"), description);
    let _ = write!(out, "# {name} (Ephemeral Resource)\n\n{}\n\n", description.trim());
    out.push_str(
        "An ephemeral resource is declared with an `ephemeral` block (Terraform 1.10 and later; older versions \
         refuse the block). Terraform obtains its value in every plan and apply and never writes it to state or \
         plan files, so it can be referenced only where values are not stored: provider blocks, provisioner and \
         connection blocks, locals, ephemeral variables and outputs, and write-only arguments (Terraform 1.11+).\n\n",
    );
    out.push_str("## Example Usage\n\n");
    if let Some(text) = examples.file(&format!("ephemeral-resources/{name}/ephemeral-resource.tf"), true, problems) {
        code(&mut out, "terraform", &text);
    }
    out.push_str("## Schema\n\n");
    render_block(&mut out, &schema.block, "", Kind::Ephemeral);
    finish(out)
}

fn list_page(name: &str, schema: &Schema, examples: &Examples, problems: &mut Vec<String>) -> String {
    let description = &schema.block.description;
    let mut out = front_matter(&format!("{name} List Resource - {PROVIDER}"), description);
    let _ = write!(out, "# {name} (List Resource)\n\n{}\n\n", description.trim());
    let _ = write!(
        out,
        "A list resource is read by `terraform query` (Terraform 1.14 and later) from `*.tfquery.hcl` files. Each \
         object found is shown with its identity; `terraform query -generate-config-out=generated.tf` also writes \
         a [`{name}`](../resources/{}.md) resource and an `import` block for each, ready to plan and apply.\n\n",
        short(name)
    );
    out.push_str("## Example Usage\n\n");
    let dir = format!("list-resources/{name}");
    let files = examples.files_with_suffix(&dir, ".tfquery.hcl");
    if files.is_empty() {
        problems.push(format!("examples/{dir}/ has no *.tfquery.hcl file"));
    }
    for (file, text) in files {
        let _ = write!(out, "`{file}`:\n\n");
        code(&mut out, "terraform", &text);
    }
    out.push_str("## Schema\n\nThe arguments of the `config` block:\n\n");
    render_block(&mut out, &schema.block, "", Kind::ListConfig);
    finish(out)
}

/// One trailing newline, no trailing blank lines.
fn finish(mut out: String) -> String {
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

// ----- schema rendering ------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Provider,
    Resource,
    DataSource,
    Ephemeral,
    ListConfig,
}

/// Renders a block's attributes and nested blocks grouped as Required / Optional / Read-Only, then one
/// section per nested block (recursively). `anchor` is the path of the block for link targets.
fn render_block(out: &mut String, block: &Block, anchor: &str, kind: Kind) {
    let mut required: Vec<String> = Vec::new();
    let mut optional: Vec<String> = Vec::new();
    let mut read_only: Vec<String> = Vec::new();
    let mut nested_objects: Vec<(String, &Attribute)> = Vec::new();

    let mut attributes: Vec<&Attribute> = block.attributes.iter().collect();
    attributes.sort_by(|a, b| a.name.cmp(&b.name));
    for attribute in attributes {
        let mut line = attribute_line(attribute, kind);
        if object_fields(&attribute.ty).is_some() {
            let target = format!("nestedatt--{}", join_anchor(anchor, &attribute.name));
            let _ = write!(line, " (see [below for nested schema](#{target}))");
            nested_objects.push((target, attribute));
        }
        match attribute.presence {
            Presence::Required => required.push(line),
            Presence::Optional | Presence::OptionalComputed => optional.push(line),
            Presence::Computed => read_only.push(line),
        }
    }
    let mut blocks: Vec<&NestedBlock> = block.blocks.iter().collect();
    blocks.sort_by(|a, b| a.name.cmp(&b.name));
    for nested in &blocks {
        let target = format!("nestedblock--{}", join_anchor(anchor, &nested.name));
        let line = format!(
            "- `{}` ({}) {} (see [below for nested schema](#{target}))",
            nested.name,
            block_label(nested),
            nested.block.description.trim()
        );
        if nested.min_items > 0 {
            required.push(line);
        } else {
            optional.push(line);
        }
    }
    for (title, lines) in [("Required", required), ("Optional", optional), ("Read-Only", read_only)] {
        if lines.is_empty() {
            continue;
        }
        // Top-level groups are headings; inside a nested section they are labels, so the page outline
        // stays one entry per block.
        if anchor.is_empty() {
            let _ = writeln!(out, "### {title}\n");
        } else {
            let _ = writeln!(out, "{title}:\n");
        }
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
    }
    for nested in blocks {
        let path = join_anchor(anchor, &nested.name);
        let _ =
            write!(out, "<a id=\"nestedblock--{path}\"></a>\n### Nested Schema for `{}`\n\n", path.replace("--", "."));
        render_block(out, &nested.block, &path, kind);
    }
    for (target, attribute) in nested_objects {
        let path = target.trim_start_matches("nestedatt--").replace("--", ".");
        let _ = write!(out, "<a id=\"{target}\"></a>\n### Nested Schema for `{path}`\n\n");
        let fields = object_fields(&attribute.ty).unwrap_or_default();
        let _ = writeln!(out, "Each element has these attributes, all read-only:\n");
        for (field, ty) in fields {
            let _ = writeln!(out, "- `{field}` ({})", type_label(ty));
        }
        out.push('\n');
    }
}

fn join_anchor(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}--{name}")
    }
}

/// The fields of an object type, also inside a list, set or map.
fn object_fields(ty: &Type) -> Option<Vec<(&String, &Type)>> {
    match ty {
        Type::Object(object) => Some(object.attributes.iter().collect()),
        Type::List(inner) | Type::Set(inner) | Type::Map(inner) => object_fields(inner),
        _ => None,
    }
}

fn attribute_line(attribute: &Attribute, kind: Kind) -> String {
    let mut labels = vec![type_label(&attribute.ty)];
    if attribute.sensitive {
        labels.push("Sensitive".to_string());
    }
    if attribute.write_only {
        labels.push("Write-only".to_string());
    }
    if attribute.deprecation.is_some() {
        labels.push("Deprecated".to_string());
    }
    if attribute.requires_replace && kind == Kind::Resource {
        labels.push("Forces replacement".to_string());
    }
    let mut line = format!("- `{}` ({}) {}", attribute.name, labels.join(", "), sentence(&attribute.description));
    if let Some(default) = &attribute.default {
        let _ = write!(line, " Defaults to `{}`.", value_text(default));
    }
    // Semantic equality makes an attribute optional+computed only to keep the prior spelling in plans; the
    // provider does not fill it in, so the note would mislead there.
    if attribute.presence == Presence::OptionalComputed
        && attribute.default.is_none()
        && attribute.semantic_equality.is_none()
    {
        line.push_str(" Set by the provider when not configured.");
    }
    if !attribute.validators.is_empty() {
        let rules: Vec<&str> = attribute.validators.iter().map(|v| v.description.as_str()).collect();
        let _ = write!(line, " Validation: {}.", rules.join("; "));
    }
    if let Some(note) = &attribute.deprecation {
        let _ = write!(line, " **Deprecated:** {}", sentence(note));
    }
    line
}

/// The description as one line that ends with a full stop.
fn sentence(text: &str) -> String {
    let text = text.trim().replace('\n', " ");
    if text.ends_with(['.', '!', '?', ')']) || text.ends_with("`.") {
        text
    } else {
        format!("{text}.")
    }
}

fn block_label(nested: &NestedBlock) -> String {
    let shape = match nested.nesting {
        Nesting::Single | Nesting::Group => "Block",
        Nesting::List => "Block List",
        Nesting::Set => "Block Set",
        Nesting::Map => "Block Map",
    };
    let mut label = shape.to_string();
    if nested.min_items > 0 {
        label.push_str(", Required");
    } else {
        label.push_str(", Optional");
    }
    if matches!(nested.nesting, Nesting::List | Nesting::Set) {
        match (nested.min_items, nested.max_items) {
            (min, max) if max > 0 && min == max => label.push_str(&format!(", exactly {min}")),
            (0, max) if max > 0 => label.push_str(&format!(", at most {max}")),
            (min, max) if max > 0 => label.push_str(&format!(", {min} to {max}")),
            (min, _) if min > 0 => label.push_str(&format!(", at least {min}")),
            _ => {}
        }
    }
    label
}

fn type_label(ty: &Type) -> String {
    match ty {
        Type::Bool => "Boolean".into(),
        Type::Number => "Number".into(),
        Type::String => "String".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(inner) => format!("List of {}", type_label(inner)),
        Type::Set(inner) => format!("Set of {}", type_label(inner)),
        Type::Map(inner) => format!("Map of {}", type_label(inner)),
        Type::Object(_) => "Object".into(),
        Type::Tuple(_) => "Tuple".into(),
    }
}

/// A default value as it would be written in HCL.
fn value_text(value: &Value) -> String {
    match value.to_plain_json() {
        Ok(json) => json.to_string(),
        Err(_) => "(unknown)".to_string(),
    }
}

/// `(file name, page_title)` of each hand-written guide, sorted by file name.
fn read_guides(dir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut guides: Vec<(String, String)> = entries
        .flatten()
        .filter_map(|entry| {
            let file = entry.file_name().to_string_lossy().into_owned();
            if !file.ends_with(".md") {
                return None;
            }
            let text = std::fs::read_to_string(entry.path()).ok()?;
            let title = text
                .lines()
                .find_map(|line| line.strip_prefix("page_title:"))
                .map(|t| t.trim().trim_matches('"').to_string())
                .unwrap_or_else(|| file.trim_end_matches(".md").to_string());
            Some((file, title))
        })
        .collect();
    guides.sort();
    guides
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn every_attribute_and_block_has_a_description() {
        let rendered = render(&repo_root());
        let missing: Vec<&String> = rendered.problems.iter().filter(|p| p.ends_with("no description")).collect();
        assert!(missing.is_empty(), "attributes without a description:\n{missing:#?}");
    }

    #[test]
    fn pages_have_front_matter_and_no_trailing_blank_lines() {
        let rendered = render(&repo_root());
        assert!(rendered.pages.contains_key(Path::new("index.md")));
        for (path, text) in &rendered.pages {
            assert!(text.starts_with("---\npage_title: \""), "{}", path.display());
            assert!(text.contains("\nsubcategory: ") && text.contains("\ndescription: |-\n"), "{}", path.display());
            assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{}", path.display());
            assert!(text.len() < 500_000, "{} exceeds the registry's page size", path.display());
        }
    }

    #[test]
    fn labels_read_naturally() {
        assert_eq!(type_label(&Type::Set(Box::new(Type::String))), "Set of String");
        assert_eq!(value_text(&Value::String("prod".into())), "\"prod\"");
        assert_eq!(value_text(&Value::Set(Vec::new())), "[]");
        assert_eq!(sentence("The id"), "The id.");
        assert_eq!(sentence("Ends with `code`."), "Ends with `code`.");
        let nested = NestedBlock::new("commit", Nesting::List, Block::new("c")).items(1, 1);
        assert_eq!(block_label(&nested), "Block List, Required, exactly 1");
    }
}
