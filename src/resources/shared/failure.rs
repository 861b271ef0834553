//! How a failed Dagster+ call becomes a diagnostic: `.during(step)` names what the provider was doing and keeps
//! the typed error until the diagnostic is made (`Diagnostic::from`, or `?` in code returning
//! `Result<_, Diagnostic>`). The registry's AWS steps do the same with their own step enum
//! (`registry::error::RegistryError`); either way a diagnostic comes only from a typed error's `From`.

use std::borrow::Cow;

use cty::Path;
use tfplugin::Diagnostic;

use crate::dagster;

/// A failed step: its summary, the Dagster+ error (the diagnostic's detail), and the attribute it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{step}")]
pub struct Failed {
    step: Cow<'static, str>,
    /// Boxed: Dagster+ errors are large and `Result<_, Failed>` is returned everywhere.
    #[source]
    error: Box<dagster::Error>,
    attribute: Option<Path>,
}

impl Failed {
    pub fn new(step: impl Into<Cow<'static, str>>, error: dagster::Error) -> Self {
        Failed { step: step.into(), error: Box::new(error), attribute: None }
    }

    /// Attaches the diagnostic to `attribute`.
    pub fn at(mut self, attribute: Path) -> Self {
        self.attribute = Some(attribute);
        self
    }
}

impl From<Failed> for Diagnostic {
    fn from(failed: Failed) -> Self {
        let diagnostic = Diagnostic::error(failed.step, failed.error.to_string());
        match failed.attribute {
            Some(path) => diagnostic.at(path),
            None => diagnostic,
        }
    }
}

pub trait During<T> {
    fn during(self, step: impl Into<Cow<'static, str>>) -> Result<T, Failed>;
}

impl<T> During<T> for Result<T, dagster::Error> {
    fn during(self, step: impl Into<Cow<'static, str>>) -> Result<T, Failed> {
        self.map_err(|error| Failed::new(step, error))
    }
}
