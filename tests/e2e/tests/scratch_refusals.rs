//! Creates from scratch refused before anything changes: a storage that
//! does not exist or cannot hold disks (exit 5), an ISO, OS template or
//! bridge that does not exist (exit 4), `--template` with hardware flags,
//! and `--password` without a terminal (exit 2). `.vmlist` is unchanged
//! and stderr names the cause.
use pve_sim::seed::CT_TEMPLATE;
use pvectl_e2e::{Run, Sandbox};

/// Runs `pvectl ARGS` and checks that nothing was created.
async fn refused(sandbox: &Sandbox, args: &[&str]) -> Run {
    let before = sandbox.vmids();
    let run = sandbox.pvectl(args).await;
    assert_eq!(sandbox.vmids(), before, "something was created: {run}");
    assert!(run.stdout.is_empty(), "{run}");
    run
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_storages_volumes_and_bridges_are_refused_with_their_exit_codes() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let vm = |extra: &'static [&'static str]| {
        [&["vm", "create", "bad1", "--node", "pve1"][..], extra].concat()
    };

    let missing = refused(&sandbox, &vm(&["--disk", "nope:4"])).await;
    assert_eq!(missing.code, 5, "{missing}");
    assert!(
        missing
            .stderr
            .contains("storage 'nope' of scsi0 does not exist on node pve1"),
        "{missing}"
    );

    let no_room = refused(&sandbox, &vm(&["--disk", "local-lvm:100000"])).await;
    assert_eq!(no_room.code, 5, "{no_room}");
    assert!(
        no_room.stderr.contains("storage 'local-lvm' has"),
        "{no_room}"
    );

    let iso = refused(&sandbox, &vm(&["--iso", "local:iso/nope.iso"])).await;
    assert_eq!(iso.code, 4, "{iso}");
    assert!(
        iso.stderr
            .contains("local:iso/nope.iso does not exist on node pve1"),
        "{iso}"
    );

    let bridge = refused(&sandbox, &vm(&["--net", "bridge=vmbr9"])).await;
    assert_eq!(bridge.code, 4, "{bridge}");
    assert!(
        bridge
            .stderr
            .contains("bridge 'vmbr9' does not exist on node pve1; its bridges: vmbr0"),
        "{bridge}"
    );

    let rootdir = refused(
        &sandbox,
        &[
            "ct",
            "create",
            "bad2",
            "--node",
            "pve2",
            "--ostemplate",
            "local:vztmpl/nope.tar.zst",
        ],
    )
    .await;
    assert_eq!(rootdir.code, 4, "{rootdir}");
    assert!(
        rootdir
            .stderr
            .contains("local:vztmpl/nope.tar.zst does not exist on node pve2"),
        "{rootdir}"
    );
    assert!(
        rootdir.stderr.contains(CT_TEMPLATE),
        "what exists is named: {rootdir}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_exit_2_before_anything_is_sent() {
    let sandbox = Sandbox::three_nodes().await.unwrap();
    let conflict = refused(
        &sandbox,
        &[
            "vm",
            "create",
            "bad3",
            "--template",
            "debian-12",
            "--disk",
            "local-lvm:4",
        ],
    )
    .await;
    assert_eq!(conflict.code, 2, "{conflict}");
    assert!(
        conflict.stderr.contains("cannot be used with")
            && conflict.stderr.contains("--template <TEMPLATE>")
            && conflict.stderr.contains("--disk <STORAGE:GIB>"),
        "{conflict}"
    );

    let spec = refused(
        &sandbox,
        &["vm", "create", "bad4", "--net", "bridge=vmbr0,tag=9999"],
    )
    .await;
    assert_eq!(spec.code, 2, "{spec}");
    assert!(spec.stderr.contains("tag is a VLAN id"), "{spec}");

    // stdin is not a terminal here: nobody can be asked
    let ostemplate = format!("--ostemplate={CT_TEMPLATE}");
    let pipe = refused(
        &sandbox,
        &["ct", "create", "bad5", &ostemplate, "--password"],
    )
    .await;
    assert_eq!(pipe.code, 2, "{pipe}");
    assert!(pipe.stderr.contains("--password-file FILE"), "{pipe}");

    let value = refused(
        &sandbox,
        &[
            "ct",
            "create",
            "bad6",
            &ostemplate,
            "--password",
            "hunter22",
        ],
    )
    .await;
    assert_eq!(
        value.code, 2,
        "a password on the command line is refused: {value}"
    );
}
