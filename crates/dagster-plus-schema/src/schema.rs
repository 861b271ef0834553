//! A schema read from SDL into the little the checks need: each type's kind, fields with argument and
//! result types, union members, enum values, implemented interfaces, and whether it is a stub.

use std::collections::{BTreeMap, BTreeSet};

use async_graphql_parser::types::{InputValueDefinition, Type, TypeKind, TypeSystemDefinition};
use async_graphql_parser::Positioned;

/// The recorded part of the real Dagster+ schema.
pub const REAL_SDL: &str = include_str!("../dagster-plus.graphql");

/// Marks a type recorded with its kind only (see the header of `dagster-plus.graphql`).
const STUB_DIRECTIVE: &str = "stub";

/// The scalars every GraphQL schema has, whether or not its SDL spells them out.
pub(crate) const BUILT_IN_SCALARS: [&str; 5] = ["Int", "Float", "String", "Boolean", "ID"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Scalar,
    Object,
    Interface,
    Union,
    Enum,
    InputObject,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // As introspection's `__TypeKind` names them.
        f.write_str(match self {
            Kind::Scalar => "SCALAR",
            Kind::Object => "OBJECT",
            Kind::Interface => "INTERFACE",
            Kind::Union => "UNION",
            Kind::Enum => "ENUM",
            Kind::InputObject => "INPUT_OBJECT",
        })
    }
}

impl Kind {
    /// What a variable may be declared as.
    pub fn is_input(self) -> bool {
        matches!(self, Kind::Scalar | Kind::Enum | Kind::InputObject)
    }

    /// What needs a selection set when selected.
    pub fn is_composite(self) -> bool {
        matches!(self, Kind::Object | Kind::Interface | Kind::Union)
    }
}

#[derive(Clone, Debug)]
pub struct InputValue {
    pub ty: Type,
    pub has_default: bool,
}

impl InputValue {
    pub fn is_required(&self) -> bool {
        !self.ty.nullable && !self.has_default
    }
}

#[derive(Clone, Debug)]
pub struct Field {
    pub ty: Type,
    pub args: BTreeMap<String, InputValue>,
}

#[derive(Clone, Debug)]
pub struct TypeDef {
    pub kind: Kind,
    /// Recorded with its kind only: its fields are unknown, not absent.
    pub stub: bool,
    /// Fields of objects and interfaces.
    pub fields: BTreeMap<String, Field>,
    /// Fields of input objects.
    pub input_fields: BTreeMap<String, InputValue>,
    pub interfaces: Vec<String>,
    pub members: Vec<String>,
    pub values: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Schema {
    pub query: String,
    pub mutation: Option<String>,
    pub types: BTreeMap<String, TypeDef>,
}

impl Schema {
    /// The recorded real schema.
    pub fn real() -> Schema {
        Schema::parse(REAL_SDL).expect("dagster-plus.graphql is valid SDL")
    }

    pub fn parse(sdl: &str) -> Result<Schema, String> {
        let document = async_graphql_parser::parse_schema(sdl).map_err(|e| e.to_string())?;
        let mut query = None;
        let mut mutation = None;
        let mut types = BTreeMap::new();
        for definition in document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    query = schema.node.query.map(|n| n.node.to_string());
                    mutation = schema.node.mutation.map(|n| n.node.to_string());
                }
                TypeSystemDefinition::Type(ty) => {
                    let ty = ty.node;
                    let stub = ty.directives.iter().any(|d| d.node.name.node == STUB_DIRECTIVE);
                    let mut def = TypeDef {
                        kind: Kind::Scalar,
                        stub,
                        fields: BTreeMap::new(),
                        input_fields: BTreeMap::new(),
                        interfaces: Vec::new(),
                        members: Vec::new(),
                        values: Vec::new(),
                    };
                    match ty.kind {
                        TypeKind::Scalar => {}
                        TypeKind::Object(object) => {
                            def.kind = Kind::Object;
                            def.interfaces = names(&object.implements);
                            def.fields = object.fields.into_iter().map(|f| field(f.node)).collect();
                        }
                        TypeKind::Interface(interface) => {
                            def.kind = Kind::Interface;
                            def.interfaces = names(&interface.implements);
                            def.fields = interface.fields.into_iter().map(|f| field(f.node)).collect();
                        }
                        TypeKind::Union(union) => {
                            def.kind = Kind::Union;
                            def.members = names(&union.members);
                        }
                        TypeKind::Enum(enumeration) => {
                            def.kind = Kind::Enum;
                            def.values = enumeration.values.iter().map(|v| v.node.value.node.to_string()).collect();
                        }
                        TypeKind::InputObject(input) => {
                            def.kind = Kind::InputObject;
                            def.input_fields = input_values(input.fields);
                        }
                    }
                    types.insert(ty.name.node.to_string(), def);
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        for scalar in BUILT_IN_SCALARS {
            types.entry(scalar.to_string()).or_insert_with(|| TypeDef {
                kind: Kind::Scalar,
                stub: false,
                fields: BTreeMap::new(),
                input_fields: BTreeMap::new(),
                interfaces: Vec::new(),
                members: Vec::new(),
                values: Vec::new(),
            });
        }
        // Without a schema definition, the conventional root names apply.
        let query = query.unwrap_or_else(|| "Query".to_string());
        let mutation = mutation.or_else(|| types.contains_key("Mutation").then(|| "Mutation".to_string()));
        Ok(Schema { query, mutation, types })
    }

    /// The object types a value of type `name` can be: itself, a union's members, an interface's implementors.
    pub fn possible_types(&self, name: &str) -> BTreeSet<&str> {
        let Some((key, def)) = self.types.get_key_value(name) else { return BTreeSet::new() };
        match def.kind {
            Kind::Union => def.members.iter().map(String::as_str).collect(),
            Kind::Interface => self
                .types
                .iter()
                .filter(|(_, t)| t.kind == Kind::Object && t.interfaces.iter().any(|i| i == name))
                .map(|(n, _)| n.as_str())
                .collect(),
            _ => BTreeSet::from([key.as_str()]),
        }
    }
}

fn names(names: &[Positioned<async_graphql_value::Name>]) -> Vec<String> {
    names.iter().map(|n| n.node.to_string()).collect()
}

fn field(definition: async_graphql_parser::types::FieldDefinition) -> (String, Field) {
    let args = input_values(definition.arguments);
    (definition.name.node.to_string(), Field { ty: definition.ty.node, args })
}

fn input_values(values: Vec<Positioned<InputValueDefinition>>) -> BTreeMap<String, InputValue> {
    values
        .into_iter()
        .map(|v| {
            let value = InputValue { ty: v.node.ty.node, has_default: v.node.default_value.is_some() };
            (v.node.name.node.to_string(), value)
        })
        .collect()
}

/// The named type at the bottom of list and non-null wrappers.
pub(crate) fn named(ty: &Type) -> &str {
    match &ty.base {
        async_graphql_parser::types::BaseType::Named(name) => name.as_str(),
        async_graphql_parser::types::BaseType::List(inner) => named(inner),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_schema_reads_with_its_roots_stubs_and_interfaces() {
        let real = Schema::real();
        assert_eq!(real.query, "CloudQuery");
        assert_eq!(real.mutation.as_deref(), Some("CloudMutation"));
        assert!(real.types["Run"].stub && !real.types["DagsterCloudAgentToken"].stub);
        let create = &real.types["CloudMutation"].fields["createAgentToken"];
        assert_eq!(create.ty.to_string(), "CreateAgentTokenResult!");
        assert_eq!(create.args["description"].ty.to_string(), "String");
        assert!(real.possible_types("Error").contains("PythonError"));
        assert_eq!(real.possible_types("CreateAgentTokenResult").len(), 3);
        // The root types list every field, but only the selected ones' types are recorded.
        for (name, def) in
            real.types.iter().filter(|(name, _)| **name != real.query && Some(*name) != real.mutation.as_ref())
        {
            for field in def.fields.values() {
                assert!(real.types.contains_key(named(&field.ty)), "{name} refers to an unrecorded type");
            }
        }
    }
}
