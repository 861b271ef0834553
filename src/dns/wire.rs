//! DNS messages (RFC 1035) for the one question the provider asks: the A or AAAA records of a name, with
//! recursion desired, over UDP and over TCP when the UDP answer is truncated.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const TYPE_A: u16 = 1;
pub const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;
const FLAG_RESPONSE: u16 = 0x8000;
const FLAG_TRUNCATED: u16 = 0x0200;
const FLAG_RECURSION_DESIRED: u16 = 0x0100;
/// The classic UDP payload limit; a larger answer comes truncated and is asked again over TCP.
const UDP_MAX: usize = 512;

/// What a name server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The records of the asked type (empty: the name exists without such records).
    Addresses(Vec<IpAddr>),
    /// NXDOMAIN: the name does not exist.
    NoSuchName,
    /// Any other response code (SERVFAIL, REFUSED, …): ask the next server.
    ServerError(u8),
}

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("`{0}` is not a valid host name")]
    BadName(String),
    #[error("malformed answer from the name server")]
    Malformed,
    #[error("the name server failed the query (response code {0})")]
    ServerFailure(u8),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The query message for `name` and `record_type`.
pub fn query(id: u16, name: &str, record_type: u16) -> Result<Vec<u8>, WireError> {
    let mut message = Vec::with_capacity(18 + name.len());
    for field in [id, FLAG_RECURSION_DESIRED, 1, 0, 0, 0] {
        message.extend_from_slice(&field.to_be_bytes());
    }
    if name.is_empty() || name.len() > 253 {
        return Err(WireError::BadName(name.to_string()));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(WireError::BadName(name.to_string()));
        }
        message.push(label.len() as u8);
        message.extend_from_slice(label.as_bytes());
    }
    message.push(0);
    message.extend_from_slice(&record_type.to_be_bytes());
    message.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(message)
}

/// Reads a response to query `id`: `None` if it answers another query (a late or stray datagram), else the
/// answer and whether it was truncated.
pub fn parse(message: &[u8], id: u16, record_type: u16) -> Result<Option<(Answer, bool)>, WireError> {
    let mut reader = Reader { message, at: 0 };
    let (answer_id, flags, questions, answers) = (reader.u16()?, reader.u16()?, reader.u16()?, reader.u16()?);
    reader.skip(4)?;
    if answer_id != id || flags & FLAG_RESPONSE == 0 {
        return Ok(None);
    }
    let truncated = flags & FLAG_TRUNCATED != 0;
    match (flags & 0x000f) as u8 {
        0 => {}
        3 => return Ok(Some((Answer::NoSuchName, truncated))),
        code => return Ok(Some((Answer::ServerError(code), truncated))),
    }
    for _ in 0..questions {
        reader.skip_name()?;
        reader.skip(4)?;
    }
    // The answer section may hold a CNAME chain before the addresses; only the address records count.
    let mut addresses = Vec::new();
    for _ in 0..answers {
        reader.skip_name()?;
        let (kind, class) = (reader.u16()?, reader.u16()?);
        reader.skip(4)?;
        let length = reader.u16()? as usize;
        let data = reader.take(length)?;
        match (kind, class, data.len()) {
            (TYPE_A, CLASS_IN, 4) if kind == record_type => {
                addresses.push(IpAddr::V4(Ipv4Addr::new(data[0], data[1], data[2], data[3])))
            }
            (TYPE_AAAA, CLASS_IN, 16) if kind == record_type => {
                let octets: [u8; 16] = data.try_into().map_err(|_| WireError::Malformed)?;
                addresses.push(IpAddr::V6(Ipv6Addr::from(octets)))
            }
            _ => {}
        }
    }
    Ok(Some((Answer::Addresses(addresses), truncated)))
}

struct Reader<'a> {
    message: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let bytes = self.message.get(self.at..self.at + n).ok_or(WireError::Malformed)?;
        self.at += n;
        Ok(bytes)
    }

    fn skip(&mut self, n: usize) -> Result<(), WireError> {
        self.take(n).map(drop)
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        let bytes = self.take(2)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    /// Skips a name: labels up to the root, or up to a compression pointer (which ends the name in place).
    fn skip_name(&mut self) -> Result<(), WireError> {
        loop {
            let length = self.take(1)?[0];
            match length {
                0 => return Ok(()),
                l if l & 0xc0 == 0xc0 => return self.skip(1),
                l if l & 0xc0 == 0 => self.skip(l as usize)?,
                _ => return Err(WireError::Malformed),
            }
        }
    }
}

/// Asks `server` over UDP, and again over TCP if the answer was truncated.
pub async fn exchange(
    server: SocketAddr,
    name: &str,
    record_type: u16,
    timeout: Duration,
) -> Result<Answer, WireError> {
    let id = query_id();
    let message = query(id, name, record_type)?;
    let udp = tokio::time::timeout(timeout, udp_exchange(server, &message, id, record_type)).await;
    match udp.map_err(|_| WireError::Timeout(timeout))?? {
        (answer, false) => Ok(answer),
        (_, true) => {
            let tcp = tokio::time::timeout(timeout, tcp_exchange(server, &message, id, record_type)).await;
            tcp.map_err(|_| WireError::Timeout(timeout))?
        }
    }
}

async fn udp_exchange(
    server: SocketAddr,
    message: &[u8],
    id: u16,
    record_type: u16,
) -> Result<(Answer, bool), WireError> {
    let local: SocketAddr = if server.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let socket = tokio::net::UdpSocket::bind(local).await?;
    // A connected socket takes datagrams from the server only, and reports its ICMP "port unreachable" as an
    // error at once instead of a timeout.
    socket.connect(server).await?;
    socket.send(message).await?;
    let mut buffer = [0u8; UDP_MAX];
    loop {
        let n = socket.recv(&mut buffer).await?;
        // A datagram that is not the answer to this query is dropped and the wait goes on.
        if let Ok(Some(answer)) = parse(&buffer[..n], id, record_type) {
            return Ok(answer);
        }
    }
}

async fn tcp_exchange(server: SocketAddr, message: &[u8], id: u16, record_type: u16) -> Result<Answer, WireError> {
    let mut stream = tokio::net::TcpStream::connect(server).await?;
    let mut framed = (message.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(message);
    stream.write_all(&framed).await?;
    let length = stream.read_u16().await? as usize;
    let mut buffer = vec![0u8; length];
    stream.read_exact(&mut buffer).await?;
    match parse(&buffer, id, record_type)? {
        Some((answer, _)) => Ok(answer),
        None => Err(WireError::Malformed),
    }
}

/// A query id that an off-path sender cannot guess from the previous one: std's per-process random hash
/// keys over a counter.
fn query_id() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish() as u16
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A response to `request` with `rcode` and a CNAME followed by the given addresses, names compressed.
    pub fn response(request: &[u8], rcode: u8, addresses: &[IpAddr]) -> Vec<u8> {
        let question_end = request.len();
        let mut message = request[..2].to_vec();
        message.extend_from_slice(&(0x8180u16 | rcode as u16).to_be_bytes());
        message.extend_from_slice(&1u16.to_be_bytes());
        message.extend_from_slice(&(1 + addresses.len() as u16).to_be_bytes());
        message.extend_from_slice(&[0, 0, 0, 0]);
        message.extend_from_slice(&request[12..question_end]);
        // CNAME: owner = the question's name (pointer to offset 12), target "edge" + the same name.
        message.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 7, 4, b'e', b'd', b'g', b'e', 0xc0, 12]);
        for address in addresses {
            let (kind, data) = match address {
                IpAddr::V4(v4) => (TYPE_A, v4.octets().to_vec()),
                IpAddr::V6(v6) => (TYPE_AAAA, v6.octets().to_vec()),
            };
            message.extend_from_slice(&[0xc0, 12]);
            message.extend_from_slice(&kind.to_be_bytes());
            message.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
            message.extend_from_slice(&(data.len() as u16).to_be_bytes());
            message.extend_from_slice(&data);
        }
        message
    }

    #[test]
    fn a_query_is_encoded_as_rfc_1035_says() {
        let message = query(0x1234, "api.dagster.cloud", TYPE_AAAA).expect("query");
        let mut expected = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        expected.extend_from_slice(b"\x03api\x07dagster\x05cloud\x00\x00\x1c\x00\x01");
        assert_eq!(message, expected);
        assert!(matches!(query(1, "a..b", TYPE_A), Err(WireError::BadName(_))));
        assert!(matches!(query(1, &"x".repeat(64), TYPE_A), Err(WireError::BadName(_))));
    }

    #[test]
    fn answers_follow_cnames_and_skip_other_types_and_ids() {
        let request = query(7, "acme.dagster.cloud", TYPE_A).expect("query");
        let v4: IpAddr = "192.0.2.10".parse().expect("ip");
        let v6: IpAddr = "2001:db8::1".parse().expect("ip");
        let message = response(&request, 0, &[v4, v6]);
        assert_eq!(parse(&message, 7, TYPE_A).expect("parse"), Some((Answer::Addresses(vec![v4]), false)));
        assert_eq!(parse(&message, 7, TYPE_AAAA).expect("parse"), Some((Answer::Addresses(vec![v6]), false)));
        assert_eq!(parse(&message, 8, TYPE_A).expect("parse"), None, "another query's answer");
        assert_eq!(parse(&request, 7, TYPE_A).expect("parse"), None, "a query is not an answer");
        assert_eq!(parse(&response(&request, 3, &[]), 7, TYPE_A).expect("parse"), Some((Answer::NoSuchName, false)));
        assert_eq!(
            parse(&response(&request, 2, &[]), 7, TYPE_A).expect("parse"),
            Some((Answer::ServerError(2), false))
        );
        assert!(matches!(parse(&message[..message.len() - 2], 7, TYPE_A), Err(WireError::Malformed)));
    }
}
