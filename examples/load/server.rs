//! The server under test as a child process: spawned the way the Functions host spawns a custom
//! handler, probed for its first answer, read for memory and CPU, stopped with SIGTERM.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to answer `GET /` at all.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one probe may wait to connect, and then for the answer's first bytes.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What to start.
pub enum Program {
    /// The Rust `handler`, with the records hub's connection string and name.
    Handler {
        binary: PathBuf,
        connection: String,
        hub: String,
    },
    /// The Node.js reference.
    Node { node: PathBuf, script: PathBuf },
}

/// A free loopback port for the server.
pub fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// Starts the server as the host does: the port and the app settings in the environment.
pub fn spawn(program: &Program, port: u16) -> Result<Child, String> {
    let mut command = match program {
        Program::Handler {
            binary,
            connection,
            hub,
        } => {
            let mut command = Command::new(binary);
            command
                .env("TsiEventHubConnection", connection)
                .env("TSI_EVENTHUB_NAME", hub);
            command
        }
        Program::Node { node, script } => {
            let mut command = Command::new(node);
            command.arg(script);
            command
        }
    };
    command
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    command
        .spawn()
        .map_err(|e| format!("spawning {:?}: {e}", command.get_program()))
}

/// Polls `GET /` every 100 µs until any HTTP answer arrives; returns the time since `spawned`.
///
/// The probe blocks this worker thread instead of sleeping on tokio's timer, whose whole
/// milliseconds (a 1 ms sleep often takes 2) would add more to a start of a few milliseconds than
/// the start itself varies.
pub async fn wait_for_first_answer(
    addr: SocketAddr,
    spawned: Instant,
    child: &mut Child,
) -> Result<Duration, String> {
    tokio::task::block_in_place(|| loop {
        if get_root(addr) {
            return Ok(spawned.elapsed());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the server exited before answering: {status}"));
        }
        if spawned.elapsed() > START_TIMEOUT {
            return Err(format!("no answer on GET / after {START_TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_micros(100));
    })
}

/// One raw `GET /`, as the host's readiness probe: true when any HTTP status line comes back.
fn get_root(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT) else {
        return false;
    };
    let request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let mut head = [0u8; 12];
    stream.set_read_timeout(Some(PROBE_TIMEOUT)).is_ok()
        && stream.write_all(request).is_ok()
        && stream.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.1 ")
}

/// A `kB` line of `/proc/<pid>/status` (`VmHWM` for the peak, `VmRSS` for now), in KiB.
pub fn memory_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// User plus system CPU time of a process (`self` or a pid) in seconds, from `/proc/<pid>/stat`
/// (clock ticks assumed to be 1/100 s, as on every Linux we run on).
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

/// SIGTERM, as the host does, then SIGKILL if it lingers.
pub fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}
