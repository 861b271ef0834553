//! Host name resolution without the C library. The release binary is linked statically (see
//! scripts/release-build), and a static glibc program that calls `getaddrinfo` loads the host's
//! `libnss_*.so` modules (mdns, systemd-resolved, ldap, …) built for another glibc into itself. So every
//! connection the provider makes (the Dagster+ client through reqwest, the AWS SDK's connector) resolves
//! names here instead: `/etc/hosts` first, then the name servers of `/etc/resolv.conf` over UDP/TCP, as
//! glibc's `files dns` configuration would. The same code runs in debug and test builds.

mod files;
mod wire;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use files::ResolvConf;
use wire::{Answer, WireError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The name exists in neither the hosts file nor DNS (NXDOMAIN or no address records).
    #[error("no address found for `{host}`")]
    NotFound { host: String },
    /// No name server gave an answer; the last failure is the source.
    #[error("no name server answered for `{host}` (tried {servers})")]
    NoAnswer {
        host: String,
        servers: String,
        #[source]
        source: WireError,
    },
}

/// Resolves host names from the hosts file and resolv.conf, re-reading both on every lookup (as glibc
/// does without nscd) so an edit applies to the next connection. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Resolver(Arc<Paths>);

#[derive(Debug)]
struct Paths {
    hosts: PathBuf,
    resolv_conf: PathBuf,
    /// The name servers' port: 53, another only in tests (resolv.conf cannot say one).
    port: u16,
}

impl Resolver {
    /// The host's configuration, `/etc/hosts` and `/etc/resolv.conf`.
    pub fn system() -> Resolver {
        Resolver::with_files("/etc/hosts".into(), "/etc/resolv.conf".into(), 53)
    }

    fn with_files(hosts: PathBuf, resolv_conf: PathBuf, port: u16) -> Resolver {
        Resolver(Arc::new(Paths { hosts, resolv_conf, port }))
    }

    /// The addresses of `host`: an IP literal as itself, else from the hosts file, else from DNS (IPv4
    /// addresses first, then IPv6).
    pub async fn lookup(&self, host: &str) -> Result<Vec<IpAddr>, Error> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let name = host.to_ascii_lowercase();
        let hosts = read(&self.0.hosts).await;
        let listed = files::hosts_lookup(&hosts, name.trim_end_matches('.'));
        if !listed.is_empty() {
            return Ok(listed);
        }
        // Special-use names (RFC 6761): `localhost` is this machine even without a hosts entry, and
        // `.invalid` never exists; neither is sent to a name server.
        let absolute = name.trim_end_matches('.');
        if absolute == "localhost" || absolute.ends_with(".localhost") {
            return Ok(vec![IpAddr::from([127, 0, 0, 1]), IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1])]);
        }
        if absolute == "invalid" || absolute.ends_with(".invalid") {
            return Err(Error::NotFound { host: host.to_string() });
        }
        let conf = ResolvConf::parse(&read(&self.0.resolv_conf).await, self.0.port);
        let mut last_failure = None;
        for candidate in conf.candidates(&name) {
            match query_both(&conf, &candidate).await {
                Ok(addresses) if !addresses.is_empty() => return Ok(addresses),
                Ok(_) => {}
                Err(e) => last_failure = Some(e),
            }
        }
        match last_failure {
            // Some name could not be asked at all: say so rather than "not found".
            Some(source) => Err(Error::NoAnswer {
                host: host.to_string(),
                servers: conf.nameservers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                source,
            }),
            None => Err(Error::NotFound { host: host.to_string() }),
        }
    }
}

/// A missing or unreadable file reads as empty, as glibc treats it.
async fn read(path: &std::path::Path) -> String {
    tokio::fs::read_to_string(path).await.unwrap_or_default()
}

/// The A and AAAA records of `name`, asked at the same time; empty if the name does not exist.
async fn query_both(conf: &ResolvConf, name: &str) -> Result<Vec<IpAddr>, WireError> {
    let (v4, v6) = tokio::join!(query_one(conf, name, wire::TYPE_A), query_one(conf, name, wire::TYPE_AAAA));
    match (v4, v6) {
        (Ok(mut v4), Ok(v6)) => {
            v4.extend(v6);
            Ok(v4)
        }
        // One family answered: use it (a server that fails AAAA queries is common enough).
        (Ok(found), Err(e)) | (Err(e), Ok(found)) => {
            if found.is_empty() {
                Err(e)
            } else {
                Ok(found)
            }
        }
        (Err(e), Err(_)) => Err(e),
    }
}

/// One record type from the first server that answers, each server tried `attempts` times in turn.
async fn query_one(conf: &ResolvConf, name: &str, record_type: u16) -> Result<Vec<IpAddr>, WireError> {
    let mut last = WireError::Timeout(conf.timeout);
    for _ in 0..conf.attempts {
        for server in &conf.nameservers {
            match wire::exchange(*server, name, record_type, conf.timeout).await {
                Ok(Answer::Addresses(addresses)) => return Ok(addresses),
                Ok(Answer::NoSuchName) => return Ok(Vec::new()),
                Ok(Answer::ServerError(code)) => last = WireError::ServerFailure(code),
                Err(e @ WireError::BadName(_)) => return Err(e),
                Err(e) => last = e,
            }
        }
    }
    Err(last)
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = self.clone();
        Box::pin(async move {
            let addresses = resolver.lookup(name.as_str()).await?;
            // Port 0 is replaced by the URL's port.
            let addrs: reqwest::dns::Addrs = Box::new(addresses.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

impl aws_smithy_runtime_api::client::dns::ResolveDns for Resolver {
    fn resolve_dns<'a>(&'a self, name: &'a str) -> aws_smithy_runtime_api::client::dns::DnsFuture<'a> {
        aws_smithy_runtime_api::client::dns::DnsFuture::new(async move {
            self.lookup(name).await.map_err(aws_smithy_runtime_api::client::dns::ResolveDnsError::new)
        })
    }
}

#[cfg(test)]
mod tests;
