//! `ephemeral "dagsterbranch_registry_credentials"` under real Terraform (1.10+) against moto: the login
//! reaches a provisioner, with the provider's credentials and with the CI user's key from
//! `dagsterbranch_registry`, and the password is in no file Terraform writes: not the state, not a saved plan,
//! not a `TF_LOG=trace` log.

use std::path::Path;

use crate::support::*;
use aws_config::{BehaviorVersion, Region};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider as TlsProvider};
use base64::Engine as _;

/// What moto's `GetAuthorizationToken` answers: `user:password` (decoded) and the proxy endpoint.
fn moto_login(moto: &Moto) -> (String, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let credentials = aws_sdk_ecr::config::Credentials::new("testing", "testing", None, None, "test");
        let http =
            aws_smithy_http_client::Builder::new().tls_provider(TlsProvider::Rustls(CryptoMode::Ring)).build_https();
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .region(Region::new(MOTO_REGION))
            .endpoint_url(moto.url())
            .credentials_provider(credentials)
            .load()
            .await;
        let output = aws_sdk_ecr::Client::new(&config).get_authorization_token().send().await.expect("token");
        let data = &output.authorization_data()[0];
        let token = data.authorization_token().expect("authorizationToken");
        let decoded = base64::engine::general_purpose::STANDARD.decode(token).expect("base64 token");
        (String::from_utf8(decoded).expect("UTF-8 token"), data.proxy_endpoint().expect("endpoint").to_string())
    })
}

/// A `terraform_data` whose local-exec writes `user:password` of an ephemeral login to `file` (in the
/// configuration directory) and its endpoint to `file.endpoint`.
fn login_to_file(resource: &str, ephemeral: &str, file: &str) -> String {
    format!(
        r#"
resource "terraform_data" "{resource}" {{
  provisioner "local-exec" {{
    command = "printf '%s:%s' \"$LOGIN_USER\" \"$LOGIN_PASSWORD\" > {file} && printf '%s' \"$LOGIN_ENDPOINT\" > {file}.endpoint"
    environment = {{
      LOGIN_USER     = ephemeral.dagsterbranch_registry_credentials.{ephemeral}.username
      LOGIN_PASSWORD = ephemeral.dagsterbranch_registry_credentials.{ephemeral}.password
      LOGIN_ENDPOINT = ephemeral.dagsterbranch_registry_credentials.{ephemeral}.endpoint
    }}
  }}
}}
"#
    )
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn registry_login_reaches_a_provisioner_and_no_file() {
    let moto = Moto::start();
    let emulator = start_emulator();
    let mut ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    moto.configure(&mut ws, "testing", "testing");
    let log = ws.dir.path().join("trace.log");
    ws.env("TF_LOG", "trace");
    ws.env("TF_LOG_PATH", &path_str(&log));
    ws.write(&format!(
        r#"{provider}
ephemeral "dagsterbranch_registry_credentials" "provider" {{}}

resource "dagsterbranch_registry" "ci" {{
  name = "dagster/ephemeral"
}}

ephemeral "dagsterbranch_registry_credentials" "ci_user" {{
  access_key_id     = dagsterbranch_registry.ci.access_key_id
  secret_access_key = dagsterbranch_registry.ci.secret_access_key
}}
{provider_login}{ci_login}"#,
        provider = provider_block_with_aws(&emulator, &moto.url()),
        provider_login = login_to_file("provider_login", "provider", "provider.login"),
        ci_login = login_to_file("ci_login", "ci_user", "ci.login"),
    ));

    ws.ok(&["plan", "-no-color", "-out=tfplan"]);
    let applied = ws.ok(&["apply", "-no-color", "tfplan"]);

    let (expected, endpoint) = moto_login(&moto);
    let password = expected.strip_prefix("AWS:").expect("moto's user is AWS").to_string();
    for file in ["provider.login", "ci.login"] {
        let written = String::from_utf8(read(&ws.config_dir().join(file))).expect("UTF-8");
        assert_eq!(written, expected, "{file}: the provisioner must see ECR's user and password");
        let written_endpoint = String::from_utf8(read(&ws.config_dir().join(format!("{file}.endpoint")))).unwrap();
        assert_eq!(written_endpoint, endpoint, "{file}: endpoint");
    }
    assert_eq!(endpoint, format!("https://{MOTO_ACCOUNT}.dkr.ecr.{MOTO_REGION}.amazonaws.com"));

    // The password and the token it came from, in every file Terraform wrote or printed.
    let token = base64::engine::general_purpose::STANDARD.encode(&expected);
    let places = written_places(
        &ws,
        &log,
        vec![("apply's output", format!("{}{}", applied.stdout, applied.stderr).into_bytes())],
    );
    for (place, bytes) in &places {
        for (what, secret) in [("password", password.as_str()), ("authorization token", token.as_str())] {
            assert!(!contains(bytes, secret), "the registry {what} appears in {place}");
        }
    }
    let log_text = String::from_utf8_lossy(&read(&log)).into_owned();
    assert!(log_text.contains("OpenEphemeralResource"), "the trace log shows no OpenEphemeralResource call");
    println!(
        "searched {} places ({} bytes of trace log) for the registry password and token: not found",
        places.len(),
        log_text.len()
    );
}

#[test]
fn bad_input_is_refused_at_validate_naming_the_attribute() {
    let moto = Moto::start();
    let emulator = start_emulator();
    let mut ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    moto.configure(&mut ws, "testing", "testing");
    let provider = provider_block_with_aws(&emulator, &moto.url());
    let cases = [
        ("registry_id = \"12345\"", "registry_id"),
        ("access_key_id = \"AKIAEXAMPLE\"", "secret_access_key"),
        ("secret_access_key = \"\"\n  access_key_id = \"AKIAEXAMPLE\"", "secret_access_key"),
    ];
    for (body, attribute) in cases {
        ws.write(&format!("{provider}\nephemeral \"dagsterbranch_registry_credentials\" \"bad\" {{\n  {body}\n}}\n"));
        let validated = ws.run_json(&["validate"]);
        assert_eq!(validated.run.code, 1, "{body}: validate must fail:\n{}", validated.run.describe());
        assert!(
            validated.errors().any(|d| d.names_attribute(attribute)),
            "{body}: no error names `{attribute}`:\n{}",
            validated.listing()
        );
    }
    assert_eq!(moto.api_requests(), 0, "validation must not call AWS");
}
