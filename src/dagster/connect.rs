//! Why a connection to Dagster+ failed, read from the error's types (never its text), and which failures
//! no retry can fix: nothing listening on a loopback port, a host name that does not resolve, a TLS
//! handshake that fails (wrong scheme, untrusted certificate). Those end the request at once; the rest
//! (refused by a remote host, reset, timed out) are retried.

use std::error::Error as StdError;
use std::fmt::Write;

/// A connection failure that retrying cannot fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permanent {
    /// Connection refused by a loopback address: no process listens on that port.
    RefusedOnLoopback,
    /// The host name does not resolve (the lookup failed with this cause).
    UnknownHost { host: String, cause: String },
    /// The TLS handshake failed.
    Tls { cause: String },
}

/// Every message in the error's source chain, outermost first, each once.
pub fn causes(error: &(dyn StdError + 'static)) -> String {
    let mut text = String::new();
    let mut seen: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let message = e.to_string();
        // Some layers repeat their source's message in their own; keep the first occurrence only.
        if !message.is_empty() && !seen.iter().any(|s| s.contains(&message)) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            let _ = write!(text, "{message}");
            seen.push(message);
        }
        current = e.source();
    }
    text
}

/// Whether a failure to connect to `url` is permanent. A DNS failure is confirmed by looking the host up
/// again here, so a resolver's own error type need not be known.
pub async fn permanent(error: &reqwest::Error, url: &str) -> Option<Permanent> {
    if let Some(cause) = tls_failure(error) {
        return Some(Permanent::Tls { cause });
    }
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    let address = host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().ok();
    let loopback = address.map_or(host.eq_ignore_ascii_case("localhost"), |ip| ip.is_loopback());
    if io_kind(error) == Some(std::io::ErrorKind::ConnectionRefused) && loopback {
        return Some(Permanent::RefusedOnLoopback);
    }
    if address.is_none() {
        // The resolver the client connects through (src/dns/), so both see the same answer.
        if let Err(e) = crate::dns::Resolver::system().lookup(host).await {
            return Some(Permanent::UnknownHost { host: host.to_string(), cause: e.to_string() });
        }
    }
    None
}

/// The kind of the first I/O error in the chain.
fn io_kind(error: &(dyn StdError + 'static)) -> Option<std::io::ErrorKind> {
    chain(error).find_map(|e| e.downcast_ref::<std::io::Error>()).map(std::io::Error::kind)
}

/// The rustls error in the chain, also where I/O errors wrap it (the connector nests two, and an I/O error
/// hides what it wraps from `source()`).
fn tls_failure(error: &(dyn StdError + 'static)) -> Option<String> {
    chain(error).find_map(|mut e| loop {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        match e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => e = inner,
            None => return None,
        }
    })
}

fn chain<'a>(error: &'a (dyn StdError + 'static)) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |&e| e.source())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("error sending request")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn causes_lists_the_chain_once_each() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let text = causes(&Outer(refused));
        assert!(text.starts_with("error sending request: "), "{text}");
        assert!(text.to_lowercase().contains("refused"), "{text}");
        assert_eq!(
            io_kind(&Outer(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))),
            Some(std::io::ErrorKind::ConnectionRefused)
        );
    }

    #[test]
    fn a_rustls_error_inside_an_io_error_is_found() {
        let tls = std::io::Error::new(std::io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        assert!(tls_failure(&Outer(tls)).is_some());
        assert_eq!(tls_failure(&Outer(std::io::Error::from(std::io::ErrorKind::ConnectionReset))), None);
    }

    /// https to a server that answers in plain HTTP, as reqwest reports it.
    #[tokio::test]
    async fn tls_to_a_plain_http_server_is_permanent() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            if let Ok((mut stream, _)) = listener.accept() {
                let mut buffer = [0u8; 512];
                let _ = stream.read(&mut buffer);
                let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
            }
        });
        let url = format!("https://127.0.0.1:{port}/graphql");
        let error = reqwest::Client::new().post(&url).send().await.expect_err("no TLS server there");
        assert!(error.is_connect(), "{error:?}");
        assert!(matches!(permanent(&error, &url).await, Some(Permanent::Tls { .. })), "{error:?}");
    }
}
