//! `pve-sim demo` — the README's main command — passes end to end.
use pve_sim::agents::find_binary;

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_runs_every_headline_step_and_exits_zero() {
    let pve_sim = find_binary("pve-sim").expect("pve-sim is built with the workspace");
    let dir = tempfile_dir();
    let output = tokio::process::Command::new(pve_sim)
        .args(["demo", "--time-scale", "0.01", "--dir"])
        .arg(&dir)
        .output()
        .await
        .expect("run pve-sim demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("demo: all 6 steps passed"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let base = std::env::temp_dir().join(format!("pvectl-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    base
}
