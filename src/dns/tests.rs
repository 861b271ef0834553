use std::net::{IpAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::*;

/// A name server on a loopback UDP port that knows `records` (name, address) and answers NXDOMAIN for
/// every other name. Returns its port.
fn name_server(records: &'static [(&'static str, &'static str)]) -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = socket.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buffer) {
            let request = &buffer[..n];
            let (name, record_type) = question(request);
            let known: Vec<IpAddr> = records
                .iter()
                .filter(|(known, _)| *known == name)
                .map(|(_, address)| address.parse().expect("ip"))
                .collect();
            let rcode = if known.is_empty() { 3 } else { 0 };
            let wanted: Vec<IpAddr> =
                known.into_iter().filter(|ip| ip.is_ipv4() == (record_type == wire::TYPE_A)).collect();
            let _ = socket.send_to(&wire::tests::response(request, rcode, &wanted), from);
        }
    });
    port
}

/// The name and type a query asks for.
fn question(request: &[u8]) -> (String, u16) {
    let mut labels = Vec::new();
    let mut at = 12;
    while request[at] != 0 {
        let length = request[at] as usize;
        labels.push(String::from_utf8(request[at + 1..at + 1 + length].to_vec()).expect("utf-8"));
        at += 1 + length;
    }
    (labels.join("."), u16::from_be_bytes([request[at + 1], request[at + 2]]))
}

struct Files {
    _dir: tempfile::TempDir,
    resolver: Resolver,
}

fn resolver(hosts: &str, resolv_conf: &str, port: u16) -> Files {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("hosts"), hosts).expect("write");
    std::fs::write(dir.path().join("resolv.conf"), resolv_conf).expect("write");
    let resolver = Resolver::with_files(dir.path().join("hosts"), dir.path().join("resolv.conf"), port);
    Files { _dir: dir, resolver }
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|ip| ip.parse().expect("ip")).collect()
}

#[tokio::test]
async fn localhost_resolves_through_this_machines_hosts_file() {
    let addresses = Resolver::system().lookup("localhost").await.expect("localhost");
    assert!(addresses.contains(&IpAddr::from([127, 0, 0, 1])), "{addresses:?}");
}

#[tokio::test]
async fn the_hosts_file_comes_before_dns() {
    static RECORDS: &[(&str, &str)] = &[("api.example.test", "192.0.2.99")];
    let port = name_server(RECORDS);
    let files = resolver("127.0.0.7 api.example.test api\n", "nameserver 127.0.0.1\n", port);
    assert_eq!(files.resolver.lookup("API.example.test").await.expect("listed"), ips(&["127.0.0.7"]));
    assert_eq!(files.resolver.lookup("api.example.test.").await.expect("listed"), ips(&["127.0.0.7"]));
    assert_eq!(files.resolver.lookup("[::1]").await.expect("literal"), ips(&["::1"]));
}

#[tokio::test]
async fn dns_answers_both_families_and_search_domains_apply() {
    static RECORDS: &[(&str, &str)] =
        &[("acme.dagster.test", "192.0.2.10"), ("acme.dagster.test", "2001:db8::10"), ("db.corp.test", "192.0.2.20")];
    let port = name_server(RECORDS);
    let files = resolver("", "nameserver 127.0.0.1\nsearch corp.test\noptions timeout:1\n", port);
    let found = files.resolver.lookup("acme.dagster.test").await.expect("resolves");
    assert_eq!(found, ips(&["192.0.2.10", "2001:db8::10"]));
    assert_eq!(files.resolver.lookup("db").await.expect("searched"), ips(&["192.0.2.20"]));
    let missing = files.resolver.lookup("nowhere.dagster.test").await.expect_err("NXDOMAIN");
    assert!(matches!(&missing, Error::NotFound { host } if host == "nowhere.dagster.test"), "{missing:?}");
}

#[tokio::test]
async fn special_use_names_never_reach_a_name_server() {
    // No server on this port: a query would fail with NoAnswer, not these results.
    let closed = UdpSocket::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let files = resolver("", "nameserver 127.0.0.1\n", closed);
    assert!(matches!(files.resolver.lookup("dagster-plus.invalid").await, Err(Error::NotFound { .. })));
    assert_eq!(files.resolver.lookup("app.localhost").await.expect("loopback"), ips(&["127.0.0.1", "::1"]));
}

#[tokio::test]
async fn an_unreachable_name_server_fails_fast_naming_it() {
    let closed = UdpSocket::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let files = resolver("", "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n", closed);
    let started = Instant::now();
    let error = files.resolver.lookup("acme.dagster.test").await.expect_err("nothing listens");
    assert!(
        matches!(&error, Error::NoAnswer { servers, .. } if servers == &format!("127.0.0.1:{closed}")),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

/// reqwest connects through the resolver: the name exists only in the test's hosts file.
#[tokio::test]
async fn reqwest_uses_the_resolver() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buffer = [0u8; 1024];
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    let files = resolver("127.0.0.1 only-in-this-hosts-file.test\n", "", 9);
    let client = reqwest::Client::builder().dns_resolver(Arc::new(files.resolver.clone())).build().expect("client");
    let url = format!("http://only-in-this-hosts-file.test:{port}/");
    let body = client.get(&url).send().await.expect("sent").text().await.expect("body");
    assert_eq!(body, "ok");
}

/// A truncated UDP answer is asked again over TCP, where the full answer comes.
#[tokio::test]
async fn a_truncated_answer_is_asked_again_over_tcp() {
    let udp = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = udp.local_addr().expect("addr").port();
    let tcp = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind the same port over TCP");
    std::thread::spawn(move || {
        let mut buffer = [0u8; 512];
        while let Ok((n, from)) = udp.recv_from(&mut buffer) {
            let mut truncated = wire::tests::response(&buffer[..n], 0, &[]);
            truncated[2] |= 0x02;
            let _ = udp.send_to(&truncated, from);
        }
    });
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut stream in tcp.incoming().flatten() {
            let mut length = [0u8; 2];
            let _ = stream.read_exact(&mut length);
            let mut request = vec![0u8; u16::from_be_bytes(length) as usize];
            let _ = stream.read_exact(&mut request);
            let (_, record_type) = question(&request);
            let wanted = if record_type == wire::TYPE_A { ips(&["192.0.2.30"]) } else { Vec::new() };
            let answer = wire::tests::response(&request, 0, &wanted);
            let _ = stream.write_all(&(answer.len() as u16).to_be_bytes());
            let _ = stream.write_all(&answer);
        }
    });
    let files = resolver("", "nameserver 127.0.0.1\noptions timeout:2\n", port);
    assert_eq!(files.resolver.lookup("big.dagster.test").await.expect("over TCP"), ips(&["192.0.2.30"]));
}
