//! `scripts/release`: the archives, SHA256SUMS, manifest and signature the registries expect, and that
//! `terraform init` installs them: from a packed `filesystem_mirror` (checksum verified against the lock
//! file, a tampered archive refused) and through the registry protocol served locally, where Terraform
//! checks the GPG signature of SHA256SUMS and records its `zh:` hashes in the lock file.
//!
//! The script packages the provider under test (`--binary`): the debug build cargo made for the tests, and
//! in the release stage of `scripts/test` the release build (`DAGSTERBRANCH_TEST_PROVIDER`).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};

use crate::support::*;
use sha2::{Digest, Sha256};

const NAME: &str = "terraform-provider-dagsterbranch";
const VERSION: &str = env!("CARGO_PKG_VERSION");
const MANIFEST: &str = "{\"version\":1,\"metadata\":{\"protocol_versions\":[\"6.0\"]}}\n";

fn zip_name() -> String {
    format!("{NAME}_{VERSION}_{}.zip", terraform_platform())
}

fn sums_name() -> String {
    format!("{NAME}_{VERSION}_SHA256SUMS")
}

fn release(args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut command = Command::new("bash");
    command.arg(repo_root().join("scripts/release")).arg("--binary").arg(provider_binary()).args(args);
    for (key, value) in envs {
        command.env(key, value);
    }
    command.env_remove("GPG_KEY_ID").output().expect("run scripts/release")
}

fn release_into(out: &Path, args: &[&str], envs: &[(&str, &Path)]) {
    let mut all = vec!["--out", out.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    let output = release(&all, envs);
    assert!(
        output.status.success(),
        "scripts/release failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// One unsigned release of the debug binary, shared by the tests of this file (under cargo's scratch
/// directory for integration tests, so repeated runs reuse the space).
fn unsigned_release() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("release-test/dist");
        release_into(&dir, &[], &[]);
        dir
    })
}

fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// `file name → sha256` from a SHA256SUMS file.
fn sums(dist: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dist.join(sums_name()))
        .expect("SHA256SUMS")
        .lines()
        .map(|line| {
            let (hash, file) = line.split_once("  ").unwrap_or_else(|| panic!("not a sha256sum line: {line}"));
            (file.to_string(), hash.to_string())
        })
        .collect()
}

#[test]
fn version_flag_reports_the_package_version() {
    let output = Command::new(provider_binary()).arg("--version").output().expect("run the provider");
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), format!("{NAME} {VERSION}"));
}

#[test]
fn release_has_the_registry_layout_and_is_reproducible() {
    let dist = unsigned_release();
    let mut files: Vec<String> = std::fs::read_dir(dist)
        .expect("dist")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let manifest = format!("{NAME}_{VERSION}_manifest.json");
    let mut expected = vec![sums_name(), zip_name(), manifest.clone()];
    expected.sort();
    assert_eq!(files, expected, "no signature without a key");
    assert_eq!(std::fs::read_to_string(dist.join(&manifest)).expect("manifest"), MANIFEST);

    // SHA256SUMS lists every zip and the manifest, with their real hashes.
    let listed = sums(dist);
    let mut names: Vec<&str> = listed.iter().map(|(f, _)| f.as_str()).collect();
    names.sort();
    let mut wanted = vec![zip_name(), manifest];
    wanted.sort();
    assert_eq!(names, wanted);
    for (file, hash) in &listed {
        assert_eq!(*hash, sha256_hex(&dist.join(file)), "{file}");
    }

    // The zip holds exactly the versioned, executable binary.
    let listing = Command::new("unzip").arg("-Z").arg(dist.join(zip_name())).output().expect("unzip -Z");
    let listing = String::from_utf8_lossy(&listing.stdout);
    let entries: Vec<&str> = listing.lines().filter(|l| l.starts_with('-')).collect();
    assert_eq!(entries.len(), 1, "{listing}");
    assert!(entries[0].starts_with("-rwxr-xr-x") && entries[0].ends_with(&format!(" {NAME}_v{VERSION}")), "{listing}");

    // The same binary gives the same archive, so checksums of a rebuilt release match.
    let again = tempfile::tempdir().expect("temp dir");
    release_into(again.path(), &[], &[]);
    assert_eq!(std::fs::read(again.path().join(sums_name())).unwrap(), std::fs::read(dist.join(sums_name())).unwrap());

    // A version other than the binary's is refused rather than mislabelled.
    let out = again.path().join("other");
    let refused = release(&["--version", "9.9.9", "--out", out.to_str().unwrap()], &[]);
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("differs from Cargo.toml"));
}

/// The provider configuration used after installation: a token on the emulator, to prove the installed
/// binary serves Terraform.
fn installed_provider_config(emulator: &dagster_plus_emulator::RunningEmulator) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    dagsterbranch = {{
      source  = "{PROVIDER_SOURCE}"
      version = "{VERSION}"
    }}
  }}
}}

provider "dagsterbranch" {{
  organization = "{ORG}"
  url          = "{url}"
  api_token    = "{ADMIN_TOKEN}"
}}

resource "dagsterbranch_agent_token" "installed" {{
  description = "installed from a release zip"
}}
"#,
        url = emulator.url()
    )
}

fn lock_file(ws: &Workspace) -> String {
    std::fs::read_to_string(ws.config_dir().join(".terraform.lock.hcl")).expect("lock file")
}

fn mirror_cli_config(mirror: &Path) -> String {
    let address = format!("registry.terraform.io/{PROVIDER_SOURCE}");
    format!(
        "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"{address}\"]\n  }}\n  direct {{\n    exclude = [\"{address}\"]\n  }}\n}}\n",
        mirror.display()
    )
}

#[test]
fn release_zip_installs_from_a_filesystem_mirror_with_checksum_verification() {
    let dist = unsigned_release();
    let emulator = start_emulator();
    for terraform in [Terraform::Latest, Terraform::V1_0] {
        // The packed layout: zips directly under the provider's directory.
        let mirror = tempfile::tempdir().expect("mirror");
        let provider_dir = mirror.path().join("registry.terraform.io").join(PROVIDER_SOURCE);
        std::fs::create_dir_all(&provider_dir).expect("mirror dir");
        std::fs::copy(dist.join(zip_name()), provider_dir.join(zip_name())).expect("copy zip");

        let ws = Workspace::with_cli_config(terraform, &mirror_cli_config(mirror.path()));
        ws.write(&installed_provider_config(&emulator));
        let init = ws.ok(&["init", "-no-color"]);
        assert!(
            init.stdout.contains(&format!("Installed {PROVIDER_SOURCE} v{VERSION}")),
            "{terraform:?}:\n{}",
            init.stdout
        );
        let lock = lock_file(&ws);
        assert!(
            lock.contains(&format!("version     = \"{VERSION}\"")) && lock.contains("\"h1:"),
            "{terraform:?}:\n{lock}"
        );
        ws.apply();
        ws.ok(&["destroy", "-auto-approve", "-no-color"]);

        // Another archive under the same name no longer matches the lock file: init must refuse it.
        let tampered_dir = tempfile::tempdir().expect("tampered");
        let binary = tampered_dir.path().join(format!("{NAME}_v{VERSION}"));
        let mut bytes = std::fs::read(provider_binary()).expect("binary");
        bytes.extend_from_slice(b"tampered");
        std::fs::write(&binary, bytes).expect("write tampered binary");
        std::fs::remove_file(provider_dir.join(zip_name())).expect("remove zip");
        let zipped = Command::new("zip")
            .current_dir(tampered_dir.path())
            .args([
                "-q",
                "-X",
                provider_dir.join(zip_name()).to_str().unwrap(),
                binary.file_name().unwrap().to_str().unwrap(),
            ])
            .status()
            .expect("zip");
        assert!(zipped.success());
        std::fs::remove_dir_all(ws.config_dir().join(".terraform")).expect("remove .terraform");
        let refused = ws.run(&["init", "-no-color"]);
        assert_ne!(refused.code, 0, "{terraform:?}: a tampered archive was installed:\n{}", refused.describe());
        assert!(refused.stderr.contains("checksum"), "{terraform:?}:\n{}", refused.stderr);
    }
}

// ----- the registry protocol, served locally over HTTPS ------------------------------------------------------

/// A static HTTPS file server on loopback with a fresh self-signed certificate; Terraform trusts it through
/// `SSL_CERT_FILE`. Threads serve until the test process ends.
struct Https {
    port: u16,
    cert_file: PathBuf,
}

impl Https {
    fn serve(root: PathBuf, scratch: &Path) -> Https {
        let identity = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("certificate");
        let cert_file = scratch.join("server.pem");
        std::fs::write(&cert_file, identity.cert.pem()).expect("write certificate");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![identity.cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(identity.signing_key.serialize_der().into()),
            )
            .expect("server certificate");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (config, root) = (config.clone(), root.clone());
                std::thread::spawn(move || {
                    let Ok(connection) = rustls::ServerConnection::new(config) else { return };
                    let mut tls = rustls::StreamOwned::new(connection, stream);
                    let mut request_line = String::new();
                    {
                        let mut reader = BufReader::new(&mut tls);
                        if reader.read_line(&mut request_line).is_err() {
                            return;
                        }
                        // Skip the headers; the requests carry no body.
                        let mut header = String::new();
                        while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                            header.clear();
                        }
                    }
                    let path =
                        request_line.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_string();
                    let (status, body) = match std::fs::read(root.join(&path)) {
                        Ok(body) if !path.contains("..") => ("200 OK", body),
                        _ => ("404 Not Found", b"not found".to_vec()),
                    };
                    let kind = if path.ends_with(".zip") || path.ends_with(".sig") {
                        "application/octet-stream"
                    } else {
                        "application/json"
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = tls.write_all(head.as_bytes()).and_then(|_| tls.write_all(&body)).and_then(|_| tls.flush());
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        Https { port, cert_file }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}

/// A throwaway GPG home with one RSA signing key (RSA, which every Terraform version verifies).
struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    fn new() -> Gpg {
        // gpg's agent socket must fit a Unix socket path: keep the home short.
        let home = tempfile::Builder::new().prefix("gpg").tempdir_in("/tmp").expect("GNUPGHOME");
        let gpg = Gpg { home };
        let generated = gpg
            .command(&[
                "--passphrase",
                "",
                "--quick-gen-key",
                "Release Test <release-test@example.invalid>",
                "rsa2048",
                "sign",
                "never",
            ])
            .output()
            .expect("run gpg");
        assert!(generated.status.success(), "gpg key generation: {}", String::from_utf8_lossy(&generated.stderr));
        gpg
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("gpg");
        command.env("GNUPGHOME", self.home.path()).args(["--batch", "--pinentry-mode", "loopback"]).args(args);
        command
    }

    fn text(&self, args: &[&str]) -> String {
        let output = self.command(args).output().expect("gpg");
        assert!(output.status.success(), "gpg {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The 16-hex-digit key id of the only key.
    fn key_id(&self) -> String {
        let listing = self.text(&["--with-colons", "--list-keys"]);
        let line = listing.lines().find(|l| l.starts_with("pub:")).expect("a public key");
        line.split(':').nth(4).expect("key id").to_string()
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        // The agent gpg started for this home only.
        let _ = Command::new("gpgconf").env("GNUPGHOME", self.home.path()).args(["--kill", "gpg-agent"]).status();
    }
}

#[test]
fn signed_release_installs_through_the_registry_protocol_and_locks_its_sha256sums() {
    // A tool the suite needs: missing, it fails with the fix rather than skipping silently.
    assert!(
        Command::new("gpg").arg("--version").output().is_ok(),
        "gpg is not installed: the signed-release test needs it (Debian: apt-get install gnupg)"
    );
    let gpg = Gpg::new();
    let scratch = tempfile::tempdir().expect("scratch");
    let site = scratch.path().join("site");
    let dist = site.join("files");
    release_into(&dist, &["--gpg-key", "release-test@example.invalid"], &[("GNUPGHOME", gpg.home.path())]);
    let sums_file = dist.join(sums_name());
    let verify = gpg
        .command(&["--verify", &format!("{}.sig", sums_file.display()), sums_file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(verify.status.success(), "signature does not verify: {}", String::from_utf8_lossy(&verify.stderr));

    // The two registry answers Terraform asks for (provider registry protocol v1), next to the files.
    let server = Https::serve(site.clone(), scratch.path());
    let platform = terraform_platform();
    let (os, arch) = platform.split_once('_').expect("os_arch");
    let api = site.join("v1/providers").join(PROVIDER_SOURCE);
    std::fs::create_dir_all(api.join(VERSION).join("download").join(os)).expect("api dirs");
    let versions = serde_json::json!({ "versions": [{ "version": VERSION, "protocols": ["6.0"], "platforms": [{ "os": os, "arch": arch }] }] });
    std::fs::write(api.join("versions"), versions.to_string()).expect("versions");
    let files = format!("{}/files", server.url());
    let download = serde_json::json!({
        "protocols": ["6.0"], "os": os, "arch": arch, "filename": zip_name(),
        "download_url": format!("{files}/{}", zip_name()),
        "shasums_url": format!("{files}/{}", sums_name()),
        "shasums_signature_url": format!("{files}/{}.sig", sums_name()),
        "shasum": sha256_hex(&dist.join(zip_name())),
        "signing_keys": { "gpg_public_keys": [{ "key_id": gpg.key_id(), "ascii_armor": gpg.text(&["--armor", "--export"]) }] },
    });
    std::fs::write(api.join(VERSION).join("download").join(os).join(arch), download.to_string()).expect("download");

    let emulator = start_emulator();
    for terraform in [Terraform::Latest, Terraform::V1_0] {
        // `host` points registry.terraform.io's provider service at the local server, so the configuration
        // keeps the real source address.
        let mut ws = Workspace::with_cli_config(
            terraform,
            &format!("host \"registry.terraform.io\" {{\n  services = {{\n    \"providers.v1\" = \"{}/v1/providers/\"\n  }}\n}}\n", server.url()),
        );
        ws.env("SSL_CERT_FILE", server.cert_file.to_str().unwrap());
        ws.write(&installed_provider_config(&emulator));
        let init = ws.ok(&["init", "-no-color"]);
        assert!(
            init.stdout.contains(&format!("key ID {}", gpg.key_id())),
            "{terraform:?}: not verified with our key:\n{}",
            init.stdout
        );
        let lock = lock_file(&ws);
        for (file, hash) in sums(&dist) {
            assert!(
                lock.contains(&format!("\"zh:{hash}\"")),
                "{terraform:?}: {file} ({hash}) is not in the lock file:\n{lock}"
            );
        }
        ws.apply();
        ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    }
}
