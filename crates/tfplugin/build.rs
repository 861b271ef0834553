//! Generates the gRPC server code from the project's own protocol transcription. `protox` parses the
//! `.proto` files in pure Rust, so no system `protoc` is needed on a fresh machine or in CI.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files = [proto_dir.join("tfplugin6.proto"), proto_dir.join("plugin.proto")];
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let descriptors = protox::compile(&files, [&proto_dir])?;
    tonic_prost_build::configure().build_client(false).generate_default_stubs(true).compile_fds(descriptors)?;
    Ok(())
}
