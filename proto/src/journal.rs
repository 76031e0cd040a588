//! The journal's line format and hash-chain rule, shared by the agent that
//! writes the journal and `pvectl audit verify` that checks it from the lines
//! the agent sends. Pure: no IO, the callers read the lines.

mod chain;
mod entry;
#[cfg(test)]
mod tests;

pub use chain::{
    ChainError, ChainVerifier, Head, Problem, RememberedHeadCheck, parse_line, verify_lines,
};
pub use entry::{Entry, NewEntry, OperationMark, OperationPhase, Outcome, Record, ZERO_HASH};
