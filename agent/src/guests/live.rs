//! The live view of this node's guest configs: the facts a listing needs,
//! cached per guest under its `.vmlist` version and refreshed from the
//! watcher, so listing a thousand guests reads `.vmlist` and nothing else.
//!
//! Correctness rests on the version, not on the watcher: `.vmlist` is read
//! before a config, so a cached entry is never newer than its version says,
//! and any write bumps the version and forces a re-read. The watcher only
//! does that re-read ahead of time.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::convert::ConfigFacts;
use super::locate::{GuestIndex, Located};
use super::read::{config_path, read_file};
use crate::cluster::Source;
use crate::context::AgentCtx;
use crate::error::AgentError;
use crate::pmxcfs::GuestKind;
use crate::watch::{WatchEvent, WatchTarget};

/// One cached config.
#[derive(Debug, Clone)]
struct Entry {
    version: u64,
    kind: GuestKind,
    facts: ConfigFacts,
}

/// This node's config facts by VMID.
#[derive(Debug, Default)]
pub struct LiveView {
    entries: Mutex<HashMap<u32, Entry>>,
}

impl LiveView {
    /// This node's guests with their config facts: cached ones whose
    /// version still matches, the rest read now. Guests that left the node
    /// are dropped from the cache. pmxcfs mode only.
    pub async fn local_guests(
        &self,
        ctx: &AgentCtx,
        root: &std::path::Path,
        index: &GuestIndex,
    ) -> Result<Vec<(Located, ConfigFacts)>, AgentError> {
        let local: Vec<&Located> = [GuestKind::Qemu, GuestKind::Lxc]
            .into_iter()
            .flat_map(|kind| index.on_node(&ctx.node, kind))
            .collect();
        let mut stale = Vec::new();
        let mut found = Vec::with_capacity(local.len());
        {
            let mut entries = self.lock();
            entries.retain(|vmid, entry| {
                index
                    .get(*vmid)
                    .is_some_and(|l| l.node == ctx.node && l.kind == entry.kind)
            });
            for located in local {
                match entries.get(&located.vmid) {
                    Some(entry) if entry.version == located.version => {
                        found.push((located.clone(), entry.facts.clone()));
                    }
                    _ => stale.push(located.clone()),
                }
            }
        }
        for located in stale {
            let path = config_path(root, &located.node, located.kind, located.vmid);
            let Some(parsed) = read_file(&path, located.kind).await? else {
                continue; // removed since .vmlist was read
            };
            let facts = ConfigFacts::of(&parsed.config);
            self.store(&located, facts.clone());
            found.push((located, facts));
        }
        found.sort_by_key(|(located, _)| located.vmid);
        Ok(found)
    }

    /// Fills the cache for every guest of this node, then keeps it current
    /// from the watcher's config events until the hub goes away. pmxcfs
    /// mode only; does nothing in API-only mode.
    pub fn keep_current(ctx: Arc<AgentCtx>) {
        let (Source::Pmxcfs(root), Some(hub)) = (&ctx.source, &ctx.watch) else {
            return;
        };
        let root = root.clone();
        let mut subscriptions = Vec::new();
        for kind in [GuestKind::Qemu, GuestKind::Lxc] {
            let target = WatchTarget::GuestConfigs {
                pmxcfs_root: root.clone(),
                node: ctx.node.clone(),
                kind,
            };
            match hub.subscribe(target) {
                Ok(subscription) => subscriptions.push(subscription),
                Err(error) => {
                    tracing::warn!("live view: no config events, listings read configs: {error}");
                    return;
                }
            }
        }
        tokio::spawn(async move {
            refresh_all(&ctx, &root).await;
            let mut merged = futures::stream::select_all(
                subscriptions
                    .into_iter()
                    .map(|s| Box::pin(futures::stream::unfold(s, next_event))),
            );
            while let Some(event) = futures::StreamExt::next(&mut merged).await {
                match event {
                    WatchEvent::GuestConfigRemoved { vmid, .. } => {
                        ctx.live.lock().remove(&vmid);
                    }
                    WatchEvent::GuestConfigChanged { .. }
                    | WatchEvent::VmlistMaybeChanged
                    | WatchEvent::Rescan => refresh_all(&ctx, &root).await,
                    WatchEvent::TaskLogChanged { .. } => {}
                }
            }
        });
    }

    fn store(&self, located: &Located, facts: ConfigFacts) {
        self.lock().insert(
            located.vmid,
            Entry {
                version: located.version,
                kind: located.kind,
                facts,
            },
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many configs are cached (for tests).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

async fn next_event(
    mut subscription: crate::watch::Subscription,
) -> Option<(WatchEvent, crate::watch::Subscription)> {
    let event = subscription.next().await?;
    Some((event, subscription))
}

/// Re-reads what changed: `.vmlist`, then the configs whose version moved.
async fn refresh_all(ctx: &AgentCtx, root: &std::path::Path) {
    let result = async {
        let index = GuestIndex::read(ctx).await?;
        ctx.live.local_guests(ctx, root, &index).await
    }
    .await;
    if let Err(error) = result {
        tracing::debug!("live view refresh: {error}");
    }
}
