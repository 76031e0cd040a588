//! What an inotify watcher on a node's view of the simulated /etc/pve sees, and that FUSE views
//! come and go cleanly. FUSE tests fall back to the shared tree (and say so) where FUSE is
//! unusable, unless `PVE_SIM_REQUIRE_FUSE=1` makes that a failure (CI sets it).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use pve_sim::pmxcfs::{FsError, GuestType, Member, Pmxcfs, ViewMode};
use pve_sim::tasks::{TaskEnd, TaskLogDir, Upid};

/// Upper bound for an expected event to arrive.
const EVENT_TIMEOUT: Duration = Duration::from_secs(5);

fn members() -> Vec<Member> {
    ["pve1", "pve2"]
        .iter()
        .zip(1..)
        .map(|(name, id)| Member {
            name: name.to_string(),
            id,
            ip: None,
            online: true,
        })
        .collect()
}

/// A tree with FUSE views, or — when FUSE is unusable and not required — a shared tree.
/// The flag says which one it is.
fn fuse_or_shared_tree(dir: &Path) -> (Pmxcfs, bool) {
    match Pmxcfs::create(dir, "c1", &members(), ViewMode::Fuse) {
        Ok(tree) => (tree, true),
        Err(e @ FsError::Mount { .. }) => {
            assert!(
                std::env::var("PVE_SIM_REQUIRE_FUSE").as_deref() != Ok("1"),
                "FUSE views are required (PVE_SIM_REQUIRE_FUSE=1) but unusable: {e}"
            );
            eprintln!("FUSE views unavailable ({e}); testing the shared tree instead");
            let tree = Pmxcfs::create(dir, "c1", &members(), ViewMode::Shared).unwrap();
            (tree, false)
        }
        Err(e) => panic!("cannot create the tree: {e}"),
    }
}

/// An inotify watcher on one directory, with its events as short strings.
struct Watch {
    _watcher: RecommendedWatcher,
    events: Receiver<notify::Result<Event>>,
}

impl Watch {
    fn new(dir: &Path) -> Watch {
        let (tx, events) = channel();
        let mut watcher = notify::recommended_watcher(tx).unwrap();
        watcher.watch(dir, RecursiveMode::NonRecursive).unwrap();
        Watch {
            _watcher: watcher,
            events,
        }
    }

    /// Events until one equals `last` (included); fails after [`EVENT_TIMEOUT`].
    fn until(&self, last: &str) -> Vec<String> {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self
                .events
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no '{last}' within {EVENT_TIMEOUT:?}; saw {seen:?}"))
                .unwrap();
            for described in describe(&event) {
                let done = described == last;
                seen.push(described);
                if done {
                    return seen;
                }
            }
        }
    }
}

/// `create x`, `modify x`, `close_write x`, `moved_from x`, `moved_to x`, `delete x`,
/// `attrib x`; opens and the combined rename event are left out.
fn describe(event: &Event) -> Vec<String> {
    let what = match event.kind {
        EventKind::Create(_) => "create",
        EventKind::Modify(ModifyKind::Data(_)) => "modify",
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => "close_write",
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) => "moved_from",
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => "moved_to",
        EventKind::Remove(_) => "delete",
        EventKind::Modify(ModifyKind::Metadata(_)) => "attrib",
        _ => return Vec::new(),
    };
    event
        .paths
        .iter()
        .map(|p| format!("{what} {}", p.file_name().unwrap().to_string_lossy()))
        .collect()
}

fn position(events: &[String], wanted: &str) -> usize {
    events
        .iter()
        .position(|e| e == wanted)
        .unwrap_or_else(|| panic!("'{wanted}' missing from {events:?}"))
}

fn qemu_dir(tree: &Pmxcfs, view_of: &str, node: &str) -> PathBuf {
    tree.view(view_of).join(format!("nodes/{node}/qemu-server"))
}

fn ls(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn config_write_is_a_tmp_file_renamed_onto_the_config_on_the_writers_view() {
    let dir = tempfile::tempdir().unwrap();
    let (tree, _) = fuse_or_shared_tree(dir.path());
    let watch = Watch::new(&qemu_dir(&tree, "pve1", "pve1"));

    for (pid, content) in [(4242, "lock: clone\n"), (4243, "memory: 2048\n")] {
        tree.write_guest_config("pve1", "pve1", GuestType::Qemu, 100, content, pid)
            .unwrap();
        let events = watch.until("moved_to 100.conf");
        let tmp = format!("100.conf.tmp.{pid}");
        let create = position(&events, &format!("create {tmp}"));
        let modify = position(&events, &format!("modify {tmp}"));
        let moved_from = position(&events, &format!("moved_from {tmp}"));
        assert!(create < modify && modify < moved_from, "{events:?}");
        // The tmp file's CLOSE_WRITE is not checked: while another thread forks (parallel
        // tests spawn bindfs), the child briefly holds the descriptor and the close event can
        // come after the rename. Watchers must key on MOVED_TO, as on a real node.
        assert!(
            !events.contains(&"create 100.conf".to_string())
                && !events.contains(&"modify 100.conf".to_string()),
            "the config itself is never written in place: {events:?}"
        );
    }
    tree.remove_guest_config("pve1", "pve1", GuestType::Qemu, 100)
        .unwrap();
    watch.until("delete 100.conf");
}

#[test]
fn losing_writer_sees_its_tmp_file_removed_and_no_config() {
    let dir = tempfile::tempdir().unwrap();
    let (tree, _) = fuse_or_shared_tree(dir.path());
    tree.write_guest_config("pve1", "pve1", GuestType::Qemu, 100, "memory: 1\n", 1)
        .unwrap();
    let watch = Watch::new(&qemu_dir(&tree, "pve2", "pve2"));
    let lost = tree.write_guest_config("pve2", "pve2", GuestType::Qemu, 100, "memory: 2\n", 77);
    assert!(matches!(lost, Err(FsError::Exists { .. })), "{lost:?}");
    let events = watch.until("delete 100.conf.tmp.77");
    assert!(
        events.iter().all(|e| !e.ends_with(" 100.conf")),
        "{events:?}"
    );
    let left = ls(&qemu_dir(&tree, "pve2", "pve2"));
    assert!(left.is_empty(), "{left:?}");
}

/// With FUSE, a watcher on a node's view sees that node's writes and never the other node's,
/// although every file shows up in both views; checked both ways. Each "never" is bounded by a
/// later write of the watched node: inotify delivers in order, so an event for the other
/// node's earlier write would have arrived first.
#[test]
fn fuse_views_show_each_node_only_its_own_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (tree, fuse) = fuse_or_shared_tree(dir.path());
    let on_pve1 = Watch::new(&qemu_dir(&tree, "pve1", "pve1"));
    let on_pve2 = Watch::new(&qemu_dir(&tree, "pve2", "pve1"));

    // pve2 writes into pve1's directory (a clone onto another node), then pve1 writes.
    tree.write_guest_config("pve2", "pve1", GuestType::Qemu, 101, "memory: 1\n", 2)
        .unwrap();
    tree.write_guest_config("pve1", "pve1", GuestType::Qemu, 100, "memory: 1\n", 1)
        .unwrap();
    // pve2 writes once more, after pve1's write.
    tree.write_guest_config("pve2", "pve1", GuestType::Qemu, 102, "memory: 1\n", 2)
        .unwrap();

    let seen_by_pve1 = on_pve1.until("moved_to 100.conf");
    let seen_by_pve2 = on_pve2.until("moved_to 102.conf");
    let mentions = |events: &[String], vmid: &str| events.iter().any(|e| e.contains(vmid));
    if fuse {
        assert!(tree.views_are_separate());
        assert!(!mentions(&seen_by_pve1, "101.conf"), "{seen_by_pve1:?}");
        assert!(mentions(&seen_by_pve2, "101.conf"), "{seen_by_pve2:?}");
        assert!(!mentions(&seen_by_pve2, "100.conf"), "{seen_by_pve2:?}");
    } else {
        eprintln!("shared tree: checking that every watcher sees every write instead");
        assert!(mentions(&seen_by_pve1, "101.conf"), "{seen_by_pve1:?}");
        assert!(mentions(&seen_by_pve2, "100.conf"), "{seen_by_pve2:?}");
    }
    for view in ["pve1", "pve2"] {
        assert_eq!(
            ls(&qemu_dir(&tree, view, "pve1")),
            ["100.conf", "101.conf", "102.conf"]
        );
    }
}

#[test]
fn shared_views_show_every_write_to_every_watcher() {
    let dir = tempfile::tempdir().unwrap();
    let tree = Pmxcfs::create(dir.path(), "c1", &members(), ViewMode::Shared).unwrap();
    assert!(!tree.views_are_separate());
    let on_pve1 = Watch::new(&qemu_dir(&tree, "pve1", "pve1"));
    tree.write_guest_config("pve2", "pve1", GuestType::Qemu, 101, "memory: 1\n", 2)
        .unwrap();
    let events = on_pve1.until("moved_to 101.conf");
    position(&events, "create 101.conf.tmp.2");
}

/// Views do not cache: right after a write through one view, the other view reads the new
/// content, including generated files replaced behind the views' backs.
#[test]
fn reads_through_a_view_see_the_latest_content() {
    let dir = tempfile::tempdir().unwrap();
    let (tree, _) = fuse_or_shared_tree(dir.path());
    let read_via_pve1 = |rel: &str| std::fs::read_to_string(tree.view("pve1").join(rel)).unwrap();
    for (i, content) in [
        "memory: 1\n",
        "memory: 2048\nname: a-much-longer-config\n",
        "x: 1\n",
    ]
    .into_iter()
    .enumerate()
    {
        tree.write_guest_config("pve2", "pve2", GuestType::Qemu, 100, content, 5)
            .unwrap();
        assert_eq!(
            read_via_pve1("nodes/pve2/qemu-server/100.conf"),
            content,
            "write {i}"
        );
        assert_eq!(
            read_via_pve1(".vmlist"),
            String::from_utf8(tree.read_file(".vmlist").unwrap()).unwrap()
        );
    }
}

fn mounts_under(dir: &Path) -> Vec<String> {
    let dir = dir.canonicalize().unwrap();
    std::fs::read_to_string("/proc/mounts")
        .unwrap()
        .lines()
        .filter_map(|line| line.split(' ').nth(1))
        .filter(|mount_point| Path::new(mount_point).starts_with(&dir))
        .map(str::to_string)
        .collect()
}

#[test]
fn dropping_the_tree_unmounts_every_view() {
    let dir = tempfile::tempdir().unwrap();
    let (tree, fuse) = fuse_or_shared_tree(dir.path());
    if fuse {
        let mut expected: Vec<String> = ["pve1", "pve2"]
            .iter()
            .map(|n| tree.view(n).to_string_lossy().into_owned())
            .collect();
        expected.sort();
        let mut mounted = mounts_under(dir.path());
        mounted.sort();
        assert_eq!(mounted, expected);
    } else {
        eprintln!("shared tree: checking that no view is a mount");
        assert!(
            std::fs::symlink_metadata(tree.view("pve1"))
                .unwrap()
                .is_symlink()
        );
    }
    drop(tree);
    assert_eq!(mounts_under(dir.path()), Vec::<String>::new());
}

#[test]
fn unmount_is_idempotent_and_views_can_be_mounted_again() {
    let dir = tempfile::tempdir().unwrap();
    let (tree, fuse) = fuse_or_shared_tree(dir.path());
    tree.write_guest_config("pve1", "pve1", GuestType::Qemu, 100, "memory: 1\n", 1)
        .unwrap();
    tree.unmount();
    tree.unmount();
    assert!(mounts_under(dir.path()).is_empty());
    drop(tree);
    let (again, fuse_again) = fuse_or_shared_tree(dir.path());
    assert_eq!(fuse, fuse_again);
    assert_eq!(again.vmlist()[&100].node, "pve1");
    assert_eq!(ls(&qemu_dir(&again, "pve2", "pve1")), ["100.conf"]);
}

#[test]
fn task_log_lines_reach_a_watcher_as_they_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let tasks = TaskLogDir::create(dir.path()).unwrap();
    let upid: Upid = "UPID:pve1:00001234:00ABCDEF:66A0B1C2:qmclone:9000:root@pam:"
        .parse()
        .unwrap();
    let log = tasks.start(&upid).unwrap();
    let log_path = tasks.log_path(&upid);
    let watch = Watch::new(log_path.parent().unwrap());
    let name = log_path.file_name().unwrap().to_string_lossy().into_owned();

    let writer = std::thread::spawn(move || {
        for pct in [25, 50, 75, 100] {
            log.line(&format!("transferred {pct}%")).unwrap();
        }
        log.finish(&TaskEnd::Ok).unwrap();
    });
    // Every change is announced; after some announcement the final line must be readable.
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = watch
            .events
            .recv_timeout(left)
            .expect("the final line never showed up")
            .unwrap();
        if describe(&event).contains(&format!("modify {name}"))
            && tasks.read_log(&upid).unwrap().last().map(String::as_str) == Some("TASK OK")
        {
            break;
        }
    }
    writer.join().unwrap();
    assert_eq!(tasks.read_log(&upid).unwrap().len(), 5);
}

#[test]
fn auto_mode_picks_fuse_views_exactly_where_fuse_works() {
    let probe_dir = tempfile::tempdir().unwrap();
    let (probe, fuse) = fuse_or_shared_tree(probe_dir.path());
    drop(probe);
    let dir = tempfile::tempdir().unwrap();
    let tree = Pmxcfs::create(dir.path(), "c1", &members(), ViewMode::Auto).unwrap();
    assert_eq!(tree.views_are_separate(), fuse);
}

/// A simulator that died without unmounting leaves its views mounted; opening the tree again
/// replaces them, and the new views come and go cleanly.
#[test]
fn reopening_after_a_crash_replaces_leftover_views() {
    let dir = tempfile::tempdir().unwrap();
    let (crashed, fuse) = fuse_or_shared_tree(dir.path());
    crashed
        .write_guest_config("pve1", "pve1", GuestType::Qemu, 100, "memory: 1\n", 1)
        .unwrap();
    std::mem::forget(crashed);
    if fuse {
        assert_eq!(mounts_under(dir.path()).len(), 2);
    }
    let (tree, _) = fuse_or_shared_tree(dir.path());
    assert_eq!(tree.vmlist()[&100].node, "pve1");
    assert_eq!(ls(&qemu_dir(&tree, "pve2", "pve1")), ["100.conf"]);
    if fuse {
        assert_eq!(mounts_under(dir.path()).len(), 2);
    }
    drop(tree);
    assert!(mounts_under(dir.path()).is_empty());
}
