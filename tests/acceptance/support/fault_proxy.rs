//! A TCP fault proxy in front of moto: resets connections or drops responses, seeded (registry and fault tests).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Which connections the proxy breaks: a seeded fraction is reset before anything is forwarded, another
/// has its request forwarded (so moto commits it) and the response thrown away.
#[derive(Clone, Copy, Debug)]
pub struct ProxyFaults {
    pub reset: f64,
    pub drop_response: f64,
    pub seed: u64,
}

impl ProxyFaults {
    pub const NONE: ProxyFaults = ProxyFaults { reset: 0.0, drop_response: 0.0, seed: 0 };
}

/// What the proxy did, by connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyReport {
    pub connections: u64,
    pub relayed: u64,
    pub reset: u64,
    /// Responses thrown away after moto answered, the targeted ones included.
    pub dropped_response: u64,
    /// Of those, the ones armed with [`FaultProxy::drop_next_response`].
    pub targeted: u64,
    /// Connections the proxy could not serve (moto unreachable, a malformed or timed-out request).
    pub errors: u64,
}

impl std::fmt::Display for ProxyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} connections, {} reset, {} responses dropped ({} targeted), {} relayed, {} proxy errors",
            self.connections, self.reset, self.dropped_response, self.targeted, self.relayed, self.errors
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Relay,
    Reset,
    DropResponse,
}

#[derive(Default)]
struct ProxyState {
    stop: AtomicBool,
    connections: AtomicU64,
    relayed: AtomicU64,
    reset: AtomicU64,
    dropped_response: AtomicU64,
    targeted: AtomicU64,
    errors: AtomicU64,
    /// API actions (`CreateUser`, `CreateRepository`) whose next response is dropped, once per entry.
    armed: Mutex<Vec<String>>,
}

/// A loopback TCP proxy in front of moto that breaks a seeded fraction of connections, to reproduce what
/// the SDK's retries do with non-idempotent calls. It speaks just enough HTTP/1.1 to frame one exchange
/// per connection (and says `Connection: close` both ways), so a fraction of connections is a fraction of
/// requests, whatever the client's connection reuse. A fixed pool of threads serves connections; dropping
/// the proxy stops it.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
    acceptor: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
}

const PROXY_WORKERS: usize = 8;
/// Long enough for a slow moto answer on a busy machine, short enough that a stuck peer frees its worker.
const PROXY_IO_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_HEAD: usize = 64 * 1024;

impl FaultProxy {
    pub fn start(upstream: SocketAddr, faults: ProxyFaults) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(ProxyState::default());
        let (sender, receiver) = mpsc::sync_channel::<(TcpStream, Fate)>(64);
        let receiver = Arc::new(Mutex::new(receiver));
        let workers = (0..PROXY_WORKERS)
            .map(|_| {
                let receiver = Arc::clone(&receiver);
                let state = Arc::clone(&state);
                std::thread::spawn(move || loop {
                    // The lock is held only while waiting; the sender's drop ends every worker.
                    let next = receiver.lock().map(|r| r.recv());
                    let Ok(Ok((client, fate))) = next else { return };
                    if serve(&state, upstream, client, fate).is_err() {
                        state.errors.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let acceptor_state = Arc::clone(&state);
        let acceptor = std::thread::spawn(move || {
            let mut random = SplitMix64(faults.seed);
            for client in listener.incoming() {
                if acceptor_state.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                acceptor_state.connections.fetch_add(1, Ordering::Relaxed);
                let roll = random.unit();
                let fate = if roll < faults.reset {
                    Fate::Reset
                } else if roll < faults.reset + faults.drop_response {
                    Fate::DropResponse
                } else {
                    Fate::Relay
                };
                if sender.send((client, fate)).is_err() {
                    return;
                }
            }
        });
        FaultProxy { addr, state, acceptor: Some(acceptor), workers }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Drops the response to the next request of each of these API actions (`CreateUser`,
    /// `CreateRepository`, …) after moto has answered it, whatever the seeded faults say.
    pub fn drop_next_response(&self, actions: &[&str]) {
        if let Ok(mut armed) = self.state.armed.lock() {
            armed.extend(actions.iter().map(|a| a.to_string()));
        }
    }

    pub fn report(&self) -> ProxyReport {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ProxyReport {
            connections: get(&self.state.connections),
            relayed: get(&self.state.relayed),
            reset: get(&self.state.reset),
            dropped_response: get(&self.state.dropped_response),
            targeted: get(&self.state.targeted),
            errors: get(&self.state.errors),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wakes the acceptor out of `accept`; it sees the flag and ends, which ends the workers.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// A small deterministic generator, so a seed reproduces the same sequence of fates.
struct SplitMix64(u64);

impl SplitMix64 {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One HTTP/1.1 message: the head up to and including its blank line, and the body.
struct HttpMessage {
    head: String,
    body: Vec<u8>,
}

impl HttpMessage {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    /// The API action: the `X-Amz-Target` suffix (ECR's JSON protocol) or the form's `Action` (IAM, STS).
    fn action(&self) -> Option<String> {
        if let Some(target) = self.header("x-amz-target") {
            return target.rsplit('.').next().map(str::to_string);
        }
        String::from_utf8_lossy(&self.body).split('&').find_map(|pair| pair.strip_prefix("Action=").map(str::to_string))
    }

    /// The message with `Connection: close` instead of any connection header, so each side closes after
    /// this exchange.
    fn bytes_closing(&self) -> Vec<u8> {
        let mut head: Vec<&str> = self
            .head
            .trim_end_matches("\r\n")
            .split("\r\n")
            .filter(|line| {
                let key = line.split(':').next().unwrap_or_default().trim();
                !key.eq_ignore_ascii_case("connection") && !key.eq_ignore_ascii_case("keep-alive")
            })
            .collect();
        head.push("Connection: close");
        let mut bytes = format!("{}\r\n\r\n", head.join("\r\n")).into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// Reads one message: the head, then a `Content-Length` body; a response without one runs to the end of
/// the stream (the request said `Connection: close`). `None` when the peer closed before sending anything.
fn read_http(stream: &mut TcpStream, request: bool) -> std::io::Result<Option<HttpMessage>> {
    let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buffer.len() > MAX_HEAD {
            return Err(invalid("HTTP head too long"));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return if buffer.is_empty() { Ok(None) } else { Err(invalid("stream ended inside an HTTP head")) };
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let mut message = HttpMessage {
        head: String::from_utf8(buffer[..head_end].to_vec()).map_err(|_| invalid("HTTP head is not UTF-8"))?,
        body: buffer[head_end..].to_vec(),
    };
    if request && message.header("transfer-encoding").is_some() {
        return Err(invalid("chunked requests are not supported by the fault proxy"));
    }
    match message.header("content-length").map(str::parse::<usize>) {
        Some(Ok(length)) => {
            while message.body.len() < length {
                let n = stream.read(&mut chunk)?;
                if n == 0 {
                    return Err(invalid("stream ended inside an HTTP body"));
                }
                message.body.extend_from_slice(&chunk[..n]);
            }
            message.body.truncate(length);
        }
        Some(Err(_)) => return Err(invalid("bad Content-Length")),
        None if request => message.body.clear(),
        None => {
            stream.read_to_end(&mut message.body)?;
        }
    }
    Ok(Some(message))
}

fn serve(state: &ProxyState, upstream: SocketAddr, mut client: TcpStream, fate: Fate) -> std::io::Result<()> {
    client.set_read_timeout(Some(PROXY_IO_TIMEOUT))?;
    client.set_write_timeout(Some(PROXY_IO_TIMEOUT))?;
    if fate == Fate::Reset {
        // Wait until the request is there, then close with it unread: the kernel answers with RST.
        let mut first = [0u8; 1];
        if client.peek(&mut first)? > 0 {
            state.reset.fetch_add(1, Ordering::Relaxed);
        }
        return Ok(());
    }
    let Some(request) = read_http(&mut client, true)? else { return Ok(()) };
    let targeted = request.action().is_some_and(|action| {
        let Ok(mut armed) = state.armed.lock() else { return false };
        let position = armed.iter().position(|a| *a == action);
        position.map(|i| armed.remove(i)).is_some()
    });
    let mut server = TcpStream::connect_timeout(&upstream, Duration::from_secs(5))?;
    server.set_read_timeout(Some(PROXY_IO_TIMEOUT))?;
    server.set_write_timeout(Some(PROXY_IO_TIMEOUT))?;
    server.write_all(&request.bytes_closing())?;
    // Reading the whole answer first makes "committed, then lost" certain.
    let response =
        read_http(&mut server, false)?.ok_or_else(|| std::io::Error::other("moto closed without answering"))?;
    if targeted || fate == Fate::DropResponse {
        state.dropped_response.fetch_add(1, Ordering::Relaxed);
        if targeted {
            state.targeted.fetch_add(1, Ordering::Relaxed);
        }
        // The request was read completely, so closing sends FIN: the client sees the connection end with
        // no response.
        return Ok(());
    }
    client.write_all(&response.bytes_closing())?;
    client.flush()?;
    state.relayed.fetch_add(1, Ordering::Relaxed);
    Ok(())
}
