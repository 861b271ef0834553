//! The declarative schema model. One `Schema` per provider, resource or data source is the single source of
//! truth: the protocol schema, the value type used to decode config/plan/state, validation, plan modifiers
//! and the generated documentation all come from it.

use std::fmt;
use std::sync::Arc;

use cty::{Path, Type, Value};

use crate::diag::{Diagnostic, Diagnostics};
use crate::proto::tfplugin6 as pb;

#[derive(Clone, Debug)]
pub struct Schema {
    /// Bumped when the stored state shape changes; older states go through `Resource::upgrade_state`.
    pub version: i64,
    pub block: Block,
}

impl Schema {
    pub fn new(description: impl Into<String>) -> Self {
        Schema { version: 0, block: Block { description: description.into(), ..Block::default() } }
    }

    pub fn version(mut self, version: i64) -> Self {
        self.version = version;
        self
    }

    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.block.attributes.push(attribute);
        self
    }

    /// Several attributes at once, e.g. a group several resources share.
    pub fn attributes(mut self, attributes: impl IntoIterator<Item = Attribute>) -> Self {
        self.block.attributes.extend(attributes);
        self
    }

    pub fn block(mut self, block: NestedBlock) -> Self {
        self.block.blocks.push(block);
        self
    }

    /// `value` with every null attribute that has a default set to that default: where an imported state starts
    /// for attributes that live only in configuration.
    pub fn with_defaults(&self, mut value: Value) -> Value {
        let config = value.clone();
        crate::plan::apply_defaults(&self.block, &config, &mut value);
        value
    }

    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }

    pub(crate) fn to_proto(&self) -> pb::Schema {
        pb::Schema { version: self.version, block: Some(self.block.to_proto()) }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Block {
    pub description: String,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
    pub deprecated: bool,
}

impl Block {
    pub fn new(description: impl Into<String>) -> Self {
        Block { description: description.into(), ..Block::default() }
    }

    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    pub fn block(mut self, block: NestedBlock) -> Self {
        self.blocks.push(block);
        self
    }

    pub fn find_attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The object type Terraform uses for values of this block.
    pub fn value_type(&self) -> Type {
        let attrs = self.attributes.iter().map(|a| (a.name.clone(), a.ty.clone()));
        let blocks = self.blocks.iter().map(|b| {
            let inner = b.block.value_type();
            let ty = match b.nesting {
                Nesting::Single | Nesting::Group => inner,
                Nesting::List => Type::List(Box::new(inner)),
                Nesting::Set => Type::Set(Box::new(inner)),
                Nesting::Map => Type::Map(Box::new(inner)),
            };
            (b.name.clone(), ty)
        });
        Type::object(attrs.chain(blocks))
    }

    fn to_proto(&self) -> pb::schema::Block {
        pb::schema::Block {
            version: 0,
            attributes: self.attributes.iter().map(Attribute::to_proto).collect(),
            block_types: self.blocks.iter().map(NestedBlock::to_proto).collect(),
            description: self.description.clone(),
            description_kind: pb::StringKind::Markdown as i32,
            deprecated: self.deprecated,
            ..Default::default()
        }
    }

    /// Checks a configuration value (which may contain unknowns) against the schema's own rules: read-only
    /// attributes set in configuration, and each attribute's validators. Terraform itself checks types and
    /// required arguments.
    pub fn validate(&self, value: &Value, path: &Path, diags: &mut Diagnostics) {
        if value.is_null() || !value.is_known() {
            return;
        }
        for attribute in &self.attributes {
            let Some(v) = value.get(&attribute.name) else { continue };
            attribute.validate(v, &path.attr(&attribute.name), diags);
        }
        for nested in &self.blocks {
            let Some(v) = value.get(&nested.name) else { continue };
            let block_path = path.attr(&nested.name);
            match v {
                Value::List(items) => {
                    for (i, item) in items.iter().enumerate() {
                        nested.block.validate(item, &block_path.index(i as i64), diags);
                    }
                }
                // Set elements have no addressable path in the protocol; point at the block itself.
                Value::Set(items) => items.iter().for_each(|item| nested.block.validate(item, &block_path, diags)),
                Value::Map(items) => {
                    for (key, item) in items {
                        nested.block.validate(item, &block_path.key(key), diags);
                    }
                }
                other => nested.block.validate(other, &block_path, diags),
            }
        }
    }
}

/// How an attribute relates to configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    Required,
    Optional,
    /// Set by the provider only.
    Computed,
    /// Set by the user or, when absent, by the provider (defaults, server-side values).
    OptionalComputed,
}

impl Presence {
    pub fn is_computed(self) -> bool {
        matches!(self, Presence::Computed | Presence::OptionalComputed)
    }
}

#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: String,
    pub ty: Type,
    pub description: String,
    pub presence: Presence,
    pub sensitive: bool,
    /// Never stored: configuration only (Terraform ≥ 1.11); see `crate::write_only`.
    pub write_only: bool,
    /// For a write-only attribute, the stored attribute that clients without write-only support should use
    /// instead; named in the diagnostic that refuses such clients.
    pub stored_alternative: Option<String>,
    pub deprecation: Option<String>,
    /// A change of this attribute destroys and re-creates the object.
    pub requires_replace: bool,
    /// A computed value that never changes after creation: keep the prior state's value in plans instead of
    /// showing "(known after apply)".
    pub use_state_for_unknown: bool,
    /// The value planned when configuration leaves the attribute null (requires `OptionalComputed`).
    pub default: Option<Value>,
    pub validators: Vec<Validator>,
    /// Values that mean the same (e.g. JSON and YAML of one object): a configured value equal in meaning
    /// to the prior one plans as the prior value, so formatting never shows as a change.
    pub semantic_equality: Option<SemanticEquality>,
}

type SameMeaning = dyn Fn(&Value, &Value) -> bool + Send + Sync;

#[derive(Clone)]
pub struct SemanticEquality(Arc<SameMeaning>);

impl SemanticEquality {
    pub fn same(&self, a: &Value, b: &Value) -> bool {
        (self.0)(a, b)
    }
}

impl fmt::Debug for SemanticEquality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SemanticEquality")
    }
}

impl Attribute {
    fn with(name: &str, ty: Type, presence: Presence, description: &str) -> Self {
        Attribute {
            name: name.to_string(),
            ty,
            description: description.to_string(),
            presence,
            sensitive: false,
            write_only: false,
            stored_alternative: None,
            deprecation: None,
            requires_replace: false,
            use_state_for_unknown: false,
            default: None,
            validators: Vec::new(),
            semantic_equality: None,
        }
    }

    pub fn required(name: &str, ty: Type, description: &str) -> Self {
        Self::with(name, ty, Presence::Required, description)
    }

    pub fn optional(name: &str, ty: Type, description: &str) -> Self {
        Self::with(name, ty, Presence::Optional, description)
    }

    pub fn computed(name: &str, ty: Type, description: &str) -> Self {
        Self::with(name, ty, Presence::Computed, description)
    }

    pub fn optional_computed(name: &str, ty: Type, description: &str) -> Self {
        Self::with(name, ty, Presence::OptionalComputed, description)
    }

    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Makes the attribute write-only: Terraform (1.11+) sends it in configuration only and the provider
    /// never stores it; planned and recorded states hold null. Older clients are refused at validate when
    /// they set it.
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }

    /// The stored attribute that clients without write-only support should set instead of this one.
    pub fn stored_alternative(mut self, name: &str) -> Self {
        self.stored_alternative = Some(name.to_string());
        self
    }

    pub fn requires_replace(mut self) -> Self {
        self.requires_replace = true;
        self
    }

    pub fn use_state_for_unknown(mut self) -> Self {
        self.use_state_for_unknown = true;
        self
    }

    /// Makes the attribute optional+computed with a value planned when configuration omits it.
    pub fn default(mut self, value: Value) -> Self {
        self.presence = Presence::OptionalComputed;
        self.default = Some(value);
        self
    }

    /// Compares values by meaning. The attribute becomes optional+computed, which is what lets the plan keep
    /// the prior spelling of an equivalent configured value.
    pub fn semantic_equality(mut self, same: impl Fn(&Value, &Value) -> bool + Send + Sync + 'static) -> Self {
        if self.presence == Presence::Optional {
            self.presence = Presence::OptionalComputed;
        }
        self.semantic_equality = Some(SemanticEquality(Arc::new(same)));
        self
    }

    pub fn validator(mut self, validator: Validator) -> Self {
        self.validators.push(validator);
        self
    }

    fn to_proto(&self) -> pb::schema::Attribute {
        let mut description = self.description.clone();
        if let Some(default) = &self.default {
            description.push_str(&format!(" Defaults to `{}`.", display_value(default)));
        }
        pb::schema::Attribute {
            name: self.name.clone(),
            r#type: self.ty.to_json_bytes(),
            description,
            required: self.presence == Presence::Required,
            optional: matches!(self.presence, Presence::Optional | Presence::OptionalComputed),
            computed: self.presence.is_computed(),
            sensitive: self.sensitive,
            description_kind: pb::StringKind::Markdown as i32,
            deprecated: self.deprecation.is_some(),
            write_only: self.write_only,
            ..Default::default()
        }
    }

    fn validate(&self, value: &Value, path: &Path, diags: &mut Diagnostics) {
        if self.presence == Presence::Computed && !value.is_null() {
            diags.push(
                Diagnostic::error(
                    "Read-only attribute set",
                    format!(
                        "`{}` is set by the provider and cannot be configured. Remove it from the configuration.",
                        self.name
                    ),
                )
                .at(path.clone()),
            );
            return;
        }
        if value.is_null() || !value.is_wholly_known() {
            return;
        }
        for validator in &self.validators {
            if let Err(problem) = (validator.check)(value) {
                diags.push(Diagnostic::error(format!("Invalid value for `{}`", self.name), problem).at(path.clone()));
            }
        }
    }
}

/// Renders a small value for documentation text.
fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("\"{s}\""),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    Single,
    Group,
    List,
    Set,
    Map,
}

#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub name: String,
    pub nesting: Nesting,
    pub block: Block,
    pub min_items: i64,
    pub max_items: i64,
}

impl NestedBlock {
    pub fn new(name: &str, nesting: Nesting, block: Block) -> Self {
        NestedBlock { name: name.to_string(), nesting, block, min_items: 0, max_items: 0 }
    }

    pub fn items(mut self, min: i64, max: i64) -> Self {
        self.min_items = min;
        self.max_items = max;
        self
    }

    fn to_proto(&self) -> pb::schema::NestedBlock {
        use pb::schema::nested_block::NestingMode;
        let nesting = match self.nesting {
            Nesting::Single => NestingMode::Single,
            Nesting::Group => NestingMode::Group,
            Nesting::List => NestingMode::List,
            Nesting::Set => NestingMode::Set,
            Nesting::Map => NestingMode::Map,
        };
        pb::schema::NestedBlock {
            type_name: self.name.clone(),
            block: Some(self.block.to_proto()),
            nesting: nesting as i32,
            min_items: self.min_items,
            max_items: self.max_items,
        }
    }
}

type Check = dyn Fn(&Value) -> Result<(), String> + Send + Sync;

/// A rule a known, non-null attribute value must satisfy. The error text names what is wrong and what is
/// allowed; the attribute path is added by the caller.
#[derive(Clone)]
pub struct Validator {
    pub description: String,
    check: Arc<Check>,
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

impl Validator {
    pub fn new(
        description: impl Into<String>,
        check: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Validator { description: description.into(), check: Arc::new(check) }
    }

    /// A string attribute whose value is checked by `check` (which returns a reason on failure).
    pub fn string(
        description: impl Into<String>,
        check: impl Fn(&str) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Self::new(description, move |value| match value.as_str() {
            Some(s) => check(s),
            None => Ok(()),
        })
    }

    pub fn one_of(allowed: &'static [&'static str]) -> Self {
        let list = allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ");
        Self::string(format!("one of {list}"), move |s| {
            if allowed.contains(&s) {
                Ok(())
            } else {
                Err(format!("`{s}` is not allowed here; expected one of {}.", allowed.join(", ")))
            }
        })
    }

    pub fn not_blank() -> Self {
        Self::string("not empty", |s| {
            if s.trim().is_empty() {
                Err("The value must not be empty or only whitespace.".to_string())
            } else {
                Ok(())
            }
        })
    }

    pub fn max_length(max: usize) -> Self {
        Self::string(format!("at most {max} characters"), move |s| {
            let len = s.chars().count();
            if len > max {
                Err(format!("The value has {len} characters; at most {max} are allowed."))
            } else {
                Ok(())
            }
        })
    }

    /// Each string element of a list or set must pass `element`.
    pub fn each(element: Validator) -> Self {
        let description = format!("each element: {}", element.description);
        Self::new(description, move |value| match value {
            Value::List(items) | Value::Set(items) => items
                .iter()
                .filter(|item| !item.is_null() && item.is_wholly_known())
                .try_for_each(|item| (element.check)(item)),
            _ => Ok(()),
        })
    }
}

/// A resource's identity: the few attributes that name its remote object independently of Terraform's
/// address (Terraform ≥ 1.12 imports by identity and `terraform query` lists objects by it).
#[derive(Clone, Debug)]
pub struct IdentitySchema {
    pub version: i64,
    pub attributes: Vec<IdentityAttribute>,
}

#[derive(Clone, Debug)]
pub struct IdentityAttribute {
    pub name: String,
    pub ty: Type,
    pub description: String,
    /// Required in an `import { identity = {…} }` block (otherwise optional there).
    pub required_for_import: bool,
}

impl IdentitySchema {
    pub fn new(attributes: Vec<IdentityAttribute>) -> Self {
        IdentitySchema { version: 0, attributes }
    }

    pub fn value_type(&self) -> Type {
        Type::object(self.attributes.iter().map(|a| (a.name.clone(), a.ty.clone())))
    }

    pub(crate) fn to_proto(&self) -> pb::ResourceIdentitySchema {
        pb::ResourceIdentitySchema {
            version: self.version,
            identity_attributes: self
                .attributes
                .iter()
                .map(|a| pb::resource_identity_schema::IdentityAttribute {
                    name: a.name.clone(),
                    r#type: a.ty.to_json_bytes(),
                    required_for_import: a.required_for_import,
                    optional_for_import: !a.required_for_import,
                    description: a.description.clone(),
                })
                .collect(),
        }
    }
}

impl IdentityAttribute {
    pub fn required(name: &str, ty: Type, description: &str) -> Self {
        IdentityAttribute {
            name: name.to_string(),
            ty,
            description: description.to_string(),
            required_for_import: true,
        }
    }
}
