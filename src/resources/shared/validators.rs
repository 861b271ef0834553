//! Attribute validators used by more than one schema.

use tfplugin::Validator;

/// A whole number of at least `min` (`what` names the unit in the message, e.g. "seconds").
pub fn whole_number_at_least(min: i64, what: &'static str) -> Validator {
    Validator::new(format!("a whole number of at least {min}"), move |value| match value.as_number() {
        Some(n) if n.is_integer() && n.to_i64().is_some_and(|i| i >= min) => Ok(()),
        Some(n) => Err(format!("{n} is not allowed here; use a whole number of {what} of at least {min}.")),
        None => Ok(()),
    })
}

/// Zero or more (`what` says what the number counts, e.g. "seconds since the Unix epoch").
pub fn non_negative(what: &'static str) -> Validator {
    Validator::new("zero or more", move |value| match value.as_number() {
        Some(n) if n.is_negative() => Err(format!("{n} is negative; expected {what}.")),
        _ => Ok(()),
    })
}

/// A string of ASCII digits (`what` names it in the message).
pub fn digits(what: &'static str) -> Validator {
    Validator::string("digits", move |s| {
        if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
            Ok(())
        } else {
            Err(format!("`{s}` is not a {what}."))
        }
    })
}

/// An absolute http(s) URL with a host.
pub fn url() -> Validator {
    Validator::string("an http(s) URL", |s| check_url(s).map(|_| ()))
}

/// Parses an absolute http(s) URL with a host; the message names the text.
pub fn check_url(s: &str) -> Result<reqwest::Url, String> {
    match reqwest::Url::parse(s) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err(format!("`{s}` is not an http(s) URL.")),
    }
}
