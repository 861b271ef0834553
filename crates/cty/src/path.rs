//! Locations inside a value and the error type that reports them.
//!
//! Every failure in this crate names the attribute it happened at, because
//! Terraform shows diagnostics against the offending attribute rather than
//! against the whole resource.

use std::fmt::{self, Write as _};

/// Where in a value something is; diagnostics turn this into the protocol's
/// `AttributePath`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Path(pub Vec<PathStep>);

/// One step of a [`Path`]. The variants mirror the protocol's
/// `AttributePath.Step` so the conversion is one-to-one.
///
/// Set elements have no key in the protocol; this crate addresses them by
/// their position in the encoded sequence, which the protocol layer may drop.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// An object attribute.
    Attribute(String),
    /// A map key.
    ElementKeyString(String),
    /// A list, tuple or set position.
    ElementKeyInt(i64),
}

impl Path {
    /// The empty path: the value itself.
    pub fn root() -> Path {
        Path(Vec::new())
    }

    /// This path extended by an object attribute.
    pub fn attr(&self, name: &str) -> Path {
        self.with(PathStep::Attribute(name.to_owned()))
    }

    /// This path extended by a map key.
    pub fn key(&self, k: &str) -> Path {
        self.with(PathStep::ElementKeyString(k.to_owned()))
    }

    /// This path extended by a list, tuple or set position.
    pub fn index(&self, i: i64) -> Path {
        self.with(PathStep::ElementKeyInt(i))
    }

    /// Whether this is the root path.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The steps of this path, outermost first.
    pub fn steps(&self) -> &[PathStep] {
        &self.0
    }

    fn with(&self, step: PathStep) -> Path {
        let mut steps = Vec::with_capacity(self.0.len() + 1);
        steps.extend_from_slice(&self.0);
        steps.push(step);
        Path(steps)
    }

    /// Runs `f` with `step` appended to this path, and removes the step again
    /// whatever `f` returns; the codecs walk values with one mutable path
    /// instead of allocating a new path per element.
    pub(crate) fn within<T>(&mut self, step: PathStep, f: impl FnOnce(&mut Path) -> T) -> T {
        self.0.push(step);
        let result = f(self);
        self.0.pop();
        result
    }
}

/// Positions beyond `i64::MAX` cannot occur in memory; saturating keeps the
/// conversion total without a panic path.
pub(crate) fn index_step(i: usize) -> PathStep {
    PathStep::ElementKeyInt(i64::try_from(i).unwrap_or(i64::MAX))
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attribute(name) => {
                    if n > 0 {
                        f.write_char('.')?;
                    }
                    f.write_str(name)?;
                }
                PathStep::ElementKeyString(k) => {
                    f.write_str("[\"")?;
                    for c in k.chars() {
                        match c {
                            '"' => f.write_str("\\\"")?,
                            '\\' => f.write_str("\\\\")?,
                            '\n' => f.write_str("\\n")?,
                            '\r' => f.write_str("\\r")?,
                            '\t' => f.write_str("\\t")?,
                            c if c.is_control() => write!(f, "\\u{{{:04x}}}", u32::from(c))?,
                            c => f.write_char(c)?,
                        }
                    }
                    f.write_str("\"]")?;
                }
                PathStep::ElementKeyInt(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// A failure to convert, encode or decode a value, with the path of the part
/// of the value that caused it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(path, message))]
pub struct Error {
    /// Where in the value the failure happened; empty for the value itself.
    pub path: Path,
    /// What went wrong, phrased for an end user.
    pub message: String,
}

impl Error {
    /// An error at `path`.
    pub fn new(path: Path, message: impl Into<String>) -> Error {
        Error { path, message: message.into() }
    }

    /// An error about the value as a whole.
    pub fn at_root(message: impl Into<String>) -> Error {
        Error::new(Path::root(), message)
    }

    /// An error at a borrowed path, for the codecs' mutable walk paths.
    pub(crate) fn at(path: &Path, message: impl Into<String>) -> Error {
        Error::new(path.clone(), message)
    }
}

fn render(path: &Path, message: &str) -> String {
    if path.is_root() {
        message.to_owned()
    } else {
        format!("at {path}: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_paths() {
        let cases = [
            (Path::root(), ""),
            (Path::root().attr("name"), "name"),
            (Path::root().attr("code_location").index(1).attr("image"), "code_location[1].image"),
            (Path::root().attr("tags").key("team"), "tags[\"team\"]"),
            (Path::root().attr("m").key("a\"b\\c\n"), "m[\"a\\\"b\\\\c\\n\"]"),
            (Path::root().index(0).index(2), "[0][2]"),
        ];
        for (path, want) in cases {
            assert_eq!(path.to_string(), want);
        }
    }

    #[test]
    fn builders_do_not_mutate() {
        let base = Path::root().attr("a");
        let child = base.key("k");
        assert_eq!(base.0.len(), 1);
        assert_eq!(child.0, vec![PathStep::Attribute("a".into()), PathStep::ElementKeyString("k".into())]);
    }

    #[test]
    fn error_display() {
        assert_eq!(Error::at_root("boom").to_string(), "boom");
        let e = Error::new(Path::root().attr("a").index(2).attr("b"), "a number is required");
        assert_eq!(e.to_string(), "at a[2].b: a number is required");
    }
}
