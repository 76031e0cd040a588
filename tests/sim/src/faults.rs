//! Faults the simulator injects on demand: per guest, node or storage. They are
//! plain data (serde) so the builder, the control endpoint and `pve-sim fault`
//! all speak the same JSON: `{"kind": "slow_clone", "vmid": 9100, "seconds": 30}`.
use serde::{Deserialize, Serialize};

/// Which way a foreign create wins a race against a clone (pve-facts §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RaceShape {
    /// The foreign config exists before the clone request: the API answers
    /// `unable to create VM N: config file already exists` (no UPID) — or, when
    /// the foreign guest lives on another node, the task's first write fails.
    BeforeRequest,
    /// The foreign config appears right after the UPID is returned: the task
    /// dies with `close (rename) atomic file … failed: File exists`.
    InsideTask,
}

/// One injected fault. `vmid`/`node`/`storage` select what it applies to;
/// `None` where optional means "every".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Clones of this source take `seconds` (simulated) and log
    /// `transferred … (x%)` lines as they go.
    SlowClone { vmid: Option<u32>, seconds: f64 },
    /// Clones of this source fail once `percent` of the copy is done.
    CloneFails {
        vmid: Option<u32>,
        percent: u8,
        message: String,
    },
    /// Clones of this source never remove `lock: clone` and their task never
    /// ends (a hung worker).
    LockNeverReleased { vmid: Option<u32> },
    /// The template (or any guest) loses its disks: config keys removed, as
    /// if it had been made without one.
    TemplateWithoutDisk { vmid: u32 },
    /// The guest's config gets `lock: <lock>` (a stale lock left behind).
    SetLock { vmid: u32, lock: String },
    /// The guest is an HA resource: start/stop become hastart/hastop requests.
    HaManaged { vmid: u32 },
    /// Allocating on this storage fails with PVE's storage lock timeout.
    StorageLockTimeout { storage: String },
    /// The node is down: its API does not answer, requests proxied to it fail.
    NodeDown { node: String },
    /// Every API request to this node (or all) waits this long first.
    ApiLatency { node: Option<String>, millis: u64 },
    /// This fraction of API requests (0.0..=1.0) answer 500 / 503, from a
    /// seeded generator.
    ServerErrors {
        node: Option<String>,
        probability: f64,
    },
    /// Every `every`-th clone or create of a new VMID loses it: a foreign
    /// create on `node` takes that id first, in the given shape.
    RaceCreates {
        node: String,
        shape: RaceShape,
        every: u32,
    },
}

impl Fault {
    /// A fault must name things that make sense; checked before it is stored.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Fault::SlowClone { seconds, .. } if !(seconds.is_finite() && *seconds >= 0.0) => {
                Err(format!("slow_clone: seconds must be >= 0, got {seconds}"))
            }
            Fault::RaceCreates { every: 0, .. } => Err("race_creates: every must be >= 1".into()),
            Fault::CloneFails { percent, .. } if *percent > 100 => Err(format!(
                "clone_fails: percent must be 0..=100, got {percent}"
            )),
            Fault::ServerErrors { probability, .. }
                if !(probability.is_finite() && (0.0..=1.0).contains(probability)) =>
            {
                Err(format!(
                    "server_errors: probability must be within 0..=1, got {probability}"
                ))
            }
            _ => Ok(()),
        }
    }
}

fn applies(selector: Option<u32>, vmid: u32) -> bool {
    selector.is_none_or(|s| s == vmid)
}

fn applies_node(selector: &Option<String>, node: &str) -> bool {
    selector.as_deref().is_none_or(|s| s == node)
}

/// The active faults, with the lookups the simulator needs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Faults {
    pub active: Vec<Fault>,
    #[serde(skip)]
    race_counter: u64,
}

impl Faults {
    pub fn clone_seconds(&self, source: u32) -> Option<f64> {
        self.active.iter().find_map(|f| match f {
            Fault::SlowClone { vmid, seconds } if applies(*vmid, source) => Some(*seconds),
            _ => None,
        })
    }

    pub fn clone_failure(&self, source: u32) -> Option<(u8, String)> {
        self.active.iter().find_map(|f| match f {
            Fault::CloneFails {
                vmid,
                percent,
                message,
            } if applies(*vmid, source) => Some((*percent, message.clone())),
            _ => None,
        })
    }

    pub fn lock_never_released(&self, source: u32) -> bool {
        self.active
            .iter()
            .any(|f| matches!(f, Fault::LockNeverReleased { vmid } if applies(*vmid, source)))
    }

    pub fn storage_lock_timeout(&self, storage: &str) -> bool {
        self.active
            .iter()
            .any(|f| matches!(f, Fault::StorageLockTimeout { storage: s } if s == storage))
    }

    pub fn node_down(&self, node: &str) -> bool {
        self.active
            .iter()
            .any(|f| matches!(f, Fault::NodeDown { node: n } if n == node))
    }

    pub fn api_latency_ms(&self, node: &str) -> u64 {
        self.active
            .iter()
            .filter_map(|f| match f {
                Fault::ApiLatency { node: n, millis } if applies_node(n, node) => Some(*millis),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    pub fn server_error_probability(&self, node: &str) -> f64 {
        self.active
            .iter()
            .filter_map(|f| match f {
                Fault::ServerErrors {
                    node: n,
                    probability,
                } if applies_node(n, node) => Some(*probability),
                _ => None,
            })
            .fold(0.0, f64::max)
    }

    /// Counts one new-VMID request; says whether (and how) it loses the race.
    pub fn race(&mut self) -> Option<(String, RaceShape)> {
        let (node, shape, every) = self.active.iter().find_map(|f| match f {
            Fault::RaceCreates { node, shape, every } => Some((node.clone(), *shape, *every)),
            _ => None,
        })?;
        self.race_counter += 1;
        self.race_counter
            .is_multiple_of(u64::from(every.max(1)))
            .then_some((node, shape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_round_trip_through_the_control_json() {
        let json = r#"{"kind":"slow_clone","vmid":9100,"seconds":30.0}"#;
        let fault: Fault = serde_json::from_str(json).unwrap();
        assert_eq!(
            fault,
            Fault::SlowClone {
                vmid: Some(9100),
                seconds: 30.0
            }
        );
        assert_eq!(serde_json::to_string(&fault).unwrap(), json);
    }

    #[test]
    fn a_fault_without_vmid_applies_to_every_source() {
        let faults = Faults {
            active: vec![Fault::LockNeverReleased { vmid: None }],
            ..Faults::default()
        };
        assert!(faults.lock_never_released(9100));
        assert!(faults.lock_never_released(9201));
    }

    #[test]
    fn node_specific_latency_does_not_touch_other_nodes() {
        let faults = Faults {
            active: vec![Fault::ApiLatency {
                node: Some("pve2".into()),
                millis: 50,
            }],
            ..Faults::default()
        };
        assert_eq!(faults.api_latency_ms("pve2"), 50);
        assert_eq!(faults.api_latency_ms("pve1"), 0);
    }

    #[test]
    fn races_hit_every_nth_new_vmid() {
        let mut faults = Faults {
            active: vec![Fault::RaceCreates {
                node: "pve2".into(),
                shape: RaceShape::InsideTask,
                every: 3,
            }],
            ..Faults::default()
        };
        let hits: Vec<bool> = (0..6).map(|_| faults.race().is_some()).collect();
        assert_eq!(hits, [false, false, true, false, false, true]);
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let bad = Fault::ServerErrors {
            node: None,
            probability: 1.5,
        };
        assert!(bad.validate().unwrap_err().contains("probability"));
    }
}
