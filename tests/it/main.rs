//! Integration tests: the real binary and library on real captures. One test binary, so
//! the crate is linked once.

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod connections;
mod frames;
mod grpc;
mod h2_peer;
mod hostile;
mod schema;
mod sniff;
mod sniff_grpc;
mod tui;
