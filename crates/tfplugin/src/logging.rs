//! `tracing` events written as hclog JSON lines on stderr. go-plugin parses these lines and re-emits them
//! in Terraform's log under `provider.<binary>` at their own level, so `TF_LOG=debug` or
//! `TF_LOG_PROVIDER=trace` show them as a Go provider's logs would be shown.

use std::io::Write;

use serde_json::{Map, Value as Json};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The most verbose level asked for by `TF_LOG_PROVIDER` or `TF_LOG`; `None` when logging is off.
pub fn level_from_env() -> Option<Level> {
    let raw = std::env::var("TF_LOG_PROVIDER").or_else(|_| std::env::var("TF_LOG")).ok()?;
    match raw.trim().to_ascii_uppercase().as_str() {
        "TRACE" | "JSON" | "1" => Some(Level::TRACE),
        "DEBUG" => Some(Level::DEBUG),
        "INFO" => Some(Level::INFO),
        "WARN" => Some(Level::WARN),
        "ERROR" => Some(Level::ERROR),
        _ => None,
    }
}

/// Installs the global subscriber. Without `TF_LOG`/`TF_LOG_PROVIDER` nothing is formatted at all.
pub fn init() {
    let Some(level) = level_from_env() else { return };
    let subscriber = tracing_subscriber::registry().with(HclogLayer { max_level: level });
    // Another subscriber may already be installed (tests); that one then wins.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

struct HclogLayer {
    max_level: Level,
}

/// Span fields, kept so each event carries the RPC and resource it belongs to.
struct SpanFields(Map<String, Json>);

impl<S> Layer<S> for HclogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        *metadata.level() <= self.max_level && !is_dependency_noise(metadata.target())
    }

    fn on_new_span(&self, attrs: &tracing::span::Attributes<'_>, id: &tracing::span::Id, ctx: Context<'_, S>) {
        let mut fields = JsonFields(Map::new());
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields.0));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut line = Map::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    line.extend(fields.0.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        let mut fields = JsonFields(Map::new());
        event.record(&mut fields);
        let message = fields.0.remove("message").unwrap_or(Json::String(String::new()));
        line.extend(fields.0);
        line.insert("@level".into(), Json::String(level_name(event.metadata().level()).into()));
        line.insert("@message".into(), message);
        line.insert("@module".into(), Json::String(module_name(event.metadata().target())));
        line.insert("@timestamp".into(), Json::String(timestamp()));
        let mut out = std::io::stderr().lock();
        let _ = serde_json::to_writer(&mut out, &Json::Object(line));
        let _ = out.write_all(b"\n");
    }
}

/// Transport crates log every frame at trace; that drowns the provider's own lines.
fn is_dependency_noise(target: &str) -> bool {
    ["h2", "hyper", "rustls", "tonic", "tower", "reqwest", "aws_", "tokio"].iter().any(|p| target.starts_with(p))
}

fn module_name(target: &str) -> String {
    target.split("::").next().unwrap_or(target).replace('_', "-")
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

fn timestamp() -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    time::OffsetDateTime::now_utc().format(&format).unwrap_or_default()
}

struct JsonFields(Map<String, Json>);

impl Visit for JsonFields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_string(), Json::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), Json::String(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), Json::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), Json::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), Json::Bool(value));
    }
}
