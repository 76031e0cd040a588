//! pmxcfs's split between local and remote writes (pve-facts §7), seen through a clone: a
//! watcher on another node's view of the same directory gets none of the clone's events, yet
//! the config shows up there. Without FUSE (and without `PVE_SIM_REQUIRE_FUSE=1`) the views
//! are one shared tree, and the test checks that every watcher sees every write instead.

use crate::support::{DirWatch, Env, TEMPLATE1, cluster};

#[tokio::test(flavor = "multi_thread")]
async fn a_clone_on_pve1_raises_no_events_on_pve2s_view_yet_its_config_appears_there() {
    let (env, fuse) = Env::start_with_fuse_views(cluster()).await;
    assert_eq!(env.cluster.sim().fs.views_are_separate(), fuse);
    let mut on_pve1 = DirWatch::new(&env.qemu_dir("pve1", "pve1"), false);
    let mut on_pve2 = DirWatch::new(&env.view("pve2").join("nodes"), true);

    let upid = env
        .start_task(
            "pve1",
            &format!("/nodes/pve1/qemu/{TEMPLATE1}/clone"),
            &[("newid", "9500")],
        )
        .await;
    assert_eq!(env.exitstatus(&upid).await, "OK");
    let seen_by_pve1 = on_pve1.until("moved_to 9500.conf").await;
    assert!(
        seen_by_pve1
            .iter()
            .any(|e| e.starts_with("create 9500.conf.tmp.")),
        "{seen_by_pve1:?}"
    );

    // pve2 writes after the clone ended: its watcher has seen everything before that write
    env.fence_write("pve2", 111).await;
    let seen_by_pve2 = on_pve2.until("moved_to 111.conf").await;
    let mentions_clone = seen_by_pve2.iter().any(|e| e.contains("9500.conf"));
    if fuse {
        assert!(!mentions_clone, "{seen_by_pve2:?}");
    } else {
        eprintln!("shared tree: checking that pve2's watcher saw pve1's writes instead");
        assert!(mentions_clone, "{seen_by_pve2:?}");
    }
    let via_pve2 = std::fs::read_to_string(env.qemu_dir("pve2", "pve1").join("9500.conf")).unwrap();
    assert_eq!(Some(via_pve2), env.config_text("pve1", 9500));
}
