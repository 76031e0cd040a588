//! Helpers for the end-to-end scenarios: start a simulated cluster, run the real binaries.
