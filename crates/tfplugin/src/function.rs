//! Provider-defined functions (Terraform ≥ 1.8, `provider::<name>::<function>(…)`), typed like resources: the
//! arguments arrive decoded into a serde type (a tuple in call order), the result leaves as one.
//!
//! Functions are pure: Terraform may call them before the provider is configured, so they get no client.

use std::sync::Arc;

use cty::{Type, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::proto::tfplugin6 as pb;

/// One positional parameter (or the variadic one).
#[derive(Clone, Debug)]
pub struct Parameter {
    pub name: String,
    pub ty: Type,
    pub description: String,
    /// Whether `null` may be passed; otherwise Terraform rejects it before calling.
    pub allow_null: bool,
}

impl Parameter {
    pub fn new(name: impl Into<String>, ty: Type, description: impl Into<String>) -> Self {
        Parameter { name: name.into(), ty, description: description.into(), allow_null: false }
    }

    pub fn allow_null(mut self) -> Self {
        self.allow_null = true;
        self
    }

    fn to_proto(&self) -> pb::function::Parameter {
        pb::function::Parameter {
            name: self.name.clone(),
            r#type: self.ty.to_json_bytes(),
            allow_null_value: self.allow_null,
            // Unknown arguments make Terraform skip the call and treat the result as unknown, so `call` only
            // ever sees known values.
            allow_unknown_values: false,
            description: self.description.clone(),
            description_kind: pb::StringKind::Markdown as i32,
        }
    }
}

/// A function's signature and documentation.
#[derive(Clone, Debug)]
pub struct Signature {
    pub summary: String,
    pub description: String,
    pub parameters: Vec<Parameter>,
    /// Takes any number of trailing arguments; they reach `call` as one list, the last element of the tuple.
    pub variadic: Option<Parameter>,
    pub return_type: Type,
}

impl Signature {
    pub fn new(summary: impl Into<String>, description: impl Into<String>, return_type: Type) -> Self {
        Signature {
            summary: summary.into(),
            description: description.into(),
            parameters: Vec::new(),
            variadic: None,
            return_type,
        }
    }

    pub fn parameter(mut self, parameter: Parameter) -> Self {
        self.parameters.push(parameter);
        self
    }

    pub fn variadic(mut self, parameter: Parameter) -> Self {
        self.variadic = Some(parameter);
        self
    }

    pub(crate) fn to_proto(&self) -> pb::Function {
        pb::Function {
            parameters: self.parameters.iter().map(Parameter::to_proto).collect(),
            variadic_parameter: self.variadic.as_ref().map(Parameter::to_proto),
            r#return: Some(pb::function::Return { r#type: self.return_type.to_json_bytes() }),
            summary: self.summary.clone(),
            description: self.description.clone(),
            description_kind: pb::StringKind::Markdown as i32,
            deprecation_message: String::new(),
        }
    }
}

/// Why a call failed. Terraform shows `text` and, with `argument`, points at that argument in the call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text}")]
pub struct FunctionError {
    pub text: String,
    /// Zero-based position of the argument to blame (variadic arguments count from where they start).
    pub argument: Option<usize>,
}

impl FunctionError {
    pub fn new(text: impl Into<String>) -> Self {
        FunctionError { text: text.into(), argument: None }
    }

    pub fn argument(index: usize, text: impl Into<String>) -> Self {
        FunctionError { text: text.into(), argument: Some(index) }
    }

    pub(crate) fn to_proto(&self) -> pb::FunctionError {
        pb::FunctionError { text: self.text.clone(), function_argument: self.argument.map(|i| i as i64) }
    }
}

pub trait Function: Send + Sync + 'static {
    /// The arguments in call order, as a tuple (`(String, Option<BTreeMap<String, String>>)`); a null argument
    /// reads as `None`.
    type Args: DeserializeOwned;
    /// The result, in the shape of `Signature::return_type`.
    type Return: Serialize;

    /// The name after `provider::<provider>::`.
    fn name(&self) -> &'static str;

    fn signature(&self) -> Signature;

    fn call(&self, args: Self::Args) -> Result<Self::Return, FunctionError>;
}

pub struct FunctionHandle(pub(crate) Arc<dyn AnyFunction>);

impl FunctionHandle {
    pub fn new<F: Function>(function: F) -> Self {
        let signature = function.signature();
        FunctionHandle(Arc::new(TypedFunction { function, signature }))
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    pub fn signature(&self) -> &Signature {
        self.0.signature()
    }
}

pub(crate) trait AnyFunction: Send + Sync {
    fn name(&self) -> &'static str;
    fn signature(&self) -> &Signature;
    /// `arguments` are decoded with their parameters' types, variadic ones included one by one.
    fn call(&self, arguments: &[Value]) -> Result<Value, FunctionError>;
}

struct TypedFunction<F> {
    function: F,
    signature: Signature,
}

impl<F: Function> AnyFunction for TypedFunction<F> {
    fn name(&self) -> &'static str {
        self.function.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn call(&self, arguments: &[Value]) -> Result<Value, FunctionError> {
        let args = typed_arguments(&self.signature, arguments)?;
        let result = self.function.call(args)?;
        crate::model::encode(&result, &self.signature.return_type)
            .map_err(|e| FunctionError::new(format!("provider error: the result does not fit its type: {e}")))
    }
}

/// The arguments as one JSON array in call order, the variadic ones gathered into a trailing array, read into
/// the function's tuple.
fn typed_arguments<T: DeserializeOwned>(signature: &Signature, arguments: &[Value]) -> Result<T, FunctionError> {
    let fixed = signature.parameters.len();
    let mut json = Vec::with_capacity(fixed + 1);
    let plain = |index: usize, value: &Value| {
        value
            .to_plain_json()
            .map_err(|e| FunctionError::argument(index, format!("argument {}: {}", index + 1, e.message)))
    };
    for (index, value) in arguments.iter().enumerate().take(fixed) {
        json.push(plain(index, value)?);
    }
    if signature.variadic.is_some() {
        let rest = arguments.iter().enumerate().skip(fixed).map(|(i, v)| plain(i, v)).collect::<Result<Vec<_>, _>>()?;
        json.push(serde_json::Value::Array(rest));
    }
    serde_json::from_value(serde_json::Value::Array(json))
        .map_err(|e| FunctionError::new(format!("provider error: the arguments do not fit the function: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn signature(variadic: bool) -> Signature {
        let mut s = Signature::new("s", "d", Type::String)
            .parameter(Parameter::new("text", Type::String, "t"))
            .parameter(Parameter::new("labels", Type::map(Type::String), "l").allow_null());
        if variadic {
            s = s.variadic(Parameter::new("more", Type::Number, "m"));
        }
        s
    }

    #[test]
    fn arguments_read_into_a_tuple_with_nulls_as_none() {
        let args = [Value::String("a".into()), Value::Null];
        let (text, labels): (String, Option<BTreeMap<String, String>>) =
            typed_arguments(&signature(false), &args).unwrap();
        assert_eq!((text.as_str(), labels), ("a", None));
    }

    #[test]
    fn variadic_arguments_arrive_as_one_trailing_list() {
        let number = |i: i64| Value::Number(cty::Number::from_i64(i));
        let args = [Value::String("a".into()), Value::Map(BTreeMap::new()), number(1), number(2)];
        let (_, _, rest): (String, BTreeMap<String, String>, Vec<i64>) =
            typed_arguments(&signature(true), &args).unwrap();
        assert_eq!(rest, [1, 2]);
        let (_, _, none): (String, BTreeMap<String, String>, Vec<i64>) =
            typed_arguments(&signature(true), &args[..2]).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn an_unknown_argument_is_blamed_by_position() {
        let args = [Value::String("a".into()), Value::unknown()];
        let error =
            typed_arguments::<(String, Option<BTreeMap<String, String>>)>(&signature(false), &args).unwrap_err();
        assert_eq!(error.argument, Some(1));
    }

    #[test]
    fn the_signature_encodes_types_as_cty_json() {
        let proto = signature(true).to_proto();
        assert_eq!(proto.parameters[1].r#type, br#"["map","string"]"#);
        assert!(proto.parameters[1].allow_null_value && !proto.parameters[0].allow_null_value);
        assert_eq!(proto.variadic_parameter.unwrap().name, "more");
        assert_eq!(proto.r#return.unwrap().r#type, br#""string""#);
    }
}
