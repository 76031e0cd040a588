//! The simulator's control endpoint, beside the PVE API on every node:
//! `GET|POST|DELETE /_sim/v1/faults` (JSON faults as in [`crate::faults`]),
//! authenticated with the sandbox's API token. `pve-sim fault` calls it.
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::drives::is_drive_key;
use crate::faults::Fault;
use crate::model::{HaResource, SimRef};

/// What the control routes need.
#[derive(Clone)]
pub struct ControlState {
    pub sim: SimRef,
    /// the full `PVEAPIToken=user@realm!id=secret` header value accepted
    pub authorization: Arc<str>,
}

pub fn routes(state: ControlState) -> axum::Router {
    axum::Router::new()
        .route("/_sim/v1/faults", get(list).post(add).delete(clear))
        .with_state(state)
}

fn authorized(state: &ControlState, headers: &HeaderMap) -> bool {
    let given = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    given == Some(&*state.authorization)
}

fn denied() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        "control endpoint needs the sandbox API token\n",
    )
        .into_response()
}

async fn list(State(state): State<ControlState>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return denied();
    }
    let faults = state.sim.state().faults.active.clone();
    Json(json!({ "faults": faults })).into_response()
}

async fn add(State(state): State<ControlState>, headers: HeaderMap, body: String) -> Response {
    if !authorized(&state, &headers) {
        return denied();
    }
    let fault: Fault = match serde_json::from_str(&body) {
        Ok(fault) => fault,
        Err(err) => {
            return (StatusCode::BAD_REQUEST, format!("invalid fault: {err}\n")).into_response();
        }
    };
    match apply_fault(&state.sim, fault) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => (StatusCode::BAD_REQUEST, format!("{err}\n")).into_response(),
    }
}

async fn clear(State(state): State<ControlState>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return denied();
    }
    match clear_faults(&state.sim) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{err}\n")).into_response(),
    }
}

/// Ends every fault; nodes that were down come back. Guest state set by a
/// fault (locks, removed disks, HA) stays as it is.
pub fn clear_faults(sim: &SimRef) -> Result<(), String> {
    let ended = std::mem::take(&mut sim.state().faults.active);
    for fault in ended {
        if let Fault::NodeDown { node } = fault {
            sim.fs
                .set_member_online(&node, true)
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Validates and activates a fault; faults that describe a state (a lock, a
/// template without disk, an HA resource) change the guest at once.
pub fn apply_fault(sim: &SimRef, fault: Fault) -> Result<(), String> {
    fault.validate()?;
    match &fault {
        Fault::TemplateWithoutDisk { vmid } => mutate_config(sim, *vmid, |kind, config| {
            config
                .props
                .retain(|k, _| !is_drive_key(kind, k) || k == "ide2");
            config.props.remove("boot");
        })?,
        Fault::SetLock { vmid, lock } => mutate_config(sim, *vmid, |_, config| {
            config.props.insert("lock".into(), lock.clone());
        })?,
        Fault::HaManaged { vmid } => {
            let node = {
                let mut st = sim.state();
                let guest = st
                    .guests
                    .get_mut(vmid)
                    .ok_or_else(|| format!("guest {vmid} does not exist"))?;
                guest.ha = Some(HaResource::matching(guest.run));
                guest.node.clone()
            };
            crate::ha::write_all(sim, &node).map_err(|e| e.to_string())?;
        }
        Fault::NodeDown { node } | Fault::RaceCreates { node, .. }
            if sim.state().node(node).is_none() =>
        {
            return Err(format!("node '{node}' is not a member"));
        }
        _ => {}
    }
    if let Fault::NodeDown { node } = &fault {
        sim.fs
            .set_member_online(node, false)
            .map_err(|e| e.to_string())?;
    }
    sim.state().faults.active.push(fault);
    Ok(())
}

fn mutate_config(
    sim: &SimRef,
    vmid: u32,
    change: impl FnOnce(crate::pmxcfs::GuestType, &mut crate::guest_config::GuestConfig),
) -> Result<(), String> {
    let guest = sim
        .state()
        .guests
        .get(&vmid)
        .cloned()
        .ok_or_else(|| format!("guest {vmid} does not exist"))?;
    let mut config = guest.config.clone();
    change(guest.kind, &mut config);
    let pid = sim.state().next_pid();
    sim.write_config(&guest.node, guest.kind, vmid, &config, pid)
        .map_err(|e| e.to_string())
}
