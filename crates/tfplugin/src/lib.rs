//! A Terraform plugin protocol 6 server for providers written in Rust.
//!
//! The layer owns everything between Terraform and a provider's resources: the go-plugin handshake,
//! AutoMTLS with a pinned client certificate, the gRPC service, value decoding against the declared schema,
//! schema-driven validation and planning, diagnostics with attribute paths, cancellation on StopProvider and
//! hclog-style logs. It knows nothing about any particular API.
//!
//! A provider implements [`Provider`], whose `configure` builds the client the server keeps and hands to
//! every call, and registers typed [`Resource`]s, [`DataSource`]s, [`ListResource`]s and
//! [`EphemeralResource`]s, and pure [`Function`]s: each declares a serde model of its schema ([`model`]; [`Field`] where null and
//! unknown must stay apart) and works on models only. Decoding, encoding, merging plan edits and capturing
//! diagnostics happen here, once.

mod action;
mod data_source;
pub mod diag;
mod ephemeral;
mod function;
mod handshake;
pub mod logging;
pub mod model;
mod plan;
mod provider;
mod resource;
pub mod schema;
mod server;
pub mod tls;
mod write_only;

pub mod proto {
    //! Code generated from `proto/tfplugin6.proto` and `proto/plugin.proto`.
    #![allow(clippy::all, missing_docs, deprecated, unused_qualifications)]
    pub mod tfplugin6 {
        tonic::include_proto!("tfplugin6");
    }
    pub mod plugin {
        tonic::include_proto!("plugin");
    }
}

use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, Notify};
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tracing::{debug, warn};

pub use action::{Action, ActionHandle, Progress};
pub use cty;
pub use data_source::{DataSource, DataSourceHandle, ListResource, ListResourceHandle, ListedObject};
pub use diag::{Diagnostic, Diagnostics, Severity};
pub use ephemeral::{EphemeralResource, EphemeralResourceHandle, Opened, Renewed};
pub use function::{Function, FunctionError, FunctionHandle, Parameter, Signature};
pub use handshake::HandshakeError;
pub use model::Field;
pub use provider::{Context, Interrupted, Provider};
pub use resource::{MoveSource, Plan, Resource, ResourceHandle};
pub use schema::{
    Attribute, Block, IdentityAttribute, IdentitySchema, NestedBlock, Nesting, Presence, Schema, Validator,
};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    #[error(
        "Terraform did not send a client certificate (PLUGIN_CLIENT_CERT); this provider only serves over mutual TLS"
    )]
    NoClientCertificate,
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("listening on the plugin socket: {0}")]
    Listen(std::io::Error),
    #[error("gRPC server: {0}")]
    Transport(String),
}

/// Serves `provider` to the Terraform process that started this one, until Terraform shuts it down.
/// Run by hand, it returns `HandshakeError::NotStartedByTerraform`.
pub async fn serve<P: Provider>(provider: P) -> Result<(), ServeError> {
    let request = handshake::read_environment()?;
    let client_cert = request.client_cert.ok_or(ServeError::NoClientCertificate)?;
    let identity = tls::server_identity(&client_cert)?;
    ignore_interrupts();
    let shutdown = Arc::new(Notify::new());
    shut_down_on_terminate(shutdown.clone());

    let socket_dir = tempfile::Builder::new().prefix("plugin").tempdir().map_err(ServeError::Listen)?;
    let socket_path = socket_dir.path().join("provider.sock");
    let listener = UnixListener::bind(&socket_path).map_err(ServeError::Listen)?;

    let line = handshake::HandshakeLine { socket_path: &socket_path, server_certificate: &identity.certificate };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}").and_then(|_| stdout.flush()).map_err(ServeError::Listen)?;
    drop(stdout);

    let stop = CancellationToken::new();
    let acceptor = tokio_rustls::TlsAcceptor::from(identity.config);
    let incoming = accept_tls(listener, acceptor);

    let service = server::ProviderService::new(provider, stop);
    let controller = Controller { shutdown: shutdown.clone() };
    let result = tonic::transport::Server::builder()
        .add_service(
            proto::tfplugin6::provider_server::ProviderServer::new(service).max_decoding_message_size(256 << 20),
        )
        .add_service(proto::plugin::grpc_controller_server::GrpcControllerServer::new(controller))
        .serve_with_incoming_shutdown(incoming, async move { shutdown.notified().await })
        .await
        .map_err(|e| ServeError::Transport(e.to_string()));
    drop(socket_dir);
    result
}

/// Runs `handle` for every signal of `kind` the process receives.
fn on_signal(kind: tokio::signal::unix::SignalKind, mut handle: impl FnMut() + Send + 'static) {
    match tokio::signal::unix::signal(kind) {
        Ok(mut signals) => {
            tokio::spawn(async move {
                while signals.recv().await.is_some() {
                    handle();
                }
            });
        }
        Err(e) => warn!(error = %e, signal = kind.as_raw_value(), "could not install a signal handler"),
    }
}

/// A terminal's Ctrl-C reaches every process in the foreground group, the provider included. Terraform
/// turns it into StopProvider and waits for in-flight work to be saved, so the provider must survive it,
/// as go-plugin servers do.
fn ignore_interrupts() {
    on_signal(tokio::signal::unix::SignalKind::interrupt(), || {
        debug!("interrupt signal ignored; Terraform stops the provider with StopProvider");
    });
}

/// SIGTERM (a process supervisor, or a test tearing the provider down) ends the provider the way Terraform's
/// Shutdown call does, so the socket directory is removed instead of being left behind in the temp dir.
fn shut_down_on_terminate(shutdown: Arc<Notify>) {
    on_signal(tokio::signal::unix::SignalKind::terminate(), move || {
        debug!("terminate signal: shutting down");
        shutdown.notify_one();
    });
}

/// Accepts connections and completes the TLS handshake off the accept loop, so one slow or hostile client
/// cannot hold up Terraform's connection. Failed handshakes (a client without Terraform's certificate) are
/// dropped.
fn accept_tls(
    listener: UnixListener,
    acceptor: tokio_rustls::TlsAcceptor,
) -> tokio_stream::wrappers::ReceiverStream<Result<PluginConnection, std::io::Error>> {
    let (sender, receiver) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    warn!(error = %e, "accepting a plugin connection failed");
                    continue;
                }
            };
            let acceptor = acceptor.clone();
            let sender = sender.clone();
            tokio::spawn(async move {
                match acceptor.accept(stream).await {
                    Ok(tls) => {
                        let _ = sender.send(Ok(PluginConnection(tls))).await;
                    }
                    Err(e) => warn!(error = %e, "rejected a connection that failed mutual TLS"),
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(receiver)
}

/// A TLS connection on the plugin socket, in the shape tonic's server takes.
pub struct PluginConnection(TlsStream<UnixStream>);

impl tonic::transport::server::Connected for PluginConnection {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for PluginConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for PluginConnection {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// go-plugin's controller: Terraform calls Shutdown when it is done with the provider.
struct Controller {
    shutdown: Arc<Notify>,
}

#[tonic::async_trait]
impl proto::plugin::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _: Request<proto::plugin::Empty>) -> Result<Response<proto::plugin::Empty>, Status> {
        debug!("shutdown requested by Terraform");
        self.shutdown.notify_one();
        Ok(Response::new(proto::plugin::Empty {}))
    }
}
