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

use crate::app::{AgentCallError, App};
use crate::config::EmulatorConfig;
use crate::faults::{FaultReport, FaultSpec, FaultSpecError};
use crate::heartbeat::AgentHeartbeat;
use crate::http::conn::{ConnectionControl, ResettableListener};
use crate::simulation::{millis, SimulationSettings, SimulationUpdate};
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
    // The resettable listener and its connect info let fault injection reset
    // a request's own connection.
    let listener = ResettableListener::new(listener);
    let service = crate::http::router(app).into_make_service_with_connect_info::<ConnectionControl>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
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

        let ready = ready_rx
            .recv()
            .unwrap_or_else(|_| Err(std::io::Error::other("emulator thread exited before it was ready")));
        if let Err(e) = ready {
            // The thread has already returned; joining only reaps it.
            let _ = thread.join();
            return Err(e);
        }
        Ok(RunningEmulator { app, addr, shutdown: Some(shutdown_tx), thread: Some(thread) })
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

    /// How long an added or updated code location stays `LOADING` (default 200 ms).
    pub fn set_location_load_delay(&self, delay: Duration) {
        self.update_simulation(SimulationUpdate {
            location_load_delay_ms: Some(millis(delay)),
            ..SimulationUpdate::default()
        });
    }

    /// Locations whose image matches `pattern` fail to load (a `PythonError`
    /// once `LOADED`). A pattern containing `*` or `?` is a glob over the whole
    /// image reference (`*` any run of characters, `?` one character); any
    /// other pattern matches as a substring (`broken` catches
    /// `ghcr.io/acme/broken:1`). `None` disables it. Applies to locations
    /// added or updated from now on.
    pub fn set_failing_image_pattern(&self, pattern: Option<String>) {
        self.update_simulation(SimulationUpdate {
            failing_image_pattern: Some(pattern),
            ..SimulationUpdate::default()
        });
    }

    /// An agent silent for longer than this turns `NOT_RUNNING` (default 90 s).
    pub fn set_agent_heartbeat_timeout(&self, timeout: Duration) {
        self.update_simulation(SimulationUpdate {
            agent_heartbeat_timeout_ms: Some(millis(timeout)),
            ..SimulationUpdate::default()
        });
    }

    /// How long a deleted deployment stays `PENDING_DELETION` (default 250 ms).
    pub fn set_deletion_delay(&self, delay: Duration) {
        self.update_simulation(SimulationUpdate {
            deletion_delay_ms: Some(millis(delay)),
            ..SimulationUpdate::default()
        });
    }

    /// Same settings as `GET /_emulator/simulation`.
    pub fn simulation(&self) -> SimulationSettings {
        self.app.simulation.get()
    }

    fn update_simulation(&self, update: SimulationUpdate) {
        let settings = self.app.simulation.update(update);
        tracing::debug!(?settings, "simulation settings changed");
    }

    /// A heartbeat from agent `agent_label`, serving every deployment, with
    /// `metadata` (served JSON-encoded). The agent is `RUNNING` until
    /// [`stop_heartbeats`](Self::stop_heartbeats) or the heartbeat timeout.
    /// Returns the agent's id.
    pub fn heartbeat(
        &self,
        agent_label: &str,
        metadata: &[(&str, serde_json::Value)],
    ) -> Result<String, AgentCallError> {
        let beat = metadata
            .iter()
            .fold(AgentHeartbeat::new(agent_label), |beat, (key, value)| beat.metadata(key, value.clone()));
        self.send_heartbeat(beat)
    }

    /// The full form of [`heartbeat`](Self::heartbeat), as `POST /_emulator/agents/heartbeat`.
    pub fn send_heartbeat(&self, beat: AgentHeartbeat) -> Result<String, AgentCallError> {
        self.app.heartbeat(beat.into_report(crate::clock::now_seconds()))
    }

    /// Makes the agents labelled `agent_label` `NOT_RUNNING` now; returns how
    /// many there were (an error if none).
    pub fn stop_heartbeats(&self, agent_label: &str) -> Result<usize, MutationError> {
        self.app.stop_heartbeats(agent_label)
    }

    /// Adds a fault plan (as `POST /_emulator/faults`) and returns its id.
    pub fn inject_fault(&self, spec: FaultSpec) -> Result<u64, FaultSpecError> {
        self.app.faults.add(spec)
    }

    /// Removes every fault plan (as `DELETE /_emulator/faults`).
    pub fn clear_faults(&self) {
        self.app.faults.clear();
    }

    /// Active plans and injected-fault counts (as `GET /_emulator/faults`).
    pub fn faults(&self) -> FaultReport {
        self.app.faults.report()
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
            Err(_) => tracing::warn!("emulator connections still open after the grace period; aborting them"),
        }
    });
    // Dropping the runtime aborts whatever is still running.
    runtime.shutdown_timeout(Duration::from_millis(100));
}
