//! Provider-defined functions: their signatures (GetFunctions, and the `functions` map of GetProviderSchema)
//! and CallFunction. Functions need no configured provider, so none of this touches the client.

use std::collections::HashMap;

use tonic::{Request, Response, Status};
use tracing::debug;

use super::values::decode;
use super::ProviderService;
use crate::function::{FunctionError, Parameter};
use crate::proto::tfplugin6 as pb;
use crate::provider::Provider;

impl<P: Provider> ProviderService<P> {
    /// Every function's signature, keyed by name, as both GetFunctions and GetProviderSchema send them.
    pub(super) fn function_signatures(&self) -> HashMap<String, pb::Function> {
        self.functions.iter().map(|(name, f)| (name.to_string(), f.signature().to_proto())).collect()
    }

    pub(super) fn function_metadata(&self) -> Vec<pb::get_metadata::FunctionMetadata> {
        self.functions.keys().map(|name| pb::get_metadata::FunctionMetadata { name: name.to_string() }).collect()
    }

    pub(super) async fn serve_get_functions(
        &self,
        _: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        Ok(Response::new(pb::get_functions::Response {
            functions: self.function_signatures(),
            diagnostics: Vec::new(),
        }))
    }

    pub(super) async fn serve_call_function(
        &self,
        request: Request<pb::call_function::Request>,
    ) -> Result<Response<pb::call_function::Response>, Status> {
        let request = request.into_inner();
        let function = self
            .functions
            .get(request.name.as_str())
            .ok_or_else(|| Status::not_found(format!("this provider has no function `{}`", request.name)))?;
        let signature = function.signature();
        debug!(function = function.name(), arguments = request.arguments.len(), "CallFunction");
        let outcome = (|| {
            let arguments = request
                .arguments
                .iter()
                .enumerate()
                .map(|(index, value)| {
                    let parameter = parameter_at(&signature.parameters, signature.variadic.as_ref(), index)
                        .ok_or_else(|| {
                            FunctionError::new(format!("too many arguments ({})", request.arguments.len()))
                        })?;
                    decode(Some(value), &parameter.ty)
                        .map_err(|d| FunctionError::argument(index, format!("{}: {}", d.summary, d.detail)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if arguments.len() < signature.parameters.len() {
                return Err(FunctionError::new(format!(
                    "expected {} arguments, got {}",
                    signature.parameters.len(),
                    arguments.len()
                )));
            }
            let result = function.call(&arguments)?;
            super::values::encode(&result, &signature.return_type)
                .map_err(|d| FunctionError::new(format!("{}: {}", d.summary, d.detail)))
        })();
        Ok(Response::new(match outcome {
            Ok(result) => pb::call_function::Response { result: Some(result), error: None },
            Err(error) => pb::call_function::Response { result: None, error: Some(error.to_proto()) },
        }))
    }
}

/// The parameter argument `index` is passed for: a positional one, or the variadic one past them.
fn parameter_at<'a>(fixed: &'a [Parameter], variadic: Option<&'a Parameter>, index: usize) -> Option<&'a Parameter> {
    fixed.get(index).or(if index >= fixed.len() { variadic } else { None })
}

#[cfg(test)]
mod tests {
    use cty::{Type, Value};
    use pb::provider_server::Provider as _;
    use tokio_util::sync::CancellationToken;

    use super::super::test_provider::TestProvider;
    use super::*;
    use crate::function::{Function, FunctionHandle, Signature};

    /// `repeat(text, times, separators...)`: fails on a negative count, blaming argument 1.
    struct Repeat;

    impl Function for Repeat {
        type Args = (String, i64, Vec<String>);
        type Return = String;
        fn name(&self) -> &'static str {
            "repeat"
        }
        fn signature(&self) -> Signature {
            Signature::new("Repeats text", "Repeats `text`.", Type::String)
                .parameter(Parameter::new("text", Type::String, "what"))
                .parameter(Parameter::new("times", Type::Number, "how often"))
                .variadic(Parameter::new("separator", Type::String, "between"))
        }
        fn call(&self, (text, times, separators): Self::Args) -> Result<String, FunctionError> {
            let times = usize::try_from(times).map_err(|_| FunctionError::argument(1, "times must not be negative"))?;
            Ok(vec![text; times].join(&separators.concat()))
        }
    }

    fn service() -> ProviderService<TestProvider> {
        let provider = TestProvider { functions: || vec![FunctionHandle::new(Repeat)], ..TestProvider::default() };
        ProviderService::new(provider, CancellationToken::new())
    }

    fn argument(value: Value, ty: &Type) -> pb::DynamicValue {
        pb::DynamicValue { msgpack: cty::msgpack::encode(&value, ty).unwrap(), json: Vec::new() }
    }

    async fn call(arguments: Vec<pb::DynamicValue>) -> pb::call_function::Response {
        let request = pb::call_function::Request { name: "repeat".into(), arguments };
        service().call_function(Request::new(request)).await.unwrap().into_inner()
    }

    fn number(n: i64) -> Value {
        Value::Number(cty::Number::from_i64(n))
    }

    #[tokio::test]
    async fn functions_are_announced_in_metadata_schema_and_get_functions() {
        let service = service();
        let metadata = service.get_metadata(Request::new(Default::default())).await.unwrap().into_inner();
        assert_eq!(metadata.functions.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["repeat"]);
        let schema = service.get_provider_schema(Request::new(Default::default())).await.unwrap().into_inner();
        assert_eq!(schema.functions["repeat"].parameters.len(), 2);
        let listed = service.get_functions(Request::new(Default::default())).await.unwrap().into_inner();
        assert_eq!(listed.functions["repeat"].variadic_parameter.as_ref().unwrap().name, "separator");
    }

    #[tokio::test]
    async fn a_call_decodes_positional_and_variadic_arguments_and_encodes_the_result() {
        let response = call(vec![
            argument(Value::String("ab".into()), &Type::String),
            argument(number(3), &Type::Number),
            argument(Value::String("-".into()), &Type::String),
            argument(Value::String("+".into()), &Type::String),
        ])
        .await;
        assert!(response.error.is_none(), "{:?}", response.error);
        let result = cty::msgpack::decode(&response.result.unwrap().msgpack, &Type::String).unwrap();
        assert_eq!(result.as_str(), Some("ab-+ab-+ab"));
    }

    #[tokio::test]
    async fn a_failed_call_names_the_argument() {
        let response =
            call(vec![argument(Value::String("ab".into()), &Type::String), argument(number(-1), &Type::Number)]).await;
        let error = response.error.expect("an error");
        assert_eq!((error.text.as_str(), error.function_argument), ("times must not be negative", Some(1)));
        assert!(response.result.is_none());
    }

    #[tokio::test]
    async fn missing_arguments_and_unknown_functions_are_refused() {
        let response = call(vec![argument(Value::String("ab".into()), &Type::String)]).await;
        assert_eq!(response.error.expect("an error").text, "expected 2 arguments, got 1");
        let request = pb::call_function::Request { name: "nope".into(), arguments: Vec::new() };
        let status = service().call_function(Request::new(request)).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::NotFound);
    }
}
