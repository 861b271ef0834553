//! Terraform's diagnostics, as the tests read them.

/// One diagnostic as Terraform prints it with `-no-color`.
#[derive(Clone, Debug, Default)]
pub struct TfDiagnostic {
    /// `Error` or `Warning`.
    pub severity: String,
    pub summary: String,
    /// From `with ADDRESS,`, when Terraform names an object.
    pub address: Option<String>,
    /// From `on FILE line N, in CONTEXT:`, e.g. `resource "dagsterbranch_agent" "x"` or `provider "dagsterbranch"`.
    pub context: Option<String>,
    /// The configuration line Terraform quotes (without its `N:` prefix).
    pub source_line: Option<String>,
    /// Everything after the quoted source.
    pub detail: String,
}

impl TfDiagnostic {
    /// Whether the diagnostic names `attribute`: its quoted source line starts with it (`attribute = …` or
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

    pub fn describe(&self) -> String {
        format!(
            "{}: {} [with {}; in {}; source {:?}] {}",
            self.severity,
            self.summary,
            self.address.as_deref().unwrap_or("-"),
            self.context.as_deref().unwrap_or("-"),
            self.source_line.as_deref().unwrap_or(""),
            self.detail.split_whitespace().collect::<Vec<_>>().join(" ")
        )
    }
}

/// Splits Terraform's `-no-color` output into diagnostics (each starts with `Error: ` or `Warning: ` at the
/// start of a line, as Terraform prints them when not on a terminal).
pub fn diagnostics(output: &str) -> Vec<TfDiagnostic> {
    let mut found: Vec<TfDiagnostic> = Vec::new();
    let mut in_snippet = false;
    for line in output.lines() {
        let header = line
            .strip_prefix("Error: ")
            .map(|s| ("Error", s))
            .or_else(|| line.strip_prefix("Warning: ").map(|s| ("Warning", s)));
        if let Some((severity, summary)) = header {
            found.push(TfDiagnostic {
                severity: severity.into(),
                summary: summary.trim().into(),
                ..TfDiagnostic::default()
            });
            in_snippet = false;
            continue;
        }
        let Some(current) = found.last_mut() else { continue };
        let trimmed = line.trim();
        if let Some(address) = trimmed.strip_prefix("with ").and_then(|s| s.strip_suffix(',')) {
            current.address = Some(address.to_string());
        } else if trimmed.starts_with("on ") && trimmed.contains(" line ") && current.source_line.is_none() {
            current.context = trimmed.split_once(", in ").map(|(_, c)| c.trim_end_matches(':').to_string());
            in_snippet = true;
        } else if let Some(text) = snippet_line(trimmed).filter(|_| in_snippet && current.source_line.is_none()) {
            current.source_line = Some(text.to_string());
        } else if !trimmed.is_empty() && !trimmed.starts_with('├') && !trimmed.starts_with('│') {
            in_snippet = false;
            if !current.detail.is_empty() {
                current.detail.push('\n');
            }
            current.detail.push_str(trimmed);
        }
    }
    found
}

/// The text of a quoted source line, `12:   replicas = -1` → `replicas = -1`.
fn snippet_line(line: &str) -> Option<&str> {
    let (number, text) = line.split_once(':')?;
    (!number.is_empty() && number.chars().all(|c| c.is_ascii_digit())).then(|| text.trim())
}
