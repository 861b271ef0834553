//! Values between the protocol and the schema: decoding and encoding `DynamicValue`s, identities, and
//! checking a configuration against its schema.

use cty::{Type, Value};

use crate::diag::{Diagnostic, Diagnostics};
use crate::proto::tfplugin6 as pb;
use crate::resource::AnyResource;
use crate::schema::Schema;

pub(super) fn decode(value: Option<&pb::DynamicValue>, ty: &Type) -> Result<Value, Diagnostic> {
    let result = match value {
        None => return Ok(Value::Null),
        Some(v) if !v.msgpack.is_empty() => cty::msgpack::decode(&v.msgpack, ty),
        Some(v) if !v.json.is_empty() => cty::json::decode(&v.json, ty),
        Some(_) => return Ok(Value::Null),
    };
    result.map_err(|e| {
        Diagnostic::error("Provider could not decode a value from Terraform", e.message.clone()).at(e.path)
    })
}

pub(super) fn encode(value: &Value, ty: &Type) -> Result<pb::DynamicValue, Diagnostic> {
    cty::msgpack::encode(value, ty)
        .map(|msgpack| pb::DynamicValue { msgpack, json: Vec::new() })
        .map_err(|e| Diagnostic::error("Provider produced a value it cannot encode", e.message.clone()).at(e.path))
}

/// The identity of the object `state` describes, encoded for the protocol (resources without an identity,
/// and states not fully known yet, have none).
pub(super) fn identity_data<C>(
    resource: &dyn AnyResource<C>,
    state: &Value,
    diags: &mut Diagnostics,
) -> Option<pb::ResourceIdentityData> {
    let schema = resource.identity_schema()?;
    let identity = resource.identity(state)?;
    diags.capture(encode(&identity, &schema.value_type())).map(|v| pb::ResourceIdentityData { identity_data: Some(v) })
}

/// Drops attributes a state holds that the current schema no longer has; otherwise a removed attribute
/// would make every old state undecodable.
pub(super) fn prune_to_type(json: &mut serde_json::Value, ty: &Type) {
    match (json, ty) {
        (serde_json::Value::Object(map), Type::Object(object)) => {
            map.retain(|k, _| object.attributes.contains_key(k));
            for (name, attr_ty) in &object.attributes {
                if let Some(v) = map.get_mut(name) {
                    prune_to_type(v, attr_ty);
                }
            }
        }
        (serde_json::Value::Array(items), Type::List(inner) | Type::Set(inner)) => {
            items.iter_mut().for_each(|item| prune_to_type(item, inner))
        }
        (serde_json::Value::Object(map), Type::Map(inner)) => map.values_mut().for_each(|v| prune_to_type(v, inner)),
        _ => {}
    }
}

/// The checks every `Validate*Config` RPC makes: the schema's own, then the type's `extra` on the decoded value.
pub(super) fn validate_config(
    schema: &Schema,
    config: Option<&pb::DynamicValue>,
    extra: impl FnOnce(&Value, &mut Diagnostics),
) -> Vec<pb::Diagnostic> {
    let mut diags = Diagnostics::new();
    if let Some(config) = diags.capture(decode(config, &schema.value_type())) {
        schema.block.validate(&config, &cty::Path::root(), &mut diags);
        extra(&config, &mut diags);
    }
    diags.into_proto()
}
