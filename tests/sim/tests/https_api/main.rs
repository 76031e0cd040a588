//! The simulator's HTTP side as a client sees it: real HTTPS on loopback, a
//! client that trusts only the cluster CA, and PVE's envelope, errors and
//! authentication on every answer.

mod auth;
mod envelope;
mod params;
mod support;
mod tls;
