//! The agents' journals through `pvectl audit`: creates are recorded with
//! the caller's certificate CN, and an edited line breaks `audit verify`
//! (exit 1, naming the node and the entry).
use pvectl_e2e::Sandbox;
use serde_json::Value;

async fn create_app1_on_pve2(sandbox: &Sandbox) -> u64 {
    let run = sandbox
        .pvectl(&[
            "vm",
            "create",
            "app1",
            "--template",
            "ubuntu-24.04",
            "--node",
            "pve2",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(run.code, 0, "{run}");
    run.json()["vmid"].as_u64().expect("a vmid")
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_log_shows_the_admin_cn_as_the_actor_of_a_create() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let vmid = create_app1_on_pve2(&sandbox).await;
    let run = sandbox
        .pvectl(&["audit", "log", "--node", "pve2", "-o", "json"])
        .await;
    assert_eq!(run.code, 0, "{run}");
    let entries = run.json();
    let entries = entries.as_array().expect("a list of entries");
    let creates: Vec<&Value> = entries
        .iter()
        .filter(|entry| {
            entry["action"]
                .as_str()
                .unwrap_or("")
                .starts_with("vm.create")
        })
        .collect();
    assert!(!creates.is_empty(), "{run}");
    for entry in &creates {
        assert_eq!(entry["actor"], "admin", "{entry}");
        assert_eq!(entry["node"], "pve2", "{entry}");
    }
    let target = format!("vm/{vmid}");
    let finish = creates
        .iter()
        .find(|entry| entry["action"] == "vm.create" && entry["outcome"] == "ok")
        .expect("the create's finish");
    assert_eq!(finish["target"], target.as_str(), "{finish}");

    // the table shows the same, a row per entry
    let table = sandbox.pvectl(&["audit", "log", "--node", "pve2"]).await;
    assert_eq!(table.code, 0, "{table}");
    assert!(
        table
            .stdout
            .lines()
            .any(|line| line.contains(" admin ") && line.contains("vm.create")),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_verify_names_the_node_and_seq_of_an_edited_journal_line() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    create_app1_on_pve2(&sandbox).await;
    let clean = sandbox.pvectl(&["audit", "verify"]).await;
    assert_eq!(clean.code, 0, "{clean}");

    // rewrite the create's start entry: same length, still valid JSON
    let path = sandbox.journal_path("pve2");
    let text = std::fs::read_to_string(&path).unwrap();
    let (index, line) = text
        .lines()
        .enumerate()
        .find(|(_, line)| line.contains("\"target\":\"vm/app1\""))
        .expect("the start entry of the create");
    let seq = serde_json::from_str::<Value>(line).unwrap()["seq"]
        .as_u64()
        .unwrap();
    assert_eq!(seq, index as u64 + 1);
    let edited = text.replacen("\"target\":\"vm/app1\"", "\"target\":\"vm/app7\"", 1);
    assert_eq!(edited.len(), text.len());
    std::fs::write(&path, edited).unwrap();

    let run = sandbox.pvectl(&["audit", "verify"]).await;
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains(&format!(
            "node pve2: journal entry {seq} (line {seq}) has hash"
        )),
        "{run}"
    );
    assert!(!run.stderr.contains("node pve1:"), "{run}");
    assert!(!run.stderr.contains("node pve3:"), "{run}");
}
