//! Running the emulator: [`serve`] for the binary, [`RunningEmulator`] for
//! tests in other crates, which own it on a background thread.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::app::App;
use crate::config::EmulatorConfig;
use crate::store::MutationError;

/// How long `Drop` lets in-flight requests finish before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Serves the emulator on `listener` until the process ends or accepting fails.
pub async fn serve(config: EmulatorConfig, listener: TcpListener) -> std::io::Result<()> {
    serve_and_announce(config, listener, |_| Ok(())).await
}

/// Like [`serve`], but calls `announce` with the bound address once the state
/// is loaded and requests can be answered, so a "ready" message never precedes
/// a startup failure (bad state file, invalid configuration).
pub async fn serve_and_announce(
    config: EmulatorConfig,
    listener: TcpListener,
    announce: impl FnOnce(SocketAddr) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let app = Arc::new(App::new(&config)?);
    announce(listener.local_addr()?)?;
    serve_app(app, listener, std::future::pending()).await
}

async fn serve_app(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, crate::http::router(app))
        .with_graceful_shutdown(shutdown)
        .await
}

/// An emulator serving on `127.0.0.1:<random port>` from its own thread and
/// tokio runtime, so synchronous and async tests alike can use it. Dropping
/// it stops the server and joins the thread.
pub struct RunningEmulator {
    app: Arc<App>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// Binds `127.0.0.1:0` and returns once the server accepts connections.
    pub fn start(config: EmulatorConfig) -> std::io::Result<RunningEmulator> {
        let app = Arc::new(App::new(&config)?);
        let std_listener = StdTcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;

        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = mpsc::channel::<std::io::Result<()>>();
        let thread_app = Arc::clone(&app);
        let thread = std::thread::Builder::new()
            .name(format!("dagster-plus-emulator-{}", addr.port()))
            .spawn(move || run_thread(thread_app, std_listener, shutdown_rx, ready_tx))?;

        let ready = ready_rx.recv().unwrap_or_else(|_| {
            Err(std::io::Error::other(
                "emulator thread exited before it was ready",
            ))
        });
        if let Err(e) = ready {
            // The thread has already returned; joining only reaps it.
            let _ = thread.join();
            return Err(e);
        }
        Ok(RunningEmulator {
            app,
            addr,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Same JSON as `GET /_emulator/inventory`.
    pub fn inventory(&self) -> serde_json::Value {
        self.app.inventory()
    }

    /// Same map as `GET /_emulator/operations`.
    pub fn operation_counts(&self) -> BTreeMap<String, u64> {
        self.app.operation_counts()
    }

    pub fn reset_counters(&self) {
        self.app.counters.reset();
    }

    /// Seeds a full (PRODUCTION) deployment and returns its `deploymentId`.
    pub fn add_full_deployment(&self, name: &str) -> Result<i64, MutationError> {
        self.app.add_full_deployment(name)
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!(addr = %self.addr, "emulator thread panicked");
            }
        }
    }
}

fn run_thread(
    app: Arc<App>,
    std_listener: StdTcpListener,
    shutdown_rx: oneshot::Receiver<()>,
    ready_tx: mpsc::Sender<std::io::Result<()>>,
) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("dagster-plus-emulator-worker")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready_tx.send(Err(e));
            return;
        }
    };
    runtime.block_on(async move {
        let listener = match TcpListener::from_std(std_listener) {
            Ok(l) => l,
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                return;
            }
        };
        let (grace_tx, grace_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(serve_app(app, listener, async {
            let _ = grace_rx.await;
        }));
        let _ = ready_tx.send(Ok(()));
        // A dropped sender (handle leaked or panicking) also means "stop".
        let _ = shutdown_rx.await;
        let _ = grace_tx.send(());
        match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::error!(error = %e, "emulator server failed"),
            Ok(Err(e)) => tracing::error!(error = %e, "emulator server task failed"),
            Err(_) => tracing::warn!(
                "emulator connections still open after the grace period; aborting them"
            ),
        }
    });
    // Dropping the runtime aborts whatever is still running.
    runtime.shutdown_timeout(Duration::from_millis(100));
}
