//! A sink that prints records as JSON lines on stdout, for local runs without a records hub.

use std::io::Write;

use futures_util::future::{BoxFuture, FutureExt};

use super::{DeadLetter, Delivery, RecordSink, SinkError};
use crate::records::Records;

/// Writes each record body as one line on stdout; dead letters are only logged.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdoutSink;

impl RecordSink for StdoutSink {
    fn send<'a>(&'a self, records: &'a Records) -> BoxFuture<'a, Result<Delivery, SinkError>> {
        async move {
            let mut out = std::io::stdout().lock();
            for (_, body) in records.with_bodies() {
                writeln!(out, "{body}")
                    .map_err(|e| SinkError::Unreachable(format!("stdout: {e}")))?;
            }
            Ok(Delivery {
                sent: records.len(),
                events: records.len(),
                too_large: Vec::new(),
            })
        }
        .boxed()
    }

    fn dead_letter<'a>(
        &'a self,
        _letters: &'a [DeadLetter],
    ) -> BoxFuture<'a, Result<usize, SinkError>> {
        async { Ok(0) }.boxed()
    }
}
