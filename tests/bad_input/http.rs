//! A raw HTTP/1.1 client: the corpus sends what no well-behaved client would (odd paths, odd
//! methods, missing headers, chunked bodies past the bound), so it writes the bytes itself.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long any one exchange may take before the case fails: the handler must answer everything.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);

/// How the body is framed.
#[derive(Clone, Copy, Debug)]
pub enum Framing {
    /// `Transfer-Encoding: chunked` in chunks of this size, as the host sends in Azure.
    Chunked(usize),
    /// `Content-Length` with this value (normally the body's length).
    Length(u64),
    /// `Transfer-Encoding: chunked`, with the body written as given (its own framing, if any).
    RawChunked,
    /// No body and no framing headers.
    NoBody,
}

/// An answer as read off the wire.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// The headers the Functions host sends with every invocation (host-protocol.md, "Request").
pub fn host_headers(invocation_id: &str) -> Vec<(String, String)> {
    [
        ("User-Agent", "Azure-Functions-Host/4.1037.0.0"),
        ("X-Azure-Functions-InvocationId", invocation_id),
        ("X-Azure-Functions-HostVersion", "4.1037.0.0"),
        ("Content-Type", "application/json; charset=utf-8"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Sends one request on a fresh connection and reads the whole answer.
pub async fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
    framing: Framing,
) -> Response {
    tokio::time::timeout(
        EXCHANGE_TIMEOUT,
        exchange_unbounded(addr, method, path, headers, body, framing),
    )
    .await
    .unwrap_or_else(|_| panic!("no answer to {method} {path} within {EXCHANGE_TIMEOUT:?}"))
}

async fn exchange_unbounded(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
    framing: Framing,
) -> Response {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n",
        addr.port()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match framing {
        Framing::Chunked(_) | Framing::RawChunked => {
            head.push_str("Transfer-Encoding: chunked\r\n")
        }
        Framing::Length(length) => head.push_str(&format!("Content-Length: {length}\r\n")),
        Framing::NoBody => {}
    }
    head.push_str("Connection: close\r\n\r\n");
    // The server may answer (413) and close before the whole body is written: write errors
    // are not failures, the answer is what counts.
    let _ = write_request(&mut stream, head.as_bytes(), body, framing).await;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    parse_response(&raw).unwrap_or_else(|| {
        panic!(
            "{method} {path}: not an HTTP answer: {:?}",
            String::from_utf8_lossy(&raw[..raw.len().min(300)])
        )
    })
}

async fn write_request(
    stream: &mut tokio::net::TcpStream,
    head: &[u8],
    body: &[u8],
    framing: Framing,
) -> std::io::Result<()> {
    stream.write_all(head).await?;
    match framing {
        Framing::Chunked(size) => {
            for part in body.chunks(size.max(1)) {
                stream
                    .write_all(format!("{:x}\r\n", part.len()).as_bytes())
                    .await?;
                stream.write_all(part).await?;
                stream.write_all(b"\r\n").await?;
            }
            stream.write_all(b"0\r\n\r\n").await?;
        }
        Framing::Length(length) => {
            let sent = body
                .len()
                .min(usize::try_from(length).unwrap_or(usize::MAX));
            stream.write_all(&body[..sent]).await?;
        }
        Framing::RawChunked => stream.write_all(body).await?,
        Framing::NoBody => {}
    }
    stream.flush().await
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    if status == 100 {
        // `100 Continue` comes before the real answer.
        return parse_response(rest);
    }
    let mut content_type = None;
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.to_owned());
        }
        if name.eq_ignore_ascii_case("transfer-encoding") && value.contains("chunked") {
            chunked = true;
        }
    }
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Some(Response {
        status,
        content_type,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}
