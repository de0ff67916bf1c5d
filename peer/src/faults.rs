//! Fault knobs a test flips while the peer runs: refuse connections, fail authentication, reject or
//! never settle transfers, drop the connection in the middle of a send. Also two timing knobs for
//! experiments, both off by default: a settle delay and quick ACKs.
//!
//! Every knob is read when the matching event happens (a TCP accept, a put-token, a transfer), so a
//! change applies to the next one. All methods take `&self` and are cheap.

use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::lock;

/// The status code answered to put-token requests unless a test says otherwise.
pub const PUT_TOKEN_ACCEPTED: u16 = 202;

/// The status code answered to a token that a test wants refused.
pub const PUT_TOKEN_UNAUTHORIZED: u16 = 401;

/// Thread-safe fault switches shared by every connection of one [`Peer`](crate::Peer).
#[derive(Debug)]
pub struct Faults {
    refuse_connections: AtomicBool,
    put_token_status: AtomicU16,
    reject_token_containing: Mutex<Option<String>>,
    reject_transfers: AtomicBool,
    reject_transfers_containing: Mutex<Option<Vec<u8>>>,
    never_settle: AtomicBool,
    drop_after_transfers: Mutex<Option<u32>>,
    settle_delay_micros: AtomicU64,
    quick_ack: AtomicBool,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            refuse_connections: AtomicBool::new(false),
            put_token_status: AtomicU16::new(PUT_TOKEN_ACCEPTED),
            reject_token_containing: Mutex::new(None),
            reject_transfers: AtomicBool::new(false),
            reject_transfers_containing: Mutex::new(None),
            never_settle: AtomicBool::new(false),
            drop_after_transfers: Mutex::new(None),
            settle_delay_micros: AtomicU64::new(0),
            quick_ack: AtomicBool::new(false),
        }
    }
}

impl Faults {
    /// When `true`, new TCP connections are accepted and closed at once, before any AMQP byte.
    /// Connections already open are left alone.
    pub fn set_refuse_connections(&self, refuse: bool) {
        self.refuse_connections.store(refuse, Ordering::SeqCst);
    }

    /// The `status-code` answered to every put-token (202 by default; 401 to fail authentication).
    pub fn set_put_token_status(&self, status: u16) {
        self.put_token_status.store(status, Ordering::SeqCst);
    }

    /// Answers 401 to tokens whose text contains `needle` (e.g. `"skn=primary"`) and the usual
    /// status to the others, so a test can check a fallback to a secondary key. `None` turns it off.
    pub fn set_reject_token_containing(&self, needle: Option<String>) {
        *lock(&self.reject_token_containing) = needle;
    }

    /// Rejects (as [`Faults::set_reject_transfers`] does) every transfer in which some event's body
    /// contains `needle`, the way the service refuses a whole transfer for one bad message; other
    /// transfers are recorded as usual. `None` turns it off.
    pub fn set_reject_transfers_containing(&self, needle: Option<&str>) {
        *lock(&self.reject_transfers_containing) = needle.map(|n| n.as_bytes().to_vec());
    }

    /// Whether a transfer holding these event bodies is to be rejected.
    pub fn rejects_transfer_of<'b>(&self, mut bodies: impl Iterator<Item = &'b [u8]>) -> bool {
        if self.rejects_transfers() {
            return true;
        }
        let needle = lock(&self.reject_transfers_containing);
        let Some(needle) = needle.as_deref() else {
            return false;
        };
        bodies.any(|body| body.windows(needle.len()).any(|window| window == needle))
    }

    /// When `true`, transfers are settled as Rejected (`amqp:not-allowed`) and nothing is recorded.
    pub fn set_reject_transfers(&self, reject: bool) {
        self.reject_transfers.store(reject, Ordering::SeqCst);
    }

    /// When `true`, transfers are recorded but never settled: the client waits for a disposition
    /// that does not come.
    pub fn set_never_settle(&self, never: bool) {
        self.never_settle.store(never, Ordering::SeqCst);
    }

    /// After `transfers` more transfers are handled normally, the next one makes the peer drop its
    /// TCP connection without settling it or recording anything from it. `Some(0)` drops on the
    /// very next transfer. The knob fires once and then turns itself off; `None` disarms it.
    pub fn drop_connection_after_transfers(&self, transfers: Option<u32>) {
        *lock(&self.drop_after_transfers) = transfers;
    }

    /// How long the peer waits before settling each event transfer; zero (at once, as the
    /// service does) unless set. An experiment's knob, e.g. a stand-in for a network round trip:
    /// the client sends one transfer per link at a time, so this bounds each link to one
    /// transfer per `delay`. Never a way to make a test pass: see `settle`.
    pub fn set_settle_delay(&self, delay: Duration) {
        let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.settle_delay_micros.store(micros, Ordering::SeqCst);
    }

    /// When `true`, connections accepted from now on acknowledge every read at once
    /// (`TCP_QUICKACK`, re-armed after each read) instead of leaving ACK timing to the kernel.
    /// Off by default, as the service does not do it for us: on, it hides the delayed-ACK wait
    /// a client with Nagle's algorithm on would meet. An experiment's knob.
    pub fn set_quick_ack(&self, on: bool) {
        self.quick_ack.store(on, Ordering::SeqCst);
    }

    /// Whether new connections acknowledge every read at once.
    pub fn quick_acks(&self) -> bool {
        self.quick_ack.load(Ordering::SeqCst)
    }

    /// The pause before each event transfer's disposition.
    pub fn settle_delay(&self) -> Duration {
        Duration::from_micros(self.settle_delay_micros.load(Ordering::SeqCst))
    }

    /// Whether new connections are refused.
    pub fn refuses_connections(&self) -> bool {
        self.refuse_connections.load(Ordering::SeqCst)
    }

    /// Whether transfers are rejected.
    pub fn rejects_transfers(&self) -> bool {
        self.reject_transfers.load(Ordering::SeqCst)
    }

    /// Whether transfers are left unsettled.
    pub fn never_settles(&self) -> bool {
        self.never_settle.load(Ordering::SeqCst)
    }

    /// The status to answer a put-token carrying `token`.
    pub(crate) fn put_token_status_for(&self, token: &str) -> u16 {
        let rejected = lock(&self.reject_token_containing)
            .as_deref()
            .is_some_and(|needle| token.contains(needle));
        if rejected {
            PUT_TOKEN_UNAUTHORIZED
        } else {
            self.put_token_status.load(Ordering::SeqCst)
        }
    }

    /// Counts one arriving transfer against the drop knob; `true` when this transfer must drop the
    /// connection (the knob is then disarmed).
    pub(crate) fn take_connection_drop(&self) -> bool {
        let mut remaining = lock(&self.drop_after_transfers);
        match *remaining {
            Some(0) => {
                *remaining = None;
                true
            }
            Some(n) => {
                *remaining = Some(n - 1);
                false
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_token_status_defaults_to_accepted() {
        assert_eq!(Faults::default().put_token_status_for("any"), 202);
    }

    #[test]
    fn timing_defaults_are_the_services() {
        let faults = Faults::default();
        assert_eq!(faults.settle_delay(), Duration::ZERO);
        assert!(!faults.quick_acks());
    }

    #[test]
    fn reject_token_containing_only_hits_matching_tokens() {
        let faults = Faults::default();
        faults.set_reject_token_containing(Some("skn=primary".into()));
        assert_eq!(faults.put_token_status_for("sig=x&skn=primary"), 401);
        assert_eq!(faults.put_token_status_for("sig=x&skn=secondary"), 202);
        faults.set_put_token_status(500);
        assert_eq!(faults.put_token_status_for("sig=x&skn=secondary"), 500);
    }

    #[test]
    fn drop_knob_counts_down_then_fires_once() {
        let faults = Faults::default();
        assert!(!faults.take_connection_drop());
        faults.drop_connection_after_transfers(Some(2));
        assert!(!faults.take_connection_drop());
        assert!(!faults.take_connection_drop());
        assert!(faults.take_connection_drop());
        assert!(!faults.take_connection_drop());
    }
}
