//! A local AMQP 1.0 peer for Event Hubs tests (in progress).
