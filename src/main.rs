//! terraform-provider-dagsterbranch: a Terraform/OpenTofu provider for Dagster+ branch deployments.

mod aws;
mod dagster;
mod data_sources;
mod image;
mod list_resources;
mod provider;
mod resources;
mod secret;

use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!("terraform-provider-dagsterbranch {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    tfplugin::logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("terraform-provider-dagsterbranch: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(tfplugin::serve(Arc::new(provider::DagsterBranchProvider::new()))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("terraform-provider-dagsterbranch: {e}");
            ExitCode::FAILURE
        }
    }
}
