//! Every endpoint the simulator serves, called at least once with valid
//! input over HTTPS: each answer must match the `returns` schema in PVE's own
//! API dump, and the tour must leave no served endpoint out.
use std::collections::BTreeSet;
use std::sync::Mutex;

use pve_sim::Fault;
use pve_sim::api::check_returns;
use pve_sim::client::Client;
use pve_sim::routes::api_routes;
use pve_sim::seed::CT_TEMPLATE;
use serde_json::Value;

use crate::support::{self, client, cluster, eventually, upid, wait, wait_ok};

/// A client that remembers which endpoints it called.
struct Tour {
    client: Client,
    seen: Mutex<BTreeSet<String>>,
}

impl Tour {
    async fn ok(
        &self,
        method: &str,
        template: &str,
        args: &[&str],
        params: &[(&str, &str)],
    ) -> Value {
        self.seen
            .lock()
            .unwrap()
            .insert(format!("{method} {template}"));
        support::ok(&self.client, method, template, args, params).await
    }

    /// An asynchronous call on pve1 that must end `OK`; returns its UPID.
    async fn task(
        &self,
        method: &str,
        template: &str,
        args: &[&str],
        params: &[(&str, &str)],
    ) -> String {
        let upid = upid(&self.ok(method, template, args, params).await);
        wait_ok(&self.client, "pve1", &upid).await;
        upid
    }

    /// Runs the lifecycle actions on a stopped guest, ending stopped.
    async fn lifecycle(&self, kind: &str, vmid: &str) {
        let current = format!("/nodes/{{node}}/{kind}/{{vmid}}/status/current");
        for action in [
            "start", "suspend", "resume", "reboot", "shutdown", "start", "stop",
        ] {
            let path = format!("/nodes/{{node}}/{kind}/{{vmid}}/status/{action}");
            self.task("POST", &path, &["pve1", vmid], &[]).await;
            let status = self.ok("GET", &current, &["pve1", vmid], &[]).await;
            let expected = if matches!(action, "shutdown" | "stop") {
                "stopped"
            } else {
                "running"
            };
            assert_eq!(status["status"], expected, "{kind} {vmid} after {action}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_served_endpoint_answers_in_pves_shape() {
    let cluster = cluster().await;
    cluster
        .add_fault(Fault::SlowClone {
            vmid: Some(9101),
            seconds: 100_000.0,
        })
        .unwrap();
    let tour = Tour {
        client: client(&cluster, "pve1"),
        seen: Mutex::new(BTreeSet::new()),
    };

    // the cluster and its nodes
    tour.ok("GET", "/version", &[], &[]).await;
    tour.ok("GET", "/cluster/status", &[], &[]).await;
    tour.ok("GET", "/cluster/resources", &[], &[]).await;
    for kind in ["vm", "storage", "node"] {
        tour.ok("GET", "/cluster/resources", &[], &[("type", kind)])
            .await;
    }
    tour.ok("GET", "/cluster/nextid", &[], &[]).await;
    tour.ok("GET", "/cluster/nextid", &[], &[("vmid", "4242")])
        .await;
    tour.ok("GET", "/nodes", &[], &[]).await;
    tour.ok("GET", "/nodes/{node}/status", &["pve1"], &[]).await;

    // network
    tour.ok("GET", "/nodes/{node}/network", &["pve1"], &[])
        .await;
    let bridges = tour
        .ok(
            "GET",
            "/nodes/{node}/network",
            &["pve1"],
            &[("type", "any_bridge")],
        )
        .await;
    assert_eq!(bridges[0]["iface"], "vmbr0", "{bridges}");
    assert_eq!(bridges.as_array().map(Vec::len), Some(1), "{bridges}");

    // storage
    tour.ok("GET", "/nodes/{node}/storage", &["pve1"], &[])
        .await;
    tour.ok(
        "GET",
        "/nodes/{node}/storage",
        &["pve1"],
        &[("content", "images")],
    )
    .await;
    for storage in ["local", "local-lvm", "shared"] {
        let args = ["pve1", storage];
        tour.ok("GET", "/nodes/{node}/storage/{storage}/status", &args, &[])
            .await;
        tour.ok("GET", "/nodes/{node}/storage/{storage}/content", &args, &[])
            .await;
    }

    // qemu
    tour.task(
        "POST",
        "/nodes/{node}/qemu",
        &["pve1"],
        &[
            ("vmid", "150"),
            ("name", "tour-vm"),
            ("memory", "1024"),
            ("scsi0", "local-lvm:1"),
            ("ide2", "none,media=cdrom"),
            ("net0", "virtio,bridge=vmbr0"),
        ],
    )
    .await;
    tour.ok("GET", "/nodes/{node}/qemu", &["pve1"], &[]).await;
    tour.task(
        "POST",
        "/nodes/{node}/qemu/{vmid}/clone",
        &["pve1", "9100"],
        &[("newid", "151"), ("name", "tour-clone")],
    )
    .await;
    let vm = ["pve1", "151"];
    tour.ok("GET", "/nodes/{node}/qemu/{vmid}/config", &vm, &[])
        .await;
    tour.ok(
        "GET",
        "/nodes/{node}/qemu/{vmid}/config",
        &vm,
        &[("current", "1")],
    )
    .await;
    tour.ok(
        "PUT",
        "/nodes/{node}/qemu/{vmid}/config",
        &vm,
        &[("description", "made by the tour")],
    )
    .await;
    tour.task(
        "POST",
        "/nodes/{node}/qemu/{vmid}/config",
        &vm,
        &[("cores", "4")],
    )
    .await;
    tour.ok("GET", "/nodes/{node}/qemu/{vmid}/pending", &vm, &[])
        .await;
    tour.ok("GET", "/nodes/{node}/qemu/{vmid}/status/current", &vm, &[])
        .await;
    tour.lifecycle("qemu", "150").await;
    tour.task("POST", "/nodes/{node}/qemu/{vmid}/template", &vm, &[])
        .await;
    let status = tour
        .ok("GET", "/nodes/{node}/qemu/{vmid}/status/current", &vm, &[])
        .await;
    assert_eq!(status["template"], 1);
    tour.task("DELETE", "/nodes/{node}/qemu/{vmid}", &vm, &[])
        .await;
    tour.task(
        "DELETE",
        "/nodes/{node}/qemu/{vmid}",
        &["pve1", "150"],
        &[("purge", "1")],
    )
    .await;

    // lxc
    tour.task(
        "POST",
        "/nodes/{node}/lxc",
        &["pve1"],
        &[
            ("vmid", "160"),
            ("ostemplate", CT_TEMPLATE),
            ("hostname", "tour-ct"),
            ("rootfs", "local-lvm:8"),
            ("net0", "name=eth0,bridge=vmbr0,ip=dhcp"),
        ],
    )
    .await;
    tour.ok("GET", "/nodes/{node}/lxc", &["pve1"], &[]).await;
    tour.task(
        "POST",
        "/nodes/{node}/lxc/{vmid}/clone",
        &["pve1", "160"],
        &[("newid", "161"), ("hostname", "tour-ct2")],
    )
    .await;
    let ct = ["pve1", "161"];
    tour.ok("GET", "/nodes/{node}/lxc/{vmid}/config", &ct, &[])
        .await;
    tour.ok(
        "PUT",
        "/nodes/{node}/lxc/{vmid}/config",
        &ct,
        &[("memory", "1024")],
    )
    .await;
    tour.ok("GET", "/nodes/{node}/lxc/{vmid}/pending", &ct, &[])
        .await;
    tour.ok("GET", "/nodes/{node}/lxc/{vmid}/status/current", &ct, &[])
        .await;
    tour.lifecycle("lxc", "160").await;
    let answer = tour
        .ok("POST", "/nodes/{node}/lxc/{vmid}/template", &ct, &[])
        .await;
    assert_eq!(answer, Value::Null, "lxc template answers null");
    eventually("CT 161 becomes a template", || async {
        let config = support::config(&tour.client, "pve1", "lxc", 161).await;
        (config["template"] == 1).then_some(())
    })
    .await;
    for vmid in ["160", "161"] {
        tour.task("DELETE", "/nodes/{node}/lxc/{vmid}", &["pve1", vmid], &[])
            .await;
    }

    // tasks, including one still running and then stopped
    let slow = upid(
        &tour
            .ok(
                "POST",
                "/nodes/{node}/qemu/{vmid}/clone",
                &["pve1", "9101"],
                &[("newid", "152"), ("full", "1")],
            )
            .await,
    );
    let running = tour
        .ok(
            "GET",
            "/nodes/{node}/tasks/{upid}/status",
            &["pve1", &slow],
            &[],
        )
        .await;
    assert_eq!(running["status"], "running");
    for source in ["archive", "active", "all"] {
        tour.ok(
            "GET",
            "/nodes/{node}/tasks",
            &["pve1"],
            &[("source", source)],
        )
        .await;
    }
    eventually("the slow clone copies", || async {
        let log = tour
            .ok(
                "GET",
                "/nodes/{node}/tasks/{upid}/log",
                &["pve1", &slow],
                &[],
            )
            .await;
        log.as_array()
            .unwrap()
            .iter()
            .any(|line| line["t"].as_str().unwrap().starts_with("transferred"))
            .then_some(())
    })
    .await;
    tour.ok(
        "DELETE",
        "/nodes/{node}/tasks/{upid}",
        &["pve1", &slow],
        &[],
    )
    .await;
    let stopped = wait(&tour.client, "pve1", &slow).await;
    assert_eq!(stopped["exitstatus"], "clone failed: interrupted by signal");
    tour.ok(
        "GET",
        "/nodes/{node}/tasks/{upid}/status",
        &["pve1", &slow],
        &[],
    )
    .await;

    // login, served by the built-in handler
    let mut login = client(&cluster, "pve1");
    let sandbox = cluster.sandbox();
    let resp = login.login(&sandbox.user, &sandbox.password).await.unwrap();
    assert_eq!(resp.status, 200, "{}", resp.body);
    check_returns(&http::Method::POST, "/access/ticket", &resp.data()).unwrap();

    let seen = tour.seen.lock().unwrap().clone();
    let missing: Vec<String> = api_routes()
        .endpoints()
        .into_iter()
        .map(|(method, template)| format!("{method} {template}"))
        .filter(|endpoint| !seen.contains(endpoint))
        .collect();
    assert!(missing.is_empty(), "endpoints never called: {missing:#?}");
}
