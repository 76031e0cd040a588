//! Tasks as PVE's Tasks API shows them: status fields, the log in pages,
//! unknown UPIDs, the task list's sources and filters, and stopping a task.
use pve_sim::Fault;
use pve_sim::SimCluster;
use pve_sim::client::Client;
use pve_sim::tasks::Upid;
use serde_json::Value;

use crate::support::{
    assert_param_error, call, client, cluster, ok, task_log, upid, wait, wait_ok,
};

/// Starts a clone of template 9100 that never ends until stopped.
async fn hung_clone(cluster: &SimCluster, client: &Client, newid: &str) -> String {
    cluster
        .add_fault(Fault::LockNeverReleased { vmid: Some(9100) })
        .unwrap();
    upid(
        &ok(
            client,
            "POST",
            "/nodes/{node}/qemu/{vmid}/clone",
            &["pve1", "9100"],
            &[("newid", newid)],
        )
        .await,
    )
}

async fn status(client: &Client, upid: &str) -> Value {
    ok(
        client,
        "GET",
        "/nodes/{node}/tasks/{upid}/status",
        &["pve1", upid],
        &[],
    )
    .await
}

async fn action(client: &Client, vmid: &str, action: &str) -> String {
    upid(
        &ok(
            client,
            "POST",
            &format!("/nodes/{{node}}/qemu/{{vmid}}/status/{action}"),
            &["pve1", vmid],
            &[],
        )
        .await,
    )
}

async fn list(client: &Client, params: &[(&str, &str)]) -> (Vec<Value>, u64) {
    let resp = call(client, "GET", "/nodes/{node}/tasks", &["pve1"], params).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let total = resp.json()["total"].as_u64().unwrap_or(0);
    (resp.data().as_array().unwrap().clone(), total)
}

fn upids(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["upid"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn task_status_shows_the_upid_fields_while_running_and_the_exit_status_once_stopped() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    let task = hung_clone(&cluster, &client, "170").await;
    let parsed: Upid = task.parse().unwrap();
    assert_eq!(
        parsed.user, "root@pam!pvectl",
        "a token's task carries the token"
    );

    let running = status(&client, &task).await;
    assert_eq!(running["upid"], task);
    assert_eq!(running["node"], "pve1");
    assert_eq!(running["pid"], parsed.pid);
    assert_eq!(running["pstart"], parsed.pstart);
    assert_eq!(running["starttime"], parsed.starttime);
    assert_eq!(running["type"], "qmclone");
    assert_eq!(running["id"], "9100", "clone tasks carry the source vmid");
    assert_eq!(running["user"], "root@pam");
    assert_eq!(running["tokenid"], "pvectl");
    assert_eq!(running["status"], "running");
    assert!(running.get("exitstatus").is_none(), "{running}");

    let gone = ok(
        &client,
        "DELETE",
        "/nodes/{node}/tasks/{upid}",
        &["pve1", &task],
        &[],
    )
    .await;
    assert_eq!(gone, Value::Null);
    let stopped = wait(&client, "pve1", &task).await;
    assert_eq!(stopped["status"], "stopped");
    assert_eq!(stopped["exitstatus"], "clone failed: interrupted by signal");
    let log = task_log(&client, "pve1", &task).await;
    assert_eq!(
        log.last().unwrap(),
        "TASK ERROR: clone failed: interrupted by signal"
    );

    let start = action(&client, "101", "start").await;
    let done = wait_ok(&client, "pve1", &start).await;
    assert_eq!(done["type"], "qmstart");
    assert_eq!(done["id"], "101");
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_started_with_a_ticket_name_the_user_and_no_token() {
    let cluster = cluster().await;
    let sandbox = cluster.sandbox();
    let mut client = client(&cluster, "pve1");
    client
        .login(&sandbox.user, &sandbox.password)
        .await
        .unwrap();
    let task = action(&client, "101", "start").await;
    assert!(task.ends_with(":qmstart:101:root@pam:"), "{task}");
    let done = wait_ok(&client, "pve1", &task).await;
    assert_eq!(done["user"], "root@pam");
    assert!(done.get("tokenid").is_none(), "{done}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_task_log_comes_in_pages_with_one_based_line_numbers_and_a_total() {
    let cluster = cluster().await;
    cluster
        .add_fault(Fault::SlowClone {
            vmid: Some(9100),
            seconds: 20.0,
        })
        .unwrap();
    let client = client(&cluster, "pve1");
    let task = upid(
        &ok(
            &client,
            "POST",
            "/nodes/{node}/qemu/{vmid}/clone",
            &["pve1", "9100"],
            &[("newid", "171"), ("full", "1")],
        )
        .await,
    );
    wait_ok(&client, "pve1", &task).await;
    let page = |params: &'static [(&'static str, &'static str)]| {
        let client = client.clone();
        let task = task.clone();
        async move {
            let resp = call(
                &client,
                "GET",
                "/nodes/{node}/tasks/{upid}/log",
                &["pve1", &task],
                params,
            )
            .await;
            assert_eq!(resp.status, 200, "{}", resp.body);
            let lines: Vec<(u64, String)> = resp
                .data()
                .as_array()
                .unwrap()
                .iter()
                .map(|l| (l["n"].as_u64().unwrap(), l["t"].as_str().unwrap().into()))
                .collect();
            (lines, resp.json()["total"].as_u64().unwrap())
        }
    };

    let (all, total) = page(&[("limit", "0")]).await;
    assert!(total > 50, "a 20 s clone logs many progress lines: {total}");
    assert_eq!(all.len() as u64, total, "limit=0 is the whole log");
    let numbers: Vec<u64> = all.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, (1..=total).collect::<Vec<_>>());
    assert_eq!(all[0].1, "creating a clone of VM 9100 with ID 171");
    assert_eq!(all.last().unwrap().1, "TASK OK");
    assert!(all.iter().any(|(_, t)| t.starts_with("transferred ")));

    let (first, first_total) = page(&[]).await;
    assert_eq!(first.len(), 50, "the default limit is 50");
    assert_eq!(first_total, total);
    assert_eq!(first[..], all[..50]);

    let (middle, middle_total) = page(&[("start", "2"), ("limit", "3")]).await;
    assert_eq!(middle_total, total);
    assert_eq!(middle[..], all[2..5]);
    assert_eq!(middle[0].0, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_upid_is_a_parameter_error() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    let unknown = "UPID:pve1:00000001:00000002:00000003:qmstart:100:root@pam:";
    for method in ["GET", "DELETE"] {
        let path = if method == "GET" {
            "/nodes/{node}/tasks/{upid}/status"
        } else {
            "/nodes/{node}/tasks/{upid}"
        };
        let resp = call(&client, method, path, &["pve1", unknown], &[]).await;
        assert_param_error(&resp, "upid", "no such task");
        let resp = call(&client, method, path, &["pve1", "not-a-upid"], &[]).await;
        assert_param_error(&resp, "upid", "unable to parse worker upid");
    }
    // a task of another node has no log here: one line says so
    let (elsewhere, other) = (unknown.replace("pve1", "pve2"), "pve1");
    let lines = ok(
        &client,
        "GET",
        "/nodes/{node}/tasks/{upid}/log",
        &[other, &elsewhere],
        &[],
    )
    .await;
    assert_eq!(
        lines,
        serde_json::json!([{"n": 1, "t": "unable to open file - No such file or directory"}])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_task_list_shows_finished_tasks_unless_asked_for_active_ones() {
    let cluster = cluster().await;
    let client = client(&cluster, "pve1");
    let hung = hung_clone(&cluster, &client, "172").await;
    let started = action(&client, "101", "start").await;
    wait_ok(&client, "pve1", &started).await;
    let failed = action(&client, "9101", "start").await;
    let failure = wait(&client, "pve1", &failed).await;
    assert_eq!(
        failure["exitstatus"],
        "you can't start a vm if it's a template"
    );

    let (archive, total) = list(&client, &[]).await;
    assert_eq!(upids(&archive), [failed.as_str(), started.as_str()]);
    assert_eq!(total, 2);
    assert_eq!(archive[1]["status"], "OK");
    assert_eq!(
        archive[0]["status"],
        "you can't start a vm if it's a template"
    );
    assert!(archive.iter().all(|e| e["endtime"].as_i64().is_some()));
    assert!(
        archive
            .iter()
            .all(|e| e["user"] == "root@pam" && e["tokenid"] == "pvectl")
    );

    let (active, _) = list(&client, &[("source", "active")]).await;
    assert_eq!(upids(&active), [hung.as_str()]);
    assert_eq!(active[0]["status"], "RUNNING");
    assert!(active[0].get("endtime").is_none());

    let (all, _) = list(&client, &[("source", "all")]).await;
    assert_eq!(all.len(), 3);
    let (clones, _) = list(&client, &[("source", "all"), ("typefilter", "qmclone")]).await;
    assert_eq!(upids(&clones), [hung.as_str()]);
    let (for_101, _) = list(&client, &[("vmid", "101")]).await;
    assert_eq!(upids(&for_101), [started.as_str()]);
    let (errors, _) = list(&client, &[("errors", "1")]).await;
    assert_eq!(upids(&errors), [failed.as_str()]);
    let (none, counted) = list(&client, &[("limit", "0")]).await;
    assert!(none.is_empty(), "limit=0 lists nothing: {none:?}");
    assert_eq!(counted, 2, "but counts every match");

    ok(
        &client,
        "DELETE",
        "/nodes/{node}/tasks/{upid}",
        &["pve1", &hung],
        &[],
    )
    .await;
    wait(&client, "pve1", &hung).await;
    let (active, _) = list(&client, &[("source", "active")]).await;
    assert!(active.is_empty(), "a stopped task is no longer active");
    let (archive, _) = list(&client, &[]).await;
    assert_eq!(archive.len(), 3);
}
