//! Tree behaviour that does not depend on FUSE, tested on shared views (the FUSE side and the
//! inotify sequences are in `tests/fs_events.rs`).

use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Barrier};

use super::*;

fn members() -> Vec<Member> {
    vec![
        Member {
            name: "pve1".to_string(),
            id: 1,
            ip: Some("10.0.0.1".parse().unwrap()),
            online: true,
        },
        Member {
            name: "pve2".to_string(),
            id: 2,
            ip: None,
            online: false,
        },
        Member {
            name: "pve7".to_string(),
            id: 7,
            ip: Some("10.0.0.7".parse().unwrap()),
            online: true,
        },
    ]
}

fn tree() -> (tempfile::TempDir, Pmxcfs) {
    let dir = tempfile::tempdir().unwrap();
    let tree = Pmxcfs::create(dir.path(), "c1", &members(), ViewMode::Shared).unwrap();
    (dir, tree)
}

fn read(tree: &Pmxcfs, rel: &str) -> String {
    String::from_utf8(tree.read_file(rel).unwrap()).unwrap()
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

fn ls(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn members_file_has_the_pmxcfs_shape() {
    let (_dir, tree) = tree();
    assert_eq!(
        read(&tree, ".members"),
        r#"{
"nodename": "pve1",
"version": 1,
"cluster": { "name": "c1", "version": 1, "nodes": 3, "quorate": 1 },
"nodelist": {
  "pve1": { "id": 1, "online": 1, "ip": "10.0.0.1"},
  "pve2": { "id": 2, "online": 0},
  "pve7": { "id": 7, "online": 1, "ip": "10.0.0.7"}
  }
}
"#
    );
    let parsed: serde_json::Value = serde_json::from_str(&read(&tree, ".members")).unwrap();
    assert_eq!(parsed["nodelist"]["pve7"]["id"], 7);
}

#[test]
fn member_going_offline_rewrites_members_and_quorum() {
    let (_dir, tree) = tree();
    tree.set_member_online("pve7", false).unwrap();
    let text = read(&tree, ".members");
    assert!(text.contains("\"version\": 2,"), "{text}");
    assert!(text.contains("\"quorate\": 0 }"), "{text}");
    assert!(text.contains("\"pve7\": { \"id\": 7, \"online\": 0, \"ip\": \"10.0.0.7\"}"));
    assert!(read(&tree, ".version").contains("\"clinfo\": 2,\n"));
    assert!(matches!(
        tree.set_member_online("pve9", true),
        Err(FsError::UnknownNode { .. })
    ));
}

#[test]
fn vmlist_leaves_out_ids_without_guests() {
    let (_dir, tree) = tree();
    assert_eq!(read(&tree, ".vmlist"), "{\n\"version\": 0\n\n}\n");
}

#[test]
fn vmlist_versions_rise_on_create_write_and_rename_and_entries_vanish_on_unlink() {
    let (_dir, tree) = tree();
    tree.write_guest_config("pve1", "pve1", GuestType::Qemu, 100, "memory: 512\n", 11)
        .unwrap();
    tree.create_guest_config_exclusive("pve7", "pve7", GuestType::Lxc, 101, "lock: create\n")
        .unwrap();
    assert_eq!(
        read(&tree, ".vmlist"),
        "{\n\"version\": 3,\n\"ids\": {\n\
         \"100\": { \"node\": \"pve1\", \"type\": \"qemu\", \"version\": 1 },\n\
         \"101\": { \"node\": \"pve7\", \"type\": \"lxc\", \"version\": 3 }}\n\n}\n"
    );

    let before = tree.vmlist()[&100].version;
    tree.write_guest_config("pve1", "pve1", GuestType::Qemu, 100, "memory: 1024\n", 12)
        .unwrap();
    let after_write = tree.vmlist()[&100].version;
    assert!(after_write > before);
    assert_eq!(tree.vmlist_version(), 4);

    tree.move_guest_config("pve1", "pve1", "pve2", GuestType::Qemu, 100)
        .unwrap();
    let moved = &tree.vmlist()[&100];
    assert_eq!(moved.node, "pve2");
    assert!(moved.version > after_write);
    assert_eq!(tree.vmlist_version(), 6, "rename = delete + register");
    assert_eq!(
        tree.read_guest_config("pve2", GuestType::Qemu, 100)
            .unwrap(),
        "memory: 1024\n"
    );

    tree.remove_guest_config("pve2", "pve2", GuestType::Qemu, 100)
        .unwrap();
    assert!(!tree.vmlist().contains_key(&100));
    assert_eq!(tree.vmlist_version(), 7);
    assert!(!read(&tree, ".vmlist").contains("\"100\""));
    assert!(read(&tree, ".version").contains("\"vmlist\": 7,\n"));
}

#[test]
fn vmid_belongs_to_one_node_and_type_across_the_cluster() {
    let (_dir, tree) = tree();
    tree.write_guest_config("pve1", "pve1", GuestType::Qemu, 100, "memory: 512\n", 11)
        .unwrap();

    for (node, kind) in [("pve2", GuestType::Qemu), ("pve1", GuestType::Lxc)] {
        let err = tree
            .write_guest_config(node, node, kind, 100, "memory: 1\n", 12)
            .unwrap_err();
        match err {
            FsError::Exists { path, owner } => {
                assert!(path.ends_with(format!("nodes/{node}/{}/100.conf", kind.dir_name())));
                assert_eq!(owner, Some(("pve1".to_string(), GuestType::Qemu)));
            }
            other => panic!("expected Exists, got {other}"),
        }
        let dir = tree
            .backing_root()
            .join(format!("nodes/{node}/{}", kind.dir_name()));
        assert!(
            ls(&dir).is_empty(),
            "the tmp file is removed: {:?}",
            ls(&dir)
        );
    }
    for node in ["pve1", "pve2"] {
        assert!(matches!(
            tree.create_guest_config_exclusive(node, node, GuestType::Qemu, 100, ""),
            Err(FsError::Exists { .. })
        ));
    }
    let routed = tree.write_file("pve2", "nodes/pve2/qemu-server/100.conf", b"x: 1\n", 13);
    assert!(matches!(routed, Err(FsError::Exists { .. })), "{routed:?}");

    // The owner may update its config.
    tree.write_guest_config("pve2", "pve1", GuestType::Qemu, 100, "memory: 2048\n", 14)
        .unwrap();
    assert_eq!(
        tree.read_guest_config("pve1", GuestType::Qemu, 100)
            .unwrap(),
        "memory: 2048\n"
    );
    assert_eq!(tree.vmlist().len(), 1);
}

#[test]
fn racing_writers_of_one_new_vmid_leave_exactly_one_config() {
    let (_dir, tree) = tree();
    let tree = Arc::new(tree);
    for round in 0..20u32 {
        let vmid = 200 + round;
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = [("pve1", 1u32), ("pve7", 2)]
            .into_iter()
            .map(|(node, pid)| {
                let (tree, barrier) = (Arc::clone(&tree), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    if round % 2 == 0 {
                        tree.write_guest_config(
                            node,
                            node,
                            GuestType::Qemu,
                            vmid,
                            "lock: clone\n",
                            pid,
                        )
                    } else {
                        tree.create_guest_config_exclusive(
                            node,
                            node,
                            GuestType::Qemu,
                            vmid,
                            "lock: create\n",
                        )
                    }
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(FsError::Exists { .. })))
        );
        let owner = &tree.vmlist()[&vmid].node;
        let loser = if owner == "pve1" { "pve7" } else { "pve1" };
        let loser_dir = tree
            .backing_root()
            .join(format!("nodes/{loser}/qemu-server"));
        assert!(
            !ls(&loser_dir)
                .iter()
                .any(|n| n.starts_with(&vmid.to_string()))
        );
    }
}

#[test]
fn removing_or_moving_a_missing_config_is_not_found() {
    let (_dir, tree) = tree();
    assert!(matches!(
        tree.remove_guest_config("pve1", "pve1", GuestType::Qemu, 100),
        Err(FsError::NotFound { .. })
    ));
    assert!(matches!(
        tree.move_guest_config("pve1", "pve1", "pve2", GuestType::Lxc, 100),
        Err(FsError::NotFound { .. })
    ));
}

#[test]
fn tree_has_pmxcfs_layout_modes_and_symlinks() {
    let (_dir, tree) = tree();
    let root = tree.backing_root();
    assert_eq!(
        ls(root),
        [
            ".members",
            ".version",
            ".vmlist",
            "local",
            "lxc",
            "nodes",
            "priv",
            "qemu-server"
        ]
    );
    assert_eq!(ls(&root.join("nodes")), ["pve1", "pve2", "pve7"]);
    assert_eq!(ls(&root.join("nodes/pve2")), ["lxc", "priv", "qemu-server"]);
    assert_eq!(mode(&root.join("priv")), 0o700);
    assert_eq!(mode(&root.join("nodes/pve2/priv")), 0o700);
    assert_eq!(mode(&root.join("nodes/pve2/qemu-server")), 0o755);
    assert_eq!(mode(&root.join(".vmlist")), 0o440);
    for (link, target) in [
        ("local", "nodes/pve1"),
        ("qemu-server", "nodes/pve1/qemu-server"),
        ("lxc", "nodes/pve1/lxc"),
    ] {
        assert_eq!(fs::read_link(root.join(link)).unwrap(), Path::new(target));
    }

    tree.write_guest_config("pve1", "pve2", GuestType::Lxc, 300, "arch: amd64\n", 5)
        .unwrap();
    assert_eq!(mode(&root.join("nodes/pve2/lxc/300.conf")), 0o640);
    tree.write_file("pve1", "priv/token.cfg", b"root@pam!ci abc\n", 5)
        .unwrap();
    assert_eq!(mode(&root.join("priv/token.cfg")), 0o600);
    tree.write_file("pve1", "nodes/pve1/pve-ssl.pem", b"PEM\n", 5)
        .unwrap();
    assert_eq!(mode(&root.join("nodes/pve1/pve-ssl.pem")), 0o640);
}

#[test]
fn writing_a_tracked_file_bumps_its_counter_in_version() {
    let (_dir, tree) = tree();
    assert!(read(&tree, ".version").contains("\"datacenter.cfg\": 0,\n"));
    tree.write_file("pve1", "datacenter.cfg", b"keyboard: en-us\n", 9)
        .unwrap();
    tree.write_file("pve2", "datacenter.cfg", b"keyboard: de\n", 9)
        .unwrap();
    let version = read(&tree, ".version");
    assert!(version.contains("\"datacenter.cfg\": 2,\n"), "{version}");
    assert!(
        version.ends_with("\"kvstore\": {\n\"pve1\": {\n}\n}\n}\n"),
        "{version}"
    );
    assert_eq!(read(&tree, "datacenter.cfg"), "keyboard: de\n");
    tree.write_file("pve1", "ha/resources.cfg", b"", 9).unwrap();
    assert_eq!(mode(&tree.backing_root().join("ha")), 0o755);
}

#[test]
fn write_file_refuses_paths_outside_the_tree_and_generated_files() {
    let (_dir, tree) = tree();
    for rel in [
        "../escape",
        "/etc/passwd",
        "",
        "a/./b",
        ".vmlist",
        "local/x",
        "qemu-server/100.conf",
    ] {
        let result = tree.write_file("pve1", rel, b"x", 1);
        assert!(
            matches!(result, Err(FsError::InvalidPath { .. })),
            "{rel}: {result:?}"
        );
    }
    assert!(matches!(
        tree.write_file("pve9", "datacenter.cfg", b"x", 1),
        Err(FsError::UnknownNode { .. })
    ));
    assert!(matches!(
        tree.write_guest_config("pve1", "pve9", GuestType::Qemu, 100, "x: 1\n", 1),
        Err(FsError::UnknownNode { .. })
    ));
    let big = "a".repeat(1024 * 1024 + 1);
    assert!(matches!(
        tree.write_guest_config("pve1", "pve1", GuestType::Qemu, 100, &big, 1),
        Err(FsError::TooLarge { .. })
    ));
}

#[test]
fn reopening_a_tree_finds_the_guests_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    {
        let tree = Pmxcfs::create(dir.path(), "c1", &members(), ViewMode::Shared).unwrap();
        tree.write_guest_config("pve1", "pve2", GuestType::Lxc, 105, "arch: amd64\n", 1)
            .unwrap();
        tree.write_guest_config("pve1", "pve1", GuestType::Qemu, 100, "memory: 1\n", 1)
            .unwrap();
    }
    let tree = Pmxcfs::create(dir.path(), "c1", &members(), ViewMode::Shared).unwrap();
    let vmlist = tree.vmlist();
    assert_eq!(vmlist.len(), 2);
    assert_eq!(
        (vmlist[&105].node.as_str(), vmlist[&105].kind),
        ("pve2", GuestType::Lxc)
    );
    assert_eq!(
        (vmlist[&100].node.as_str(), vmlist[&100].kind),
        ("pve1", GuestType::Qemu)
    );
}

#[test]
fn invalid_cluster_definitions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut twice = members();
    twice[1].id = 1;
    let mut bad_name = members();
    bad_name[0].name = "pve_1".to_string();
    for (cluster, members) in [
        ("c1", twice),
        ("c1", bad_name),
        ("c 1", members()),
        ("c1", vec![]),
    ] {
        assert!(matches!(
            Pmxcfs::create(dir.path(), cluster, &members, ViewMode::Shared),
            Err(FsError::InvalidName { .. })
        ));
    }
}

#[test]
fn shared_views_are_symlinks_to_the_backing_tree() {
    let (_dir, tree) = tree();
    assert!(!tree.views_are_separate());
    for node in ["pve1", "pve2", "pve7"] {
        assert_eq!(fs::read_link(tree.view(node)).unwrap(), tree.backing_root());
    }
    tree.write_guest_config("pve2", "pve2", GuestType::Qemu, 100, "memory: 1\n", 1)
        .unwrap();
    assert!(
        tree.view("pve1")
            .join("nodes/pve2/qemu-server/100.conf")
            .exists()
    );
}

#[test]
fn tree_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Pmxcfs>();
    let (_dir, tree) = tree();
    let tree = Arc::new(tree);
    let writers: Vec<_> = (0..4u32)
        .map(|i| {
            let tree = Arc::clone(&tree);
            std::thread::spawn(move || {
                for j in 0..10u32 {
                    let vmid = 1000 + i * 100 + j;
                    tree.write_guest_config(
                        "pve1",
                        "pve1",
                        GuestType::Qemu,
                        vmid,
                        "memory: 1\n",
                        i,
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    assert_eq!(tree.vmlist().len(), 40);
    assert_eq!(tree.vmlist_version(), 40);
    let text = read(&tree, ".vmlist");
    assert!(
        text.starts_with("{\n\"version\": 40,\n"),
        "the last publish wins: {text}"
    );
}
