//! Terraform's diagnostics as its machine-readable output gives them: `terraform validate -json` prints one
//! object with a `diagnostics` array, and `plan`/`apply`/`refresh`/`destroy -json` stream one JSON object per
//! line, diagnostics among them (`"type": "diagnostic"`). Both exist from Terraform 1.0 on, so tests never
//! parse the box-drawn text, whose wrapping and layout change between releases.

use serde_json::Value;

use super::{Run, Workspace};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One diagnostic.
#[derive(Clone, Debug)]
pub struct TfDiagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    /// The object Terraform names (`dagsterbranch_agent.x`, `provider["…"]`), when it names one.
    pub address: Option<String>,
    /// The configuration block around the source, e.g. `resource "dagsterbranch_agent" "x"` or
    /// `provider "dagsterbranch"`.
    pub context: Option<String>,
    /// The configuration line the diagnostic points at, trimmed.
    pub source_line: Option<String>,
}

impl TfDiagnostic {
    fn from_json(diagnostic: &Value) -> TfDiagnostic {
        let text = |key: &str| diagnostic[key].as_str().unwrap_or_default().to_string();
        let severity = match diagnostic["severity"].as_str() {
            Some("error") => Severity::Error,
            Some("warning") => Severity::Warning,
            other => panic!("a diagnostic of unknown severity {other:?}: {diagnostic}"),
        };
        let snippet = &diagnostic["snippet"];
        let source_line = snippet["code"].as_str().map(|code| {
            // The highlighted line, where the snippet quotes several.
            let start = snippet["highlight_start_offset"].as_u64().unwrap_or(0) as usize;
            let line_start = code.get(..start).and_then(|before| before.rfind('\n')).map_or(0, |i| i + 1);
            code[line_start..].lines().next().unwrap_or_default().trim().to_string()
        });
        TfDiagnostic {
            severity,
            summary: text("summary"),
            detail: text("detail"),
            address: diagnostic["address"].as_str().map(str::to_string),
            context: snippet["context"].as_str().map(str::to_string),
            source_line,
        }
    }

    /// Whether the diagnostic names `attribute`: the line it points at starts with it (`attribute = …` or
    /// `attribute {`), its summary mentions it as a word, or its detail quotes it (`"attribute"`, `` `attribute` ``).
    pub fn names_attribute(&self, attribute: &str) -> bool {
        let is_word_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let starts_with_word =
            |text: &str| text.trim_start().strip_prefix(attribute).is_some_and(|rest| !rest.starts_with(is_word_char));
        let has_word = |text: &str| {
            text.match_indices(attribute).any(|(i, _)| {
                let before = text[..i].chars().next_back();
                let after = text[i + attribute.len()..].chars().next();
                !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
            })
        };
        self.source_line.as_deref().is_some_and(starts_with_word)
            || has_word(&self.summary)
            || self.detail.contains(&format!("\"{attribute}\""))
            || self.detail.contains(&format!("`{attribute}`"))
    }

    /// Summary and detail, for assertions on what the diagnostic says.
    pub fn text(&self) -> String {
        format!("{}\n{}", self.summary, self.detail)
    }

    pub fn describe(&self) -> String {
        format!(
            "{:?}: {} [with {}; in {}; source {:?}] {}",
            self.severity,
            self.summary,
            self.address.as_deref().unwrap_or("-"),
            self.context.as_deref().unwrap_or("-"),
            self.source_line.as_deref().unwrap_or(""),
            self.detail.split_whitespace().collect::<Vec<_>>().join(" ")
        )
    }
}

/// The diagnostics in the standard output of a `-json` command: `validate`'s single object, or the line
/// stream of the others.
pub fn json_diagnostics(stdout: &str) -> Vec<TfDiagnostic> {
    if let Ok(report) = serde_json::from_str::<Value>(stdout) {
        if let Some(all) = report["diagnostics"].as_array() {
            return all.iter().map(TfDiagnostic::from_json).collect();
        }
    }
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["type"] == "diagnostic")
        .map(|message| TfDiagnostic::from_json(&message["diagnostic"]))
        .collect()
}

/// A `-json` command's run and the diagnostics it reported.
pub struct JsonRun {
    pub run: Run,
    pub diagnostics: Vec<TfDiagnostic>,
}

impl JsonRun {
    pub fn errors(&self) -> impl Iterator<Item = &TfDiagnostic> {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Error)
    }

    /// The first error whose summary or detail contains `text`; fails the test, listing every diagnostic,
    /// if none does.
    pub fn error_containing(&self, text: &str) -> &TfDiagnostic {
        self.errors().find(|d| d.text().contains(text)).unwrap_or_else(|| {
            panic!("no error diagnostic says {text:?}; diagnostics:\n{}\n{}", self.listing(), self.run.describe())
        })
    }

    /// Every diagnostic, a line each, for failure messages.
    pub fn listing(&self) -> String {
        self.diagnostics.iter().map(|d| format!("  {}", d.describe())).collect::<Vec<_>>().join("\n")
    }
}

impl Workspace {
    /// Runs `terraform ARGS -json` and reads the diagnostics from its machine-readable output.
    pub fn run_json(&self, args: &[&str]) -> JsonRun {
        let mut args = args.to_vec();
        args.push("-json");
        let run = self.run(&args);
        let diagnostics = json_diagnostics(&run.stdout);
        JsonRun { run, diagnostics }
    }

    /// `terraform apply -auto-approve -json`, expected to fail: its error diagnostics.
    pub fn failing_apply(&self) -> JsonRun {
        let applied = self.run_json(&["apply", "-auto-approve"]);
        assert_ne!(applied.run.code, 0, "apply was expected to fail:\n{}", applied.run.describe());
        assert!(
            applied.errors().next().is_some(),
            "apply failed without an error diagnostic:\n{}",
            applied.run.describe()
        );
        applied
    }
}
