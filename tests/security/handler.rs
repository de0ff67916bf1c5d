//! The real `handler` binary as the Functions host runs it, with everything it writes captured:
//! settings through its environment only, port in FUNCTIONS_CUSTOMHANDLER_PORT, SIGTERM to stop.

use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A pipe being read into memory by its own thread.
type Drained = (Arc<Mutex<Vec<u8>>>, JoinHandle<()>);

/// A running handler process whose stdout and stderr are drained into memory as it writes them
/// (a full pipe would stall it).
pub struct Handler {
    pub child: Child,
    pub port: u16,
    output: Vec<Drained>,
}

fn drain(mut pipe: impl Read + Send + 'static) -> Drained {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = buffer.clone();
    let thread = std::thread::spawn(move || {
        let mut chunk = [0; 8192];
        while let Ok(n @ 1..) = pipe.read(&mut chunk) {
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    (buffer, thread)
}

impl Handler {
    /// Starts the handler with `settings` as its only app settings and waits for `GET /`.
    pub async fn start(settings: &[(&str, String)]) -> Handler {
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_handler"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in settings {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let output = vec![
            drain(child.stdout.take().unwrap()),
            drain(child.stderr.take().unwrap()),
        ];
        let handler = Handler {
            child,
            port,
            output,
        };
        let started = Instant::now();
        while handler.get_root().await.is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no GET / answer"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        handler
    }

    async fn get_root(&self) -> Option<String> {
        let mut stream = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))
            .await
            .ok()?;
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.ok()?;
        Some(answer)
    }

    /// POSTs `body` as the host does; returns the status and the whole raw answer.
    pub async fn invoke(&self, function: &str, body: &str) -> (u16, String) {
        let mut stream = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))
            .await
            .unwrap();
        let head = format!(
            "POST /{function} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json; charset=utf-8\r\nX-Azure-Functions-InvocationId: 5e1d6c3e-2b1a-4d7e-9c8f-0a1b2c3d4e5f\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body.as_bytes()).await.unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(60), stream.read_to_string(&mut answer))
            .await
            .expect("an answer within 60 s")
            .unwrap();
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap();
        (status, answer)
    }

    /// Stops the handler with SIGTERM and returns everything it wrote to stdout and stderr.
    pub fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut all = String::new();
        for (buffer, thread) in self.output.drain(..) {
            thread.join().unwrap();
            all.push_str(&String::from_utf8_lossy(&buffer.lock().unwrap()));
        }
        all
    }
}
