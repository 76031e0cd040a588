//! `pve-sim demo`: a 3-node cluster with real agents, and the headline flows
//! run through the real `pvectl` as a user would type them. Every step says
//! what it ran and what it checked; the demo fails on the first step that
//! did not do what it should.
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::agents::find_binary;

/// One step's outcome.
#[derive(Debug)]
pub struct Step {
    pub title: String,
    pub command: String,
    pub ok: bool,
    pub detail: String,
}

/// Runs `pvectl` with a config; returns exit code, stdout, stderr.
pub struct Pvectl {
    binary: PathBuf,
    config: PathBuf,
    /// pvectl's state (remembered journal heads) stays in the sandbox
    state: PathBuf,
}

impl Pvectl {
    pub fn new(config: &Path) -> Result<Pvectl, crate::agents::AgentsError> {
        let state = config.parent().unwrap_or(config).join("state");
        Ok(Pvectl {
            binary: find_binary("pvectl")?,
            config: config.to_path_buf(),
            state,
        })
    }

    pub async fn run(&self, args: &[&str]) -> (i32, String, String) {
        let output: std::io::Result<Output> = tokio::process::Command::new(&self.binary)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("XDG_STATE_HOME", &self.state)
            .stdin(std::process::Stdio::null())
            .output()
            .await;
        match output {
            Ok(out) => (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ),
            Err(err) => (-1, String::new(), format!("cannot run pvectl: {err}")),
        }
    }
}

fn step(title: &str, args: &[&str], ok: bool, detail: String) -> Step {
    Step {
        title: title.into(),
        command: format!("pvectl {}", args.join(" ")),
        ok,
        detail,
    }
}

/// The headline flows; stops at the first failing step.
pub async fn run(pvectl: &Pvectl) -> Vec<Step> {
    let mut steps = Vec::new();
    let args = ["node", "list"];
    let (code, out, err) = pvectl.run(&args).await;
    let ok = code == 0
        && ["pve1", "pve2", "pve3", "9100-9199"]
            .iter()
            .all(|s| out.contains(s));
    steps.push(step(
        "every node and its template range is listed",
        &args,
        ok,
        format!("{out}{err}"),
    ));
    if !ok {
        return steps;
    }

    let args = ["template", "list"];
    let (code, out, err) = pvectl.run(&args).await;
    let ok = code == 0 && out.contains("ubuntu-24.04") && out.contains("9201");
    steps.push(step(
        "templates of every node are listed",
        &args,
        ok,
        format!("{out}{err}"),
    ));
    if !ok {
        return steps;
    }

    let args = [
        "vm",
        "create",
        "web1",
        "--template",
        "ubuntu-24.04",
        "--node",
        "pve2",
        "--cores",
        "4",
        "-o",
        "json",
    ];
    let (code, out, err) = pvectl.run(&args).await;
    let result: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
    let vmid = result["vmid"].as_u64().unwrap_or(0);
    let ok = code == 0 && result["node"] == "pve2" && vmid >= 100 && !(9100..10000).contains(&vmid);
    steps.push(step(
        "web1 is created on pve2 from its ubuntu-24.04 template",
        &args,
        ok,
        format!("{out}{err}"),
    ));
    if !ok {
        return steps;
    }

    let vmid_text = vmid.to_string();
    let args = ["vm", "get", vmid_text.as_str(), "-o", "json"];
    let (code, out, err) = pvectl.run(&args).await;
    let guest: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
    let ok = code == 0 && out.contains("web1") && guest.to_string().contains("pve2");
    steps.push(step(
        "the new VM exists with its name, on pve2",
        &args,
        ok,
        format!("{out}{err}"),
    ));
    if !ok {
        return steps;
    }

    let args = ["vm", "create", "web2", "--template", "no-such-template"];
    let (code, out, err) = pvectl.run(&args).await;
    let ok = code == 4 && err.contains("ubuntu-24.04");
    steps.push(step(
        "an unknown template fails with exit 4 and lists the templates",
        &args,
        ok,
        format!("{out}{err}"),
    ));
    if !ok {
        return steps;
    }

    let args = ["audit", "verify"];
    let (code, out, err) = pvectl.run(&args).await;
    steps.push(step(
        "every agent's journal verifies",
        &args,
        code == 0,
        format!("{out}{err}"),
    ));
    steps
}
