//! `pvectl-agent man --dir DIR`: the pages packaged with the agent, generated
//! from its real parser.

use std::process::{Command, Stdio};

#[test]
fn man_writes_the_agents_pages() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_pvectl-agent"))
        .args(["man", "--dir"])
        .arg(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let main = std::fs::read_to_string(dir.path().join("pvectl-agent.1")).unwrap();
    assert!(main.contains(".TH pvectl-agent 1"), "{main}");
    assert!(main.contains("PVECTL_AGENT_CONFIG"), "{main}");
    let check = std::fs::read_to_string(dir.path().join("pvectl-agent-check.1")).unwrap();
    assert!(check.contains("what to fix"), "{check}");
    assert!(!dir.path().join("pvectl-agent-man.1").exists());
}

#[test]
fn man_into_an_unwritable_place_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_pvectl-agent"))
        .args(["man", "--dir"])
        .arg(file.join("pages"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("cannot create") && stderr.contains("a-file/pages"),
        "{stderr}"
    );
}
