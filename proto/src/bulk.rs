//! How long a bulk action (`RunGuestAction`, `DeleteGuests`) may take: the
//! agent gives up on a guest after its wait, and the client gives a node's
//! answer the sum of its guests' waits. One rule both sides share, so the
//! client never cuts off an agent that is still within its limits.

use std::time::Duration;

/// What the agent waits for one guest's action task when the request sets
/// no timeout (PVE's own defaults end every action well within it).
pub const ACTION_WAIT_DEFAULT: Duration = Duration::from_secs(5 * 60);

/// Beyond the PVE timeout a request sets: the task's own end after it
/// (a shutdown with `forceStop` stops the guest once the timeout passed).
pub const ACTION_WAIT_GRACE: Duration = Duration::from_secs(30);

/// What the agent waits for one guest's delete: the stop first (with
/// `force`), then the destroy task freeing every disk.
pub const DELETE_WAIT: Duration = Duration::from_secs(15 * 60);

/// Beyond each guest's wait: the API calls around the task (state, submit).
const PER_GUEST_CALLS: Duration = Duration::from_secs(60);

/// Beyond every guest: reaching the agent and its answer coming back.
const PER_NODE: Duration = Duration::from_secs(30);

/// How long the agent waits for one guest's action task, given the PVE
/// timeout the request sets (0: PVE's default).
pub fn action_wait(timeout_seconds: u32) -> Duration {
    if timeout_seconds == 0 {
        ACTION_WAIT_DEFAULT
    } else {
        Duration::from_secs(u64::from(timeout_seconds)) + ACTION_WAIT_GRACE
    }
}

/// How long a node may take to answer for `guests` guests each waited for
/// up to `per_guest`: as if the agent did them one at a time.
pub fn node_answer_within(per_guest: Duration, guests: usize) -> Duration {
    let guests = u32::try_from(guests).unwrap_or(u32::MAX);
    (per_guest + PER_GUEST_CALLS).saturating_mul(guests) + PER_NODE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_timeout_gets_the_grace_and_none_gets_the_default() {
        assert_eq!(action_wait(0), ACTION_WAIT_DEFAULT);
        assert_eq!(action_wait(60), Duration::from_secs(90));
    }

    #[test]
    fn a_node_gets_every_guests_wait_as_if_done_one_at_a_time() {
        let wait = Duration::from_secs(90);
        assert_eq!(node_answer_within(wait, 0), Duration::from_secs(30));
        assert_eq!(node_answer_within(wait, 2), Duration::from_secs(330));
    }
}
