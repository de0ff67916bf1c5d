//! Nagle's algorithm is off on both ends of a producer's connection: on the client's socket (set by
//! the patched fe2o3-amqp, `patches/fe2o3-amqp-0.16.2/PATCH.md`) and on the peer's.
//!
//! The SDK keeps its socket to itself, but it lives in this process: the test reads `TCP_NODELAY`
//! with `getsockopt` from every TCP socket found in `/proc/self/fd`, and tells the client's from
//! the peer's by their addresses. A deterministic check of the option, not a timing.
//!
//! One test in this binary, so no other test opens or closes descriptors while they are read.

mod common;

use std::net::SocketAddr;
use std::os::fd::{BorrowedFd, RawFd};

use common::*;
use socket2::SockRef;

/// One TCP socket of this process, as the kernel sees it.
#[derive(Debug)]
struct TcpSocket {
    local: SocketAddr,
    remote: SocketAddr,
    nodelay: bool,
}

/// Every connected TCP socket this process holds.
fn tcp_sockets() -> Vec<TcpSocket> {
    let mut sockets = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").expect("procfs") {
        let entry = entry.expect("fd entry");
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<RawFd>() else {
            continue;
        };
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        if !is_socket {
            continue;
        }
        // SAFETY: `fd` was open a moment ago and is only read from (getsockopt, getsockname,
        // getpeername); this test binary runs one test, and the producer and peer that own the
        // sockets are alive until the end of it. Were `fd` closed meanwhile, the calls would
        // fail or describe another socket, which the address filters then ignore.
        let fd_ref = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = SockRef::from(&fd_ref);
        let addresses = (socket.local_addr(), socket.peer_addr());
        let (Ok(local), Ok(remote)) = addresses else {
            continue;
        };
        let (Some(local), Some(remote)) = (local.as_socket(), remote.as_socket()) else {
            continue;
        };
        let Ok(nodelay) = socket.tcp_nodelay() else {
            continue; // not TCP
        };
        sockets.push(TcpSocket {
            local,
            remote,
            nodelay,
        });
    }
    sockets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_and_peer_sockets_have_nagle_off() {
    let peer = default_peer().await;
    let producer = producer(&peer).await;
    within("send_event", producer.send_event(event("nodelay", 1), None))
        .await
        .expect("send_event");

    let sockets = tcp_sockets();
    let client: Vec<&TcpSocket> = sockets.iter().filter(|s| s.remote == peer.addr()).collect();
    let served: Vec<&TcpSocket> = sockets.iter().filter(|s| s.local == peer.addr()).collect();
    assert!(!client.is_empty(), "no client socket found in {sockets:?}");
    assert!(!served.is_empty(), "no peer socket found in {sockets:?}");
    for socket in &client {
        assert!(
            socket.nodelay,
            "the SDK's socket to the peer has Nagle's algorithm on (TCP_NODELAY unset): {socket:?}"
        );
    }
    for socket in &served {
        assert!(
            socket.nodelay,
            "the peer's socket has TCP_NODELAY unset: {socket:?}"
        );
    }

    close(producer).await;
    peer.stop().await;
}
