//! The plugin protocol layer seen from outside: how the binary behaves when run by hand, that only
//! Terraform's certificate can connect, and that RPCs carry no per-call stall.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use crate::support::*;

const MAGIC_COOKIE: (&str, &str) =
    ("TF_PLUGIN_MAGIC_COOKIE", "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2");

#[test]
fn run_by_hand_the_binary_explains_itself_and_exits_1() {
    let output = Command::new(provider_binary()).env_remove(MAGIC_COOKIE.0).output().expect("run the provider");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is a plugin for Terraform"), "unexpected message: {stderr}");
    assert!(output.stdout.is_empty(), "nothing may be printed on stdout (it carries the handshake)");
}

#[test]
fn version_flag_prints_the_version() {
    let output = Command::new(provider_binary()).arg("--version").output().expect("run the provider");
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("terraform-provider-dagsterbranch {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_client_offering_only_protocol_5_is_refused_clearly() {
    let output = Command::new(provider_binary())
        .env(MAGIC_COOKIE.0, MAGIC_COOKIE.1)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5")
        .output()
        .expect("run the provider");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("plugin protocol 6 only"));
}

struct Served {
    child: Child,
    socket: String,
}

impl Served {
    /// Sends SIGTERM (procps' kill; the tests have no libc dependency) and waits up to five seconds for the exit.
    fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let _ = Command::new("/bin/kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if self.terminate().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn sigterm_shuts_down_cleanly_and_removes_the_socket_directory() {
    let terraform_identity = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("certificate");
    let mut served = serve_with_client_certificate(&terraform_identity.cert.pem());
    let socket = std::path::PathBuf::from(&served.socket);
    assert!(socket.exists(), "{} must exist while the provider serves", socket.display());
    let status = served.terminate().expect("the provider exits within 5 s of SIGTERM");
    assert!(status.success(), "{status}");
    assert!(!socket.parent().expect("socket directory").exists(), "the socket directory must be removed");
}

/// Starts the provider as go-plugin does and reads its handshake line.
fn serve_with_client_certificate(client_cert_pem: &str) -> Served {
    let mut child = Command::new(provider_binary())
        .env(MAGIC_COOKIE.0, MAGIC_COOKIE.1)
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .env("PLUGIN_CLIENT_CERT", client_cert_pem)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the provider");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("handshake line");
    let fields: Vec<&str> = line.trim().split('|').collect();
    assert_eq!(&fields[..3], &["1", "6", "unix"], "handshake line: {line}");
    assert_eq!(fields[4], "grpc");
    Served { child, socket: fields[3].to_string() }
}

/// Accepts any server certificate: the test is about what the *server* accepts.
#[derive(Debug)]
struct AnyServer(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &rustls::pki_types::CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &rustls::pki_types::CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Connects over TLS (optionally presenting a certificate), sends the HTTP/2 preface and returns how many
/// bytes the server answered with before closing: the server's SETTINGS frame if it accepted us.
fn bytes_answered(socket: &str, client_identity: Option<&rcgen::CertifiedKey<rcgen::KeyPair>>) -> usize {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServer(provider)));
    let config = match client_identity {
        None => builder.with_no_client_auth(),
        Some(identity) => builder
            .with_client_auth_cert(
                vec![identity.cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(identity.signing_key.serialize_der().into()),
            )
            .expect("client certificate"),
    };
    let connection =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().expect("name")).expect("client");
    let mut tls = rustls::StreamOwned::new(connection, UnixStream::connect(socket).expect("connect to the socket"));
    tls.sock.set_read_timeout(Some(std::time::Duration::from_secs(5))).expect("timeout");
    if tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0").is_err() {
        return 0;
    }
    let mut buffer = [0u8; 256];
    tls.read(&mut buffer).unwrap_or(0)
}

#[test]
fn only_terraforms_certificate_may_connect() {
    let terraform_identity = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("certificate");
    let served = serve_with_client_certificate(&terraform_identity.cert.pem());

    assert_eq!(bytes_answered(&served.socket, None), 0, "a client without a certificate must be refused");

    let stranger = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("certificate");
    assert_eq!(bytes_answered(&served.socket, Some(&stranger)), 0, "a client with another certificate must be refused");
}

/// Guards against per-RPC stalls (for example Nagle + delayed ACK, ~40 ms per call): a 100-resource plan
/// must stay within a budget relative to Terraform's own floor (the built-in `terraform_data`), both
/// measured here, interleaved, as medians.
#[test]
fn hundred_resource_plan_has_no_per_rpc_stall() {
    let emulator = start_emulator();
    let ours = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ours.write(&format!(
        "{}\nresource \"dagsterbranch_agent_token\" \"r\" {{\n  count = 100\n  description = \"token ${{count.index}}\"\n}}\n",
        provider_block(&emulator)
    ));
    let floor = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    floor.write("resource \"terraform_data\" \"r\" {\n  count = 100\n  input = count.index\n}\n");
    let mut ours_times = Vec::new();
    let mut floor_times = Vec::new();
    for _ in 0..3 {
        for (ws, times) in [(&floor, &mut floor_times), (&ours, &mut ours_times)] {
            let run = ws.plan();
            assert_eq!(run.code, 2, "{}", run.describe());
            assert!(run.stdout.contains("100 to add"), "{}", run.stdout);
            times.push(run.elapsed.as_secs_f64());
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (ours_median, floor_median) = (median(&mut ours_times), median(&mut floor_times));
    let budget = floor_median * 2.0 + 1.5;
    println!(
        "100-resource plan: provider {ours_median:.3}s, terraform_data floor {floor_median:.3}s, budget {budget:.3}s"
    );
    assert!(
        ours_median <= budget,
        "100-resource plan took {ours_median:.2}s against a floor of {floor_median:.2}s (budget {budget:.2}s): an RPC is stalling"
    );
    // The plan never calls Dagster+ for objects that do not exist yet.
    let writes: u64 =
        emulator.operation_counts().iter().filter(|(k, _)| k.starts_with("mutation.")).map(|(_, v)| v).sum();
    assert_eq!(writes, 0, "planning must not write anything");
}
