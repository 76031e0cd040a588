//! Tests of the watcher: the pure rules, each adapter against real files in temp dirs (the
//! same test bodies for inotify and polling), the poller's timing under a paused clock, the
//! hub's routing and the task log follower.

mod adapters;
mod fixture;
mod hub;
mod model;
mod poller;
