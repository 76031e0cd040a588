//! The agent's guest, template and create RPCs against a simulated cluster
//! (`pve-sim`): an `AgentCtx` for node pve1 on pve1's view of the pmxcfs
//! tree and its task directory, the service called in-process.

mod api_only;
mod concurrency;
mod failures;
mod guests;
mod happy;
mod operations;
mod refusals;
mod resume;
mod support;
mod watcher_modes;
