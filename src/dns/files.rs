//! The two files a Unix resolver is configured by: `/etc/hosts` (static names) and `/etc/resolv.conf`
//! (name servers, search domains, `ndots`, `timeout`, `attempts`), read the way glibc reads them.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The addresses `/etc/hosts` gives `name` (compared without case), in file order.
pub fn hosts_lookup(text: &str, name: &str) -> Vec<IpAddr> {
    let mut found = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let Some(address) = fields.next().and_then(parse_address) else { continue };
        if fields.any(|alias| alias.trim_end_matches('.').eq_ignore_ascii_case(name)) && !found.contains(&address) {
            found.push(address);
        }
    }
    found
}

/// An address as `/etc/hosts` and `nameserver` lines write it; a scoped IPv6 address (`fe80::1%eth0`) is
/// skipped, since a `SocketAddr` built from a bare `IpAddr` could not carry its scope.
fn parse_address(text: &str) -> Option<IpAddr> {
    text.parse().ok()
}

/// What `/etc/resolv.conf` configures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvConf {
    pub nameservers: Vec<SocketAddr>,
    pub search: Vec<String>,
    pub ndots: usize,
    pub timeout: Duration,
    pub attempts: usize,
}

/// glibc's limits and defaults (resolv.conf(5)).
const MAX_NAMESERVERS: usize = 3;
const DEFAULT_TIMEOUT_SECS: u64 = 5;
const DEFAULT_ATTEMPTS: usize = 2;

impl ResolvConf {
    /// Parses the file's text. A missing file is read as an empty one, which like glibc means the name
    /// server on this host.
    pub fn parse(text: &str, port: u16) -> ResolvConf {
        let mut conf = ResolvConf {
            nameservers: Vec::new(),
            search: Vec::new(),
            ndots: 1,
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
            attempts: DEFAULT_ATTEMPTS,
        };
        for line in text.lines() {
            let line = line.split(['#', ';']).next().unwrap_or_default();
            let mut fields = line.split_whitespace();
            match fields.next() {
                Some("nameserver") => {
                    if let Some(ip) = fields.next().and_then(parse_address) {
                        if conf.nameservers.len() < MAX_NAMESERVERS {
                            conf.nameservers.push(SocketAddr::new(ip, port));
                        }
                    }
                }
                // The last `search` or `domain` line wins, as in glibc.
                Some("search") | Some("domain") => {
                    conf.search = fields.map(|d| d.trim_end_matches('.').to_ascii_lowercase()).collect();
                }
                Some("options") => {
                    for option in fields {
                        let (key, value) = option.split_once(':').unwrap_or((option, ""));
                        let number = value.parse::<u64>().ok();
                        match (key, number) {
                            ("ndots", Some(n)) => conf.ndots = n.min(15) as usize,
                            ("timeout", Some(n)) => conf.timeout = Duration::from_secs(n.clamp(1, 30)),
                            ("attempts", Some(n)) => conf.attempts = n.clamp(1, 5) as usize,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        if conf.nameservers.is_empty() {
            conf.nameservers.push(SocketAddr::new(IpAddr::from([127, 0, 0, 1]), port));
        }
        conf
    }

    /// The names to ask for, in order: a name with at least `ndots` dots is tried as given first, one with
    /// fewer after the search domains; a name ending in a dot is only tried as given.
    pub fn candidates(&self, name: &str) -> Vec<String> {
        if let Some(absolute) = name.strip_suffix('.') {
            return vec![absolute.to_string()];
        }
        let searched = self.search.iter().map(|domain| format!("{name}.{domain}"));
        if name.matches('.').count() >= self.ndots {
            std::iter::once(name.to_string()).chain(searched).collect()
        } else {
            searched.chain(std::iter::once(name.to_string())).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_names_and_aliases_match_without_case_and_comments_are_ignored() {
        let text = "127.0.0.1 localhost\n::1 localhost ip6-localhost\n# 10.0.0.9 api.example\n\
                    10.0.0.8\tAPI.example  api # comment api.other\nnot-an-address api.example\n";
        let v4: IpAddr = "127.0.0.1".parse().expect("ip");
        let v6: IpAddr = "::1".parse().expect("ip");
        assert_eq!(hosts_lookup(text, "localhost"), vec![v4, v6]);
        assert_eq!(hosts_lookup(text, "api.example"), vec!["10.0.0.8".parse::<IpAddr>().expect("ip")]);
        assert_eq!(hosts_lookup(text, "api"), vec!["10.0.0.8".parse::<IpAddr>().expect("ip")]);
        assert!(hosts_lookup(text, "api.other").is_empty());
        assert!(hosts_lookup(text, "10.0.0.9").is_empty());
    }

    #[test]
    fn resolv_conf_options_search_and_limits() {
        let conf = ResolvConf::parse(
            "# comment\nnameserver 10.0.0.2\nnameserver ::1\nnameserver bogus\nnameserver 10.0.0.3\n\
             nameserver 10.0.0.4\ndomain old.example\nsearch corp.example. Lab.Example\n\
             options ndots:2 timeout:1 attempts:9 rotate\n",
            53,
        );
        let servers: Vec<String> = conf.nameservers.iter().map(ToString::to_string).collect();
        assert_eq!(servers, ["10.0.0.2:53", "[::1]:53", "10.0.0.3:53"]);
        assert_eq!(conf.search, ["corp.example", "lab.example"]);
        assert_eq!((conf.ndots, conf.timeout, conf.attempts), (2, Duration::from_secs(1), 5));
        assert_eq!(conf.candidates("db"), ["db.corp.example", "db.lab.example", "db"]);
        assert_eq!(conf.candidates("a.b.c"), ["a.b.c", "a.b.c.corp.example", "a.b.c.lab.example"]);
        assert_eq!(conf.candidates("a.b."), ["a.b"]);
    }

    #[test]
    fn an_empty_resolv_conf_means_the_local_name_server() {
        let conf = ResolvConf::parse("", 53);
        assert_eq!(conf.nameservers, ["127.0.0.1:53".parse::<SocketAddr>().expect("addr")]);
        assert_eq!((conf.ndots, conf.timeout, conf.attempts), (1, Duration::from_secs(5), 2));
        assert_eq!(conf.candidates("acme.dagster.cloud"), ["acme.dagster.cloud"]);
    }
}
