//! `dagsterbranch_bench`: a benchmark-only resource in the shape of HashiCorp's `null_resource` (a
//! `triggers` map that forces replacement and a computed `id`), so `bench/run` can compare the cost of our
//! plugin layer with the Go `null` provider on equal work. It makes no API calls. Compiled only with the
//! `bench` cargo feature, so released binaries never carry it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use cty::{Type, Value};
use tfplugin::{Attribute, Context, Diagnostics, Resource, Schema};

pub const TYPE_NAME: &str = "dagsterbranch_bench";

pub struct BenchResource {
    schema: Schema,
}

impl BenchResource {
    pub fn new() -> Self {
        BenchResource { schema: schema() }
    }
}

impl Default for BenchResource {
    fn default() -> Self {
        Self::new()
    }
}

fn schema() -> Schema {
    Schema::new("Benchmark-only stand-in for `null_resource`: stores `triggers` and a generated `id`; no API calls.")
        .attribute(Attribute::computed("id", Type::String, "A generated identifier.").use_state_for_unknown())
        .attribute(
            Attribute::optional("triggers", Type::Map(Box::new(Type::String)), "Any change replaces the resource.")
                .requires_replace(),
        )
}

/// Unique within a process and across processes in practice, like null_resource's random id; no RNG
/// dependency for a benchmark fixture.
fn new_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{nanos:x}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

fn with_id(planned: &Value, id: String) -> Value {
    match planned {
        Value::Object(attributes) => {
            let mut attributes = attributes.clone();
            attributes.insert("id".to_string(), Value::String(id));
            Value::Object(attributes)
        }
        other => other.clone(),
    }
}

#[async_trait]
impl Resource for BenchResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn create(&self, _ctx: &Context, planned: &Value, _diags: &mut Diagnostics) -> Option<Value> {
        Some(with_id(planned, new_id()))
    }

    // Like null_resource: the state is the truth, so a refresh returns it unchanged.
    async fn read(&self, _ctx: &Context, state: &Value, _diags: &mut Diagnostics) -> Option<Value> {
        Some(state.clone())
    }

    async fn update(&self, _ctx: &Context, _prior: &Value, planned: &Value, _diags: &mut Diagnostics) -> Value {
        planned.clone()
    }

    async fn delete(&self, _ctx: &Context, _state: &Value, _diags: &mut Diagnostics) {}
}
