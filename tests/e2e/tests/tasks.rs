//! `pvectl task list | logs | stop | watch` through the real binaries:
//! tasks of several nodes, running and finished; a slow clone's log
//! streamed as it is written; a stopped clone failing its create; unknown
//! and malformed ids; a node whose agent is down during a listing; and the
//! same in API-only mode.
use std::time::Duration;

use pve_sim::Fault;
use pve_sim::agents::FleetOptions;
use pvectl_e2e::{Run, Sandbox, wait_for};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

const WAIT: Duration = Duration::from_secs(30);

/// `vm create NAME --template ubuntu-24.04 --node NODE -o json` and
/// `extra`, which must succeed; its JSON.
async fn create(sandbox: &Sandbox, name: &str, node: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "vm",
        "create",
        name,
        "--template",
        "ubuntu-24.04",
        "--node",
        node,
        "-o",
        "json",
    ];
    args.extend(extra);
    let run = sandbox.pvectl(&args).await;
    assert_eq!(run.code, 0, "{run}");
    run.json()
}

/// Starts a create that returns at once; its operation id.
async fn create_no_wait(sandbox: &Sandbox, name: &str, node: &str) -> String {
    create(sandbox, name, node, &["--no-wait"]).await["operation_id"]
        .as_str()
        .expect("an operation id")
        .to_owned()
}

/// The clone `node` runs now, once it runs.
async fn running_clone(sandbox: &Sandbox, node: &str) -> String {
    wait_for(&format!("a running clone on {node}"), WAIT, || {
        !sandbox.running_tasks(node, "qmclone").is_empty()
    })
    .await;
    sandbox.running_tasks(node, "qmclone").remove(0)
}

/// `task list ARGS… -o json`, which must succeed.
async fn listed(sandbox: &Sandbox, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["task", "list"];
    all.extend(args);
    all.extend(["-o", "json"]);
    let run = sandbox.pvectl(&all).await;
    assert_eq!(run.code, 0, "{run}");
    run.json().as_array().cloned().expect("a JSON array")
}

fn find<'a>(tasks: &'a [Value], upid: &str) -> Option<&'a Value> {
    tasks.iter().find(|task| task["upid"] == upid)
}

#[tokio::test(flavor = "multi_thread")]
async fn list_shows_running_and_finished_tasks_of_every_node_newest_first() {
    let sandbox =
        Sandbox::start(Sandbox::fast().fault(Fault::LockNeverReleased { vmid: Some(9200) }))
            .await
            .unwrap();
    let done = create(&sandbox, "app1", "pve1", &[]).await;
    let finished_upid = done["upid"].as_str().unwrap().to_owned();
    let hung_op = create_no_wait(&sandbox, "app2", "pve2").await;
    let hung_upid = running_clone(&sandbox, "pve2").await;

    let tasks = listed(&sandbox, &[]).await;
    let finished = find(&tasks, &finished_upid).expect("pve1's finished clone");
    assert_eq!(
        (&finished["node"], &finished["type"], &finished["state"]),
        (
            &Value::from("pve1"),
            &Value::from("qmclone"),
            &Value::from("ok")
        )
    );
    assert_eq!(finished["exit_status"], "OK");
    assert_eq!(finished["operation_id"], done["operation_id"]);
    assert!(finished["ended"].is_string(), "{finished}");
    let running = find(&tasks, &hung_upid).expect("pve2's running clone");
    assert_eq!(
        (
            &running["node"],
            &running["state"],
            &running["operation_id"]
        ),
        (
            &Value::from("pve2"),
            &Value::from("running"),
            &Value::from(hung_op.as_str())
        )
    );
    assert!(running["ended"].is_null(), "{running}");
    let started: Vec<&str> = tasks
        .iter()
        .map(|t| t["started"].as_str().unwrap())
        .collect();
    assert!(
        started.windows(2).all(|pair| pair[0] >= pair[1]),
        "not newest first: {started:?}"
    );

    let only_running = listed(&sandbox, &["--running"]).await;
    assert!(find(&only_running, &hung_upid).is_some());
    assert!(find(&only_running, &finished_upid).is_none());
    assert!(only_running.iter().all(|t| t["state"] == "running"));

    let pve1 = sandbox
        .pvectl(&["task", "list", "--node", "pve1", "-o", "name"])
        .await;
    assert_eq!(pve1.code, 0, "{pve1}");
    assert!(
        pve1.stdout.contains(&format!("task/{finished_upid}\n")),
        "{pve1}"
    );
    assert!(!pve1.stdout.contains(&hung_upid), "{pve1}");

    let table = sandbox.pvectl(&["task", "list", "--type", "qmclone"]).await;
    assert_eq!(table.code, 0, "{table}");
    let header = table.stdout.lines().next().unwrap_or_default();
    for column in ["STARTED", "NODE", "TYPE", "STATUS", "UPID"] {
        assert!(header.contains(column), "{table}");
    }
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.contains(&hung_upid) && l.contains("running")),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_follow_streams_a_slow_clones_progress_as_written_and_ends_with_its_state() {
    // 400 simulated seconds: 4 s of real time
    let sandbox = Sandbox::start(Sandbox::fast().fault(Fault::SlowClone {
        vmid: Some(9100),
        seconds: 400.0,
    }))
    .await
    .unwrap();
    let operation = create_no_wait(&sandbox, "app1", "pve1").await;
    let mut child = sandbox.spawn_pvectl(&["task", "logs", "-f", &operation]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.starts_with("transferred")
            && seen.iter().all(|l: &String| !l.starts_with("transferred"))
        {
            // the first progress line arrives while the clone still runs
            assert!(
                !sandbox.running_tasks("pve1", "qmclone").is_empty(),
                "the clone ended before its first progress line was shown"
            );
        }
        seen.push(line);
    }
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(0), "{seen:#?}");
    let progress: Vec<&String> = seen
        .iter()
        .filter(|l| l.starts_with("transferred"))
        .collect();
    assert!(progress.len() > 4, "{seen:#?}");
    assert!(progress.last().unwrap().ends_with("(100.00%)"), "{seen:#?}");
    assert_eq!(seen.last().map(String::as_str), Some("TASK OK"));
    let tasks = listed(&sandbox, &["--node", "pve1", "--type", "qmclone"]).await;
    let upid = tasks[0]["upid"].as_str().unwrap();
    assert_eq!(
        seen,
        sandbox.task_log(upid).unwrap(),
        "every line, in order"
    );

    // the same log again, now finished, by its UPID
    let again = sandbox.pvectl(&["task", "logs", upid]).await;
    assert_eq!(again.code, 0, "{again}");
    assert_eq!(again.stdout, format!("{}\n", seen.join("\n")));
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_a_running_clone_ends_it_and_the_create_reports_the_failure() {
    let sandbox = Sandbox::start(Sandbox::fast().fault(Fault::SlowClone {
        vmid: Some(9100),
        seconds: 100_000.0,
    }))
    .await
    .unwrap();
    let create = sandbox.spawn_pvectl(&[
        "vm",
        "create",
        "app1",
        "--template",
        "ubuntu-24.04",
        "--node",
        "pve1",
    ]);
    let upid = running_clone(&sandbox, "pve1").await;

    let stop = sandbox.pvectl(&["task", "stop", &upid]).await;
    assert_eq!(stop.code, 0, "{stop}");
    assert_eq!(stop.stdout, format!("stopped task {upid} on pve1\n"));

    let create = Run::from_output(create.wait_with_output().await.unwrap());
    assert_eq!(create.code, 1, "{create}");
    assert!(create.stderr.contains("interrupted by signal"), "{create}");

    let errors = listed(&sandbox, &["--node", "pve1", "--errors"]).await;
    let stopped = find(&errors, &upid).expect("the stopped clone among the errors");
    assert_eq!(stopped["state"], "error");
    assert!(
        stopped["exit_status"]
            .as_str()
            .unwrap()
            .contains("interrupted by signal"),
        "{stopped}"
    );

    let again = sandbox.pvectl(&["task", "stop", &upid]).await;
    assert_eq!(again.code, 0, "{again}");
    assert!(again.stdout.contains("had already ended"), "{again}");

    let follow = sandbox.pvectl(&["task", "logs", "-f", &upid]).await;
    assert_eq!(follow.code, 1, "{follow}");
    assert!(
        follow.stdout.trim_end().ends_with("interrupted by signal"),
        "{follow}"
    );
    assert!(
        follow.stderr.contains(&format!("task {upid} failed")),
        "{follow}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_an_operation_stops_its_clone_and_watch_sees_the_create_fail() {
    let sandbox = Sandbox::start(Sandbox::fast().fault(Fault::SlowClone {
        vmid: Some(9200),
        seconds: 100_000.0,
    }))
    .await
    .unwrap();
    let operation = create_no_wait(&sandbox, "app1", "pve2").await;
    let upid = running_clone(&sandbox, "pve2").await;

    let stop = sandbox
        .pvectl(&["task", "stop", &operation, "-o", "json"])
        .await;
    assert_eq!(stop.code, 0, "{stop}");
    let stopped = stop.json();
    assert_eq!(stopped["upid"], upid.as_str());
    assert_eq!(stopped["node"], "pve2");
    assert_eq!(stopped["was_running"], true);

    let watch = sandbox.pvectl(&["task", "watch", &operation]).await;
    assert_eq!(watch.code, 1, "{watch}");
    assert!(watch.stderr.contains("interrupted by signal"), "{watch}");
    assert!(watch.stderr.contains("pvectl task stop"), "{watch}");
    assert!(sandbox.running_tasks("pve2", "qmclone").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_and_malformed_task_ids_are_refused_precisely() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let unknown = "UPID:pve2:00000001:00000001:66A0B1C2:qmclone:9000:root@pam:";
    let run = sandbox.pvectl(&["task", "logs", unknown]).await;
    assert_eq!(run.code, 4, "{run}");
    assert!(
        run.stderr
            .contains(&format!("node 'pve2' has no task {unknown}")),
        "{run}"
    );

    let stop = sandbox.pvectl(&["task", "stop", unknown]).await;
    assert_eq!(stop.code, 4, "{stop}");

    let other_node = "UPID:pve9:00000001:00000001:66A0B1C2:qmclone:9000:root@pam:";
    let run = sandbox.pvectl(&["task", "logs", other_node]).await;
    assert_eq!(run.code, 4, "{run}");
    assert!(run.stderr.contains("no node \"pve9\""), "{run}");

    let run = sandbox.pvectl(&["task", "stop", "pve1-1-999"]).await;
    assert_eq!(run.code, 4, "{run}");
    assert!(
        run.stderr
            .contains("no operation \"pve1-1-999\" on any node"),
        "{run}"
    );

    let run = sandbox
        .pvectl(&[
            "task",
            "logs",
            "UPID:pve1:0001:00000001:66A0B1C2:qmclone::root@pam:",
        ])
        .await;
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("the pid is not 8 hex digits"), "{run}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_whose_agent_is_down_is_named_and_the_others_are_listed_with_exit_3() {
    let mut sandbox = Sandbox::three_nodes().await.unwrap();
    let done = create(&sandbox, "app1", "pve2", &[]).await;
    sandbox.fleet.agent("pve3").unwrap().kill().await;

    let run = sandbox.pvectl(&["task", "list", "-o", "json"]).await;
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("warning: node pve3"), "{run}");
    assert!(run.stderr.contains("no answer from node(s) pve3"), "{run}");
    let tasks = run.json();
    let tasks = tasks.as_array().expect("the other nodes' tasks");
    assert!(
        find(tasks, done["upid"].as_str().unwrap()).is_some(),
        "{run}"
    );
    assert!(tasks.iter().all(|t| t["node"] != "pve3"), "{run}");
}

#[tokio::test(flavor = "multi_thread")]
async fn in_api_only_mode_tasks_are_listed_followed_and_stopped_through_the_api() {
    let options = FleetOptions {
        api_only: true,
        ..FleetOptions::default()
    };
    let builder = Sandbox::fast().fault(Fault::SlowClone {
        vmid: Some(9100),
        seconds: 200.0,
    });
    let sandbox = Sandbox::start_with(builder, options).await.unwrap();
    let operation = create_no_wait(&sandbox, "app1", "pve1").await;
    let upid = running_clone(&sandbox, "pve1").await;
    let running = listed(&sandbox, &["--running"]).await;
    let task = find(&running, &upid).expect("the running clone");
    assert_eq!(task["operation_id"], operation.as_str());

    let follow = sandbox.pvectl(&["task", "logs", "-f", &upid]).await;
    assert_eq!(follow.code, 0, "{follow}");
    assert!(follow.stdout.contains("transferred"), "{follow}");
    assert!(follow.stdout.ends_with("TASK OK\n"), "{follow}");

    let tasks = listed(&sandbox, &["--vmid", "9100"]).await;
    let ended = find(&tasks, &upid).expect("the finished clone");
    assert_eq!(ended["state"], "ok");

    let stop = sandbox.pvectl(&["task", "stop", &upid]).await;
    assert_eq!(stop.code, 0, "{stop}");
    assert!(stop.stdout.contains("had already ended"), "{stop}");
}
