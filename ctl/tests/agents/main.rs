//! The real `pvectl` binary against a fake cluster of agents over mTLS:
//! discovery, fan-out, placement, create streams, exit codes, and journal
//! verification with remembered heads.

mod fake;

use std::process::{Command, Output, Stdio};

use fake::{FakeCluster, NEW_VMID, append_line};
use serde_json::Value;

fn pvectl(cluster: &FakeCluster, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pvectl"))
        .args(args)
        .env("HOME", cluster.home.path())
        .env("PVECTL_CONFIG", &cluster.config)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_STATE_HOME")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn ok(cluster: &FakeCluster, args: &[&str]) -> Output {
    let output = pvectl(cluster, args);
    assert_eq!(code(&output), 0, "{args:?}: {}", stderr(&output));
    output
}

fn json(output: &Output) -> Value {
    serde_json::from_str(&stdout(output)).unwrap()
}

#[test]
fn node_list_shows_every_member_with_its_own_agent_version_and_template_range() {
    let cluster = FakeCluster::start(false);
    let nodes = json(&ok(&cluster, &["node", "list", "-o", "json"]));
    let nodes = nodes.as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    assert_eq!(nodes[1]["name"], "pve2");
    assert_eq!(nodes[1]["agent_version"], "0.1.0-pve2");
    assert_eq!(nodes[1]["template_range"]["first"], 9200);
    assert_eq!(nodes[1]["resources"]["memory_free_bytes"], 12u64 << 30);
    let table = stdout(&ok(&cluster, &["node", "list"]));
    let header = table.lines().next().unwrap();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["NAME", "ID", "ONLINE", "AGENT", "TEMPLATES", "ADDRESS"]
    );
    assert!(table.contains("9300-9399"), "{table}");
}

#[test]
fn an_unreachable_agent_is_named_with_its_error_and_the_listing_is_partial() {
    let cluster = FakeCluster::start(true);
    let output = pvectl(&cluster, &["template", "list", "-o", "name"]);
    assert_eq!(code(&output), 3, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("warning: node pve4: cannot connect to agent"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        stdout(&output),
        "template/9100\ntemplate/9101\ntemplate/9200\n"
    );
}

#[test]
fn template_list_asks_every_node_and_one_with_node() {
    let cluster = FakeCluster::start(false);
    let all = json(&ok(&cluster, &["template", "list", "-o", "json"]));
    let found: Vec<(String, u64)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["node"].as_str().unwrap().to_owned(),
                t["vmid"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("pve1".to_owned(), 9100),
            ("pve1".to_owned(), 9101),
            ("pve2".to_owned(), 9200)
        ]
    );
    let one = stdout(&ok(&cluster, &["template", "list", "--node", "pve2"]));
    assert!(
        one.contains("ubuntu-24.04   9200   pve2   scsi0 32.0 GiB"),
        "{one}"
    );
    assert!(!one.contains("9100"), "{one}");
}

#[test]
fn vm_create_by_name_places_on_the_holder_with_most_free_memory_with_plain_progress() {
    let cluster = FakeCluster::start(false);
    let output = ok(
        &cluster,
        &[
            "vm",
            "create",
            "web1",
            "--template",
            "ubuntu-24.04",
            "--tag",
            "Web",
        ],
    );
    let progress = stderr(&output);
    assert!(
        progress.contains(
            "template ubuntu-24.04 is on pve1 (9100), pve2 (9200); \
             creating on pve2 (most free memory, 12.0 GiB)"
        ),
        "{progress}"
    );
    assert!(
        progress.contains("\ncloning 50% cloning to 104 on local-lvm\n"),
        "{progress}"
    );
    assert!(progress.contains("\ndone 100% created\n"), "{progress}");
    let table = stdout(&output);
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row, ["104", "web1", "pve2", "no"]);
    let creates = cluster.creates();
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0].0, "pve2");
    assert_eq!(creates[0].1.node, "pve2");
    assert_eq!(creates[0].1.tags, ["web"]);
}

#[test]
fn vm_create_by_vmid_with_json_output_prints_the_final_result_object() {
    let cluster = FakeCluster::start(false);
    let output = ok(
        &cluster,
        &[
            "vm",
            "create",
            "web2",
            "--template",
            "9100",
            "--start",
            "--memory",
            "4096",
            "-o",
            "json",
        ],
    );
    let result = json(&output);
    assert_eq!(result["vmid"], NEW_VMID);
    assert_eq!(result["node"], "pve1");
    assert_eq!(result["name"], "web2");
    assert_eq!(result["started"], true);
    assert_eq!(result["operation_id"], "pve1-1");
    let creates = cluster.creates();
    assert_eq!(creates[0].0, "pve1");
    assert_eq!(creates[0].1.memory_mib, Some(4096));
}

#[test]
fn an_unknown_template_exits_4_listing_the_templates_that_exist_and_creates_nothing() {
    let cluster = FakeCluster::start(false);
    let output = pvectl(&cluster, &["vm", "create", "web1", "--template", "centos"]);
    assert_eq!(code(&output), 4, "{}", stderr(&output));
    assert!(
        stderr(&output).contains(
            "no template \"centos\"; templates that exist: ubuntu-24.04 (9100 on pve1), \
             debian-12 (9101 on pve1), ubuntu-24.04 (9200 on pve2)"
        ),
        "{}",
        stderr(&output)
    );
    let output = pvectl(
        &cluster,
        &[
            "vm",
            "create",
            "web1",
            "--template",
            "debian-12",
            "--node",
            "pve2",
        ],
    );
    assert_eq!(code(&output), 4, "{}", stderr(&output));
    assert!(stderr(&output).contains("in the range of node pve2"));
    assert!(cluster.creates().is_empty());
}

#[test]
fn a_refused_create_exits_5_with_the_cause_and_the_fix() {
    let cluster = FakeCluster::start(false);
    let output = pvectl(&cluster, &["vm", "create", "refused", "--template", "9100"]);
    assert_eq!(code(&output), 5, "{}", stderr(&output));
    let error = stderr(&output);
    assert!(
        error.contains("error: node pve1: operation pve1-1 failed: template 9100 has no boot disk"),
        "{error}"
    );
    assert!(
        error.contains("error: template 9100 has no boot disk (fix: recreate it)"),
        "{error}"
    );
    assert!(error.contains("hint: recreate it"), "{error}");
}

#[test]
fn a_wrong_node_answer_in_the_first_event_is_followed_once_to_the_owner() {
    let cluster = FakeCluster::start(false);
    let output = ok(
        &cluster,
        &[
            "vm",
            "create",
            "elsewhere",
            "--template",
            "9500",
            "-o",
            "json",
        ],
    );
    assert_eq!(json(&output)["node"], "pve2");
    let asked: Vec<String> = cluster
        .creates()
        .into_iter()
        .map(|(node, _)| node)
        .collect();
    assert_eq!(asked, ["pve1", "pve2"]);
}

#[test]
fn a_stream_that_ends_before_the_final_event_says_how_to_reattach() {
    let cluster = FakeCluster::start(false);
    let output = pvectl(&cluster, &["vm", "create", "vanish", "--template", "9100"]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains(
            "node pve1: the events of operation pve1-1 stopped before it finished \
             (the agent closed the stream); re-attach with `pvectl task watch pve1-1`"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_names_and_misrouted_vmids_are_usage_errors_before_anything_is_sent() {
    let cluster = FakeCluster::start(false);
    let output = pvectl(&cluster, &["vm", "create", "web_1", "--template", "9100"]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("invalid guest name \"web_1\""),
        "{}",
        stderr(&output)
    );
    let output = pvectl(
        &cluster,
        &[
            "vm",
            "create",
            "web1",
            "--template",
            "9200",
            "--node",
            "pve1",
        ],
    );
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("use --node pve2"),
        "{}",
        stderr(&output)
    );
    assert!(cluster.creates().is_empty());
}

#[test]
fn no_wait_prints_the_operation_id_and_task_watch_reattaches_to_it() {
    let cluster = FakeCluster::start(false);
    let output = ok(
        &cluster,
        &["vm", "create", "web3", "--template", "9200", "--no-wait"],
    );
    assert_eq!(stdout(&output), "pve2-1\n");
    let watched = ok(&cluster, &["task", "watch", "pve2-1", "-o", "json"]);
    assert_eq!(json(&watched)["vmid"], NEW_VMID);
    assert!(
        stderr(&watched).contains("cloning 100%"),
        "{}",
        stderr(&watched)
    );
    let missing = pvectl(&cluster, &["task", "watch", "pve3-9"]);
    assert_eq!(code(&missing), 4, "{}", stderr(&missing));
}

#[test]
fn vm_get_follows_the_seeds_owner_hint_to_the_guests_node() {
    let cluster = FakeCluster::start(false);
    let guest = json(&ok(&cluster, &["vm", "get", "200", "-o", "json"]));
    assert_eq!(guest["node"], "pve2");
    assert_eq!(guest["name"], "db1");
    let missing = pvectl(&cluster, &["vm", "get", "201"]);
    assert_eq!(code(&missing), 4);
}

#[test]
fn audit_log_merges_the_newest_entries_of_every_node() {
    let cluster = FakeCluster::start(false);
    let entries = json(&ok(
        &cluster,
        &["audit", "log", "--limit", "2", "-o", "json"],
    ));
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|entry| entry["seq"] == 3), "{entries:?}");
}

#[test]
fn audit_verify_passes_then_detects_an_edit_and_a_truncation_naming_node_and_seq() {
    let cluster = FakeCluster::start(false);
    let first = ok(&cluster, &["audit", "verify"]);
    assert!(
        stdout(&first).contains("pve1   3         3      -            ok"),
        "{}",
        stdout(&first)
    );
    let heads: Value =
        serde_json::from_str(&std::fs::read_to_string(cluster.heads_file()).unwrap()).unwrap();
    assert_eq!(heads["clusters"]["lab"]["pve3"]["seq"], 3);

    cluster.edit_journal("pve2", |lines| append_line(lines, "pve2"));
    let grown = ok(&cluster, &["audit", "verify", "-o", "json"]);
    assert_eq!(json(&grown)[1]["head_seq"], 4);
    assert_eq!(json(&grown)[1]["remembered_seq"], 3);

    let original = cluster.journal("pve1");
    cluster.edit_journal("pve1", |lines| {
        lines[1] = lines[1].replace("step 2", "step 9");
    });
    let edited = pvectl(&cluster, &["audit", "verify"]);
    assert_eq!(code(&edited), 1);
    assert!(
        stderr(&edited).contains("node pve1: journal entry 2 (line 2) has hash"),
        "{}",
        stderr(&edited)
    );
    cluster.edit_journal("pve1", |lines| *lines = original);

    cluster.edit_journal("pve3", |lines| lines.truncate(1));
    let truncated = pvectl(&cluster, &["audit", "verify"]);
    assert_eq!(code(&truncated), 1);
    assert!(
        stderr(&truncated).contains(
            "node pve3: journal entry 2 (line 2) is missing: the journal ends at seq 1 (truncated)"
        ),
        "{}",
        stderr(&truncated)
    );
    let heads: Value =
        serde_json::from_str(&std::fs::read_to_string(cluster.heads_file()).unwrap()).unwrap();
    assert_eq!(
        heads["clusters"]["lab"]["pve3"]["seq"], 3,
        "a broken journal keeps its old head"
    );
}
