//! The routing rule agent and client share: which VMIDs are valid, which node
//! owns which template VMIDs, and how ordinary VMIDs are allocated around the
//! template ranges. Pure functions, no IO.

use std::fmt;
use std::str::FromStr;

#[cfg(test)]
mod tests;

/// The smallest guest id PVE accepts.
pub const VMID_MIN: u32 = 100;
/// The largest guest id PVE accepts.
pub const VMID_MAX: u32 = 999_999_999;
/// Node `n`'s template range starts at `TEMPLATE_BASE + TEMPLATE_RANGE_LEN * n`.
pub const TEMPLATE_BASE: u32 = 9000;
/// Number of template VMIDs each node owns.
pub const TEMPLATE_RANGE_LEN: u32 = 100;
/// The largest node id whose template range stays within [`VMID_MAX`].
pub const MAX_NODE_ID_WITH_RANGE: u32 =
    (VMID_MAX - TEMPLATE_BASE - (TEMPLATE_RANGE_LEN - 1)) / TEMPLATE_RANGE_LEN;
/// datacenter.cfg `next-id` lower bound (inclusive) when unset.
pub const NEXT_ID_LOWER_DEFAULT: u32 = 100;
/// datacenter.cfg `next-id` upper bound (exclusive) when unset.
pub const NEXT_ID_UPPER_DEFAULT: u32 = 1_000_000;
/// The largest `next-id` upper bound PVE's schema accepts.
pub const NEXT_ID_UPPER_MAX: u32 = VMID_MAX + 1;

/// A guest id within PVE's limits ([`VMID_MIN`]`..=`[`VMID_MAX`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vmid(u32);

/// Why a number or text is not a valid guest id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VmidError {
    /// A number outside 100..=999999999 (the text as given).
    #[error("vmid {0} is out of range: guest ids are 100..=999999999")]
    OutOfRange(String),
    /// Text that is not a decimal number.
    #[error("vmid '{0}' is not a number")]
    NotANumber(String),
}

impl Vmid {
    /// The smallest valid guest id.
    pub const MIN: Vmid = Vmid(VMID_MIN);
    /// The largest valid guest id.
    pub const MAX: Vmid = Vmid(VMID_MAX);

    /// Checks `id` against PVE's guest id limits.
    pub fn new(id: u32) -> Result<Self, VmidError> {
        if (VMID_MIN..=VMID_MAX).contains(&id) {
            Ok(Vmid(id))
        } else {
            Err(VmidError::OutOfRange(id.to_string()))
        }
    }

    /// The id as a number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Vmid {
    type Error = VmidError;

    fn try_from(id: u32) -> Result<Self, VmidError> {
        Vmid::new(id)
    }
}

impl From<Vmid> for u32 {
    fn from(vmid: Vmid) -> u32 {
        vmid.0
    }
}

impl fmt::Display for Vmid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Vmid {
    type Err = VmidError;

    /// Parses decimal digits as PVE's integer check does (leading zeros are
    /// fine); a minus sign or a huge number is out of range, anything else is
    /// not a number.
    fn from_str(text: &str) -> Result<Self, VmidError> {
        let digits = text.strip_prefix('-').unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(VmidError::NotANumber(text.to_owned()));
        }
        let out_of_range = || VmidError::OutOfRange(text.to_owned());
        if digits.len() != text.len() {
            return Err(out_of_range());
        }
        let id: u32 = digits.parse().map_err(|_| out_of_range())?;
        Vmid::new(id).map_err(|_| out_of_range())
    }
}

/// The template VMIDs one node owns, inclusive on both ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TemplateRange {
    node_id: u32,
    first: Vmid,
    last: Vmid,
}

/// Why a node has no template range, or no free id left in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateRangeError {
    /// Corosync node ids start at 1.
    #[error("node id 0 has no template range: corosync node ids start at 1")]
    NodeIdZero,
    /// The range would pass [`VMID_MAX`].
    #[error(
        "node id {0} has no template range: it would pass vmid 999999999 (node ids up to 9999909 have one)"
    )]
    NodeIdTooLarge(u32),
    /// Every id of the node's range is taken.
    #[error("no free vmid in the template range {range} of node {node_id}")]
    Full {
        /// The node whose range is full.
        node_id: u32,
        /// The range, as `first-last`.
        range: String,
    },
}

impl TemplateRange {
    /// The corosync node id owning this range.
    pub const fn node_id(self) -> u32 {
        self.node_id
    }

    /// The first template VMID of the range.
    pub const fn first(self) -> Vmid {
        self.first
    }

    /// The last template VMID of the range (inclusive).
    pub const fn last(self) -> Vmid {
        self.last
    }

    /// Whether `vmid` lies in this range.
    pub fn contains(self, vmid: Vmid) -> bool {
        (self.first..=self.last).contains(&vmid)
    }

    /// The lowest id of the range for which `is_taken` is false, e.g. to place
    /// a new template.
    pub fn lowest_free(self, is_taken: impl Fn(Vmid) -> bool) -> Result<Vmid, TemplateRangeError> {
        (self.first.0..=self.last.0)
            .map(Vmid)
            .find(|&vmid| !is_taken(vmid))
            .ok_or_else(|| TemplateRangeError::Full {
                node_id: self.node_id,
                range: self.to_string(),
            })
    }
}

impl fmt::Display for TemplateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

impl From<TemplateRange> for crate::v1::TemplateRange {
    fn from(range: TemplateRange) -> Self {
        crate::v1::TemplateRange {
            first: range.first.get(),
            last: range.last.get(),
        }
    }
}

/// The template range of corosync node `node_id`:
/// `9000 + 100·n ..= 9000 + 100·n + 99`.
pub fn template_range(node_id: u32) -> Result<TemplateRange, TemplateRangeError> {
    if node_id == 0 {
        return Err(TemplateRangeError::NodeIdZero);
    }
    if node_id > MAX_NODE_ID_WITH_RANGE {
        return Err(TemplateRangeError::NodeIdTooLarge(node_id));
    }
    let first = TEMPLATE_BASE + TEMPLATE_RANGE_LEN * node_id;
    Ok(TemplateRange {
        node_id,
        first: Vmid(first),
        last: Vmid(first + TEMPLATE_RANGE_LEN - 1),
    })
}

/// The node id whose template range contains `vmid`, whether or not that node
/// is a cluster member; `None` below the first range (9100).
pub fn range_node_id(vmid: Vmid) -> Option<u32> {
    let offset = vmid.get().checked_sub(TEMPLATE_BASE)?;
    let node_id = offset / TEMPLATE_RANGE_LEN;
    (node_id >= 1).then_some(node_id)
}

/// The member owning template VMID `vmid`: `None` when the id lies in no
/// range, or in the range of a node id that is not among `member_ids`.
pub fn template_owner(vmid: Vmid, member_ids: &[u32]) -> Option<u32> {
    range_node_id(vmid).filter(|node_id| member_ids.contains(node_id))
}

/// Whether `vmid` lies in the template range of any of `member_ids`; such ids
/// are never allocated to ordinary guests.
pub fn in_any_template_range(vmid: Vmid, member_ids: &[u32]) -> bool {
    template_owner(vmid, member_ids).is_some()
}

/// The datacenter.cfg `next-id` bounds: `lower` inclusive, `upper` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NextIdBounds {
    lower: u32,
    upper: u32,
}

/// Why no ordinary VMID could be allocated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NextIdError {
    /// `lower` outside PVE's schema (100..=999999999).
    #[error("next-id lower bound {0} is invalid: it must be 100..=999999999")]
    LowerOutOfRange(u32),
    /// `upper` outside PVE's schema (100..=1000000000).
    #[error("next-id upper bound {0} is invalid: it must be 100..=1000000000")]
    UpperOutOfRange(u32),
    /// Every id in the bounds is taken or in a member's template range
    /// (PVE's own wording).
    #[error("unable to get any free VMID in range [{lower}, {upper}]")]
    Exhausted {
        /// Inclusive lower bound searched.
        lower: u32,
        /// Exclusive upper bound searched.
        upper: u32,
    },
}

impl NextIdBounds {
    /// Checks the bounds against PVE's schema. `lower >= upper` is accepted
    /// and, as in PVE, yields no id at all.
    pub fn new(lower: u32, upper: u32) -> Result<Self, NextIdError> {
        if !(VMID_MIN..=VMID_MAX).contains(&lower) {
            return Err(NextIdError::LowerOutOfRange(lower));
        }
        if !(VMID_MIN..=NEXT_ID_UPPER_MAX).contains(&upper) {
            return Err(NextIdError::UpperOutOfRange(upper));
        }
        Ok(NextIdBounds { lower, upper })
    }

    /// Inclusive lower bound.
    pub const fn lower(self) -> u32 {
        self.lower
    }

    /// Exclusive upper bound.
    pub const fn upper(self) -> u32 {
        self.upper
    }
}

impl Default for NextIdBounds {
    /// PVE's defaults: `[100, 1000000)`.
    fn default() -> Self {
        NextIdBounds {
            lower: NEXT_ID_LOWER_DEFAULT,
            upper: NEXT_ID_UPPER_DEFAULT,
        }
    }
}

/// The lowest ordinary VMID within `bounds` that `is_taken` does not claim
/// (ids in `.vmlist` and ids reserved in flight) and that lies in no member's
/// template range.
pub fn lowest_free_vmid(
    bounds: NextIdBounds,
    is_taken: impl Fn(Vmid) -> bool,
    member_ids: &[u32],
) -> Result<Vmid, NextIdError> {
    let mut candidate = bounds.lower;
    while candidate < bounds.upper {
        // lower >= VMID_MIN and candidate < upper <= VMID_MAX + 1 keep it valid.
        let vmid = Vmid(candidate);
        if let Some(owner) = template_owner(vmid, member_ids) {
            // Skip the owner's whole range: the next candidate is the first id
            // of range `owner + 1`, at most VMID_MAX + 1.
            candidate = TEMPLATE_BASE + TEMPLATE_RANGE_LEN * (owner + 1);
            continue;
        }
        if !is_taken(vmid) {
            return Ok(vmid);
        }
        candidate += 1;
    }
    Err(NextIdError::Exhausted {
        lower: bounds.lower,
        upper: bounds.upper,
    })
}
