//! Clone, template conversion and VMID races as a client sees them: over HTTPS with token
//! authentication, with the pmxcfs tree and the task logs checked on disk (pve-facts §3, §4,
//! §6, §7, §10). One test binary, so the helpers are built and linked once.

mod failures;
mod node_views;
mod races;
mod sequence;
mod support;
mod target;
mod template;
