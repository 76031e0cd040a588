//! PVE's task id, the UPID, as agent and client both read it: which node runs
//! the task (the client routes by it) and where its log lives (the agent
//! follows it). Pure, no IO.
//!
//! `UPID:<node>:<pid %08X>:<pstart %08X>:<starttime %08X>:<type>:<id>:<user>:`,
//! checked the way PVE's `upid_decode` pattern checks it (pve-facts §3).

use std::fmt;
use std::str::FromStr;

/// A parsed UPID. `Display` gives back the text it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Upid {
    /// The node running the task.
    pub node: String,
    pub pid: u32,
    /// Process start in clock ticks since boot (8 or 9 hex digits).
    pub pstart: u64,
    /// Unix seconds.
    pub starttime: i64,
    /// `qmclone`, `vzstart`, ...
    pub task_type: String,
    /// Usually a VMID (the source for clones); may be empty.
    pub id: String,
    /// The user or token (`root@pam!ci`).
    pub user: String,
    text: String,
}

/// Why a text is not a UPID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a PVE task id (UPID:node:pid:pstart:starttime:type:id:user:): {problem}")]
pub struct UpidError {
    pub text: String,
    pub problem: &'static str,
}

impl Upid {
    /// The task log's directory under the task root: the last hex digit of
    /// the start time, upper case (`/var/log/pve/tasks/<X>/<UPID>`).
    pub fn log_subdir(&self) -> String {
        format!("{:X}", self.starttime & 0xF)
    }

    /// The UPID as PVE wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Upid {
    type Err = UpidError;

    fn from_str(text: &str) -> Result<Upid, UpidError> {
        let fail = |problem| UpidError {
            text: text.to_owned(),
            problem,
        };
        let body = text
            .strip_prefix("UPID:")
            .ok_or_else(|| fail("it does not start with 'UPID:'"))?
            .strip_suffix(':')
            .ok_or_else(|| fail("it does not end with ':'"))?;
        let fields: Vec<&str> = body.split(':').collect();
        let [node, pid, pstart, starttime, task_type, id, user] = fields[..] else {
            return Err(fail(
                "it does not have 7 fields between 'UPID:' and the final ':'",
            ));
        };
        if !is_node_name(node) {
            return Err(fail("the node is not a node name"));
        }
        let pid = hex(pid, 8..=8).ok_or_else(|| fail("the pid is not 8 hex digits"))?;
        let pstart = hex(pstart, 8..=9).ok_or_else(|| fail("pstart is not 8 or 9 hex digits"))?;
        let starttime =
            hex(starttime, 8..=8).ok_or_else(|| fail("the start time is not 8 hex digits"))?;
        let plain = |field: &str| !field.chars().any(char::is_whitespace);
        if task_type.is_empty() || !plain(task_type) {
            return Err(fail("the task type is empty or contains whitespace"));
        }
        if !plain(id) {
            return Err(fail("the id contains whitespace"));
        }
        if user.is_empty() || !plain(user) {
            return Err(fail("the user is empty or contains whitespace"));
        }
        Ok(Upid {
            node: node.to_owned(),
            // 8 hex digits always fit both
            pid: u32::try_from(pid).map_err(|_| fail("the pid is not 8 hex digits"))?,
            pstart,
            starttime: i64::try_from(starttime)
                .map_err(|_| fail("the start time is not 8 hex digits"))?,
            task_type: task_type.to_owned(),
            id: id.to_owned(),
            user: user.to_owned(),
            text: text.to_owned(),
        })
    }
}

fn hex(text: &str, digits: std::ops::RangeInclusive<usize>) -> Option<u64> {
    let ok = digits.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| u64::from_str_radix(text, 16).ok()).flatten()
}

/// `[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?`
fn is_node_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_upid_is_read_field_by_field_and_written_back_unchanged() {
        let text = "UPID:pve1:0003A1B2:01C2D3E4:66A0B1C2:qmclone:9000:root@pam:";
        let upid: Upid = text.parse().unwrap();
        assert_eq!(upid.node, "pve1");
        assert_eq!(upid.pid, 0x3A1B2);
        assert_eq!(upid.pstart, 0x1C2D3E4);
        assert_eq!(upid.starttime, 0x66A0B1C2);
        assert_eq!(upid.task_type, "qmclone");
        assert_eq!(upid.id, "9000");
        assert_eq!(upid.user, "root@pam");
        assert_eq!(upid.to_string(), text);
        assert_eq!(upid.log_subdir(), "2");
    }

    #[test]
    fn nine_digit_pstart_empty_id_and_token_users_are_upids() {
        let upid: Upid = "UPID:node-2:00000001:1ABCDEF01:66A0B1CF:vzstart::root@pam!ci:"
            .parse()
            .unwrap();
        assert_eq!(upid.pstart, 0x1ABCDEF01);
        assert_eq!(upid.id, "");
        assert_eq!(upid.user, "root@pam!ci");
        assert_eq!(upid.log_subdir(), "F");
    }

    #[test]
    fn malformed_upids_say_what_is_wrong() {
        let cases = [
            ("pve1:00000001:00000001:00000001:a::u:", "'UPID:'"),
            ("UPID:pve1:00000001:00000001:00000001:a::u", "end with ':'"),
            ("UPID:pve1:00000001:a::u:", "7 fields"),
            ("UPID:-pve1:00000001:00000001:00000001:a::u:", "node name"),
            ("UPID:pve1:0001:00000001:00000001:a::u:", "pid"),
            ("UPID:pve1:00000001:0000000G:00000001:a::u:", "pstart"),
            ("UPID:pve1:00000001:00000001:0000001:a::u:", "start time"),
            ("UPID:pve1:00000001:00000001:00000001:::u:", "task type"),
            ("UPID:pve1:00000001:00000001:00000001:a:1 2:u:", "id"),
            ("UPID:pve1:00000001:00000001:00000001:a:1::", "user"),
        ];
        for (text, problem) in cases {
            let error = text.parse::<Upid>().unwrap_err().to_string();
            assert!(error.contains(problem), "{text}: {error}");
            assert!(error.contains(text), "{error}");
        }
    }
}
