//! The simulator as a PVE API client sees it: every test starts its own
//! cluster on free loopback ports and talks to it over HTTPS.
mod auth_and_envelope;
mod cluster_views;
mod faults_and_control;
mod guest_config;
mod guest_delete;
mod guest_lifecycle;
mod lxc;
mod sandbox_up;
mod schema_conformance;
mod support;
mod tasks_api;
