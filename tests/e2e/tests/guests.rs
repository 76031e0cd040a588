//! Reading guests across the fleet through the real binaries: `vm|ct list`
//! with its filters, `get` and `config`, a fresh guest listed correctly
//! while PVE's `/cluster/resources` still lags, and a node that does not
//! answer named while the rest is listed.
use std::collections::BTreeMap;
use std::time::Duration;

use pve_sim::agents::FleetOptions;
use pve_sim::client::Client;
use pvectl_e2e::{Run, Sandbox};
use serde_json::Value;

/// `vmid -> (name, node, status)` of a `list -o json`.
fn rows(run: &Run) -> BTreeMap<u64, (String, String, String)> {
    let Value::Array(items) = run.json() else {
        panic!("not a JSON list: {run}");
    };
    items
        .iter()
        .map(|item| {
            let text = |key: &str| item[key].as_str().unwrap_or_default().to_owned();
            (
                item["vmid"].as_u64().unwrap(),
                (text("name"), text("node"), text("status")),
            )
        })
        .collect()
}

/// The seeded guests (`SimCluster` seeds every node n with web, db, dns
/// and two templates) of `kind` as `(vmid, name, node, status)`.
fn seeded(sandbox: &Sandbox, kind: &str) -> BTreeMap<u64, (String, String, String)> {
    let sim = sandbox.cluster.sim();
    let state = sim.state();
    state
        .guests
        .values()
        .filter(|g| g.kind.as_str() == kind)
        .map(|g| {
            let status = if g.run.as_str() == "stopped" {
                "stopped"
            } else {
                "running"
            };
            (
                u64::from(g.vmid),
                (g.name(), g.node.clone(), status.to_owned()),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn vm_list_shows_every_nodes_vms_and_ct_list_every_container() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let vms = sandbox.pvectl(&["vm", "list", "-o", "json"]).await;
    assert_eq!(vms.code, 0, "{vms}");
    let listed = rows(&vms);
    assert_eq!(listed, seeded(&sandbox, "qemu"));
    let nodes: std::collections::BTreeSet<&str> =
        listed.values().map(|(_, node, _)| node.as_str()).collect();
    assert_eq!(nodes.len(), 3, "every node's VMs: {vms}");
    let vmids: Vec<u64> = listed.keys().copied().collect();
    let mut sorted = vmids.clone();
    sorted.sort_unstable();
    assert_eq!(vmids, sorted);

    let cts = sandbox.pvectl(&["ct", "list", "-o", "json"]).await;
    assert_eq!(cts.code, 0, "{cts}");
    assert_eq!(rows(&cts), seeded(&sandbox, "lxc"));
    assert!(!rows(&cts).is_empty());

    let names = sandbox.pvectl(&["ct", "list", "-o", "name"]).await;
    assert!(
        names.stdout.lines().all(|line| line.starts_with("ct/")),
        "{names}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn list_filters_by_node_status_tag_and_template() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let all = seeded(&sandbox, "qemu");

    let on_pve2 = sandbox
        .pvectl(&["vm", "list", "--node", "pve2", "-o", "json"])
        .await;
    assert_eq!(on_pve2.code, 0, "{on_pve2}");
    let expected: BTreeMap<_, _> = all
        .iter()
        .filter(|(_, (_, node, _))| node == "pve2")
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    assert_eq!(rows(&on_pve2), expected);

    let running = sandbox
        .pvectl(&["vm", "list", "--status", "running", "-o", "json"])
        .await;
    let running = rows(&running);
    assert!(!running.is_empty());
    assert!(running.values().all(|(_, _, status)| status == "running"));
    assert_eq!(
        running.len(),
        all.values().filter(|(_, _, s)| s == "running").count()
    );

    let web = sandbox
        .pvectl(&["vm", "list", "--tag", "web", "--tag", "PROD", "-o", "json"])
        .await;
    let web = rows(&web);
    assert!(!web.is_empty());
    assert!(
        web.values().all(|(name, _, _)| name.starts_with("web")),
        "{web:?}"
    );

    let templates = sandbox
        .pvectl(&["vm", "list", "--template", "-o", "json"])
        .await;
    let Value::Array(items) = templates.json() else {
        panic!("{templates}");
    };
    assert!(!items.is_empty());
    assert!(items.iter().all(|t| t["template"] == Value::Bool(true)));

    let bad = sandbox.pvectl(&["vm", "list", "--status", "asleep"]).await;
    assert_eq!(bad.code, 2, "{bad}");
    assert!(bad.stderr.contains("asleep"), "{bad}");
    let unknown = sandbox.pvectl(&["vm", "list", "--node", "pve9"]).await;
    assert_eq!(unknown.code, 4, "{unknown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_vm_is_listed_with_name_and_state_while_cluster_resources_lags() {
    // 10^6 simulated seconds at 1/100: the lag outlasts the test.
    let builder = Sandbox::fast().resources_lag(Duration::from_secs(1_000_000));
    let sandbox = Sandbox::start(builder).await.unwrap();
    let create = sandbox
        .pvectl(&[
            "vm",
            "create",
            "fresh1",
            "--template",
            "ubuntu-24.04",
            "--node",
            "pve2",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(create.code, 0, "{create}");
    let vmid = create.json()["vmid"].as_u64().expect("the new VMID");

    let api = Client::for_node(sandbox.cluster.sandbox(), "pve2").unwrap();
    let resources = api
        .request("GET", "/cluster/resources", &[("type", "vm")])
        .await
        .unwrap()
        .data();
    let entry = resources
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["vmid"].as_u64() == Some(vmid))
        .cloned()
        .expect("listed in /cluster/resources");
    assert_eq!(entry["status"], "unknown", "the lag is in effect: {entry}");
    assert!(entry.get("name").is_none(), "{entry}");

    let list = sandbox
        .pvectl(&["vm", "list", "--node", "pve2", "-o", "json"])
        .await;
    assert_eq!(list.code, 0, "{list}");
    let listed = rows(&list);
    assert_eq!(
        listed.get(&vmid),
        Some(&("fresh1".to_owned(), "pve2".to_owned(), "stopped".to_owned())),
        "{list}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_that_does_not_answer_is_named_and_the_rest_listed_with_exit_3() {
    let mut sandbox = Sandbox::three_nodes().await.unwrap();
    sandbox.fleet.agent("pve3").unwrap().kill().await;
    let list = sandbox.pvectl(&["vm", "list", "-o", "json"]).await;
    assert_eq!(list.code, 3, "{list}");
    assert!(list.stderr.contains("pve3"), "{list}");
    let listed = rows(&list);
    let expected: BTreeMap<_, _> = seeded(&sandbox, "qemu")
        .into_iter()
        .filter(|(_, (_, node, _))| node != "pve3")
        .collect();
    assert_eq!(listed, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn get_and_config_read_a_guest_on_any_node_and_refuse_the_other_kind() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let (&vmid, (name, node, _)) = seeded(&sandbox, "lxc")
        .iter()
        .find(|(_, (_, node, _))| node == "pve3")
        .map(|(k, v)| (k, v.clone()))
        .unwrap();
    let vmid_text = vmid.to_string();

    let get = sandbox
        .pvectl(&["ct", "get", &vmid_text, "-o", "json"])
        .await;
    assert_eq!(get.code, 0, "{get}");
    assert_eq!(get.json()["name"], name.as_str());
    assert_eq!(get.json()["node"], node.as_str());

    let config = sandbox
        .pvectl(&["ct", "config", &vmid_text, "-o", "json"])
        .await;
    assert_eq!(config.code, 0, "{config}");
    let doc = config.json();
    assert_eq!(doc["config"]["hostname"], name.as_str());
    let api = Client::for_node(sandbox.cluster.sandbox(), &node).unwrap();
    let stored = api
        .request("GET", &format!("/nodes/{node}/lxc/{vmid}/config"), &[])
        .await
        .unwrap()
        .data();
    assert_eq!(doc["digest"], stored["digest"], "PVE's digest: {stored}");

    let wrong = sandbox.pvectl(&["vm", "get", &vmid_text]).await;
    assert_eq!(wrong.code, 4, "{wrong}");
    assert!(
        wrong.stderr.contains(&format!("pvectl ct get {vmid}")),
        "{wrong}"
    );
    let missing = sandbox.pvectl(&["vm", "config", "4242"]).await;
    assert_eq!(missing.code, 4, "{missing}");
}

#[tokio::test(flavor = "multi_thread")]
async fn api_only_agents_list_the_same_guests() {
    let options = FleetOptions {
        api_only: true,
        ..FleetOptions::default()
    };
    let sandbox = Sandbox::start_with(Sandbox::fast(), options).await.unwrap();
    let list = sandbox.pvectl(&["vm", "list", "-o", "json"]).await;
    assert_eq!(list.code, 0, "{list}");
    assert_eq!(rows(&list), seeded(&sandbox, "qemu"));
}
