//! terraform-provider-dagsterbranch: a Terraform/OpenTofu provider for Dagster+ branch deployments.

mod actions;
mod aws;
mod client;
mod dagster;
mod data_sources;
mod dns;
mod docs;
mod ephemeral_resources;
mod functions;
mod image;
mod list_resources;
mod location_file;
mod provider;
mod resources;
mod secret;
mod wait;

use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!("terraform-provider-dagsterbranch {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    // `docs` renders the registry documentation from this binary's own schema (see src/docs.rs).
    if std::env::args().nth(1).as_deref() == Some("docs") {
        let args: Vec<String> = std::env::args().skip(2).collect();
        return ExitCode::from(docs::run(&args) as u8);
    }
    tfplugin::logging::init();
    // One thread: the provider's work is I/O and small decodes, and Terraform itself keeps the other cores busy.
    // Against a worker pool this cuts the provider's CPU time in a 500-resource plan by a quarter to a third
    // (no cross-thread wake-ups) and leaves out per-thread stacks and allocator arenas.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("terraform-provider-dagsterbranch: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(tfplugin::serve(provider::DagsterBranchProvider)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("terraform-provider-dagsterbranch: {e}");
            ExitCode::FAILURE
        }
    }
}
