//! Read coalescing. A `terraform plan` refreshes every resource, Terraform runs at most ~10 reads at once,
//! and asking Dagster+ once per resource makes a 1,000-deployment refresh 2,000 requests. Instead, reads
//! share short-lived snapshots: one token inventory serves every agent-token read, and once a process has
//! read a few branch deployments one by one, a single list of all branch deployments (with their code
//! locations) serves the rest. Any mutation this process sends invalidates every snapshot, so nothing read
//! after a change is stale.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// A snapshot older than this is fetched anew even without a mutation in between.
const FRESH_FOR: Duration = Duration::from_secs(10);
/// Individual reads before switching to the list snapshot; a plan of a few resources never pays for a
/// list of the whole organization.
pub const INDIVIDUAL_READS: u64 = 8;

struct Entry<T> {
    generation: u64,
    fetched: Instant,
    value: T,
}

/// One cached value, fetched by at most one caller at a time (the others wait and share its result).
pub struct Snapshot<T> {
    slot: Mutex<Option<Entry<T>>>,
}

impl<T> std::fmt::Debug for Snapshot<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Snapshot")
    }
}

impl<T> Default for Snapshot<T> {
    fn default() -> Self {
        Snapshot { slot: Mutex::new(None) }
    }
}

impl<T: Clone> Snapshot<T> {
    pub async fn get_or_fetch<E, F: Future<Output = Result<T, E>>>(
        &self,
        generation: u64,
        fetch: impl FnOnce() -> F,
    ) -> Result<T, E> {
        let mut slot = self.slot.lock().await;
        if let Some(entry) = slot.as_ref() {
            if entry.generation == generation && entry.fetched.elapsed() < FRESH_FOR {
                return Ok(entry.value.clone());
            }
        }
        let value = fetch().await?;
        *slot = Some(Entry { generation, fetched: Instant::now(), value: value.clone() });
        Ok(value)
    }
}

/// Counts mutations (the snapshot generation) and individual deployment reads.
#[derive(Debug, Default)]
pub struct Generations {
    mutations: AtomicU64,
    deployment_reads: AtomicU64,
}

impl Generations {
    pub fn current(&self) -> u64 {
        self.mutations.load(Ordering::SeqCst)
    }

    pub fn mutated(&self) {
        self.mutations.fetch_add(1, Ordering::SeqCst);
    }

    /// Records one deployment read; true once enough were made that a list snapshot pays off.
    pub fn deployment_read(&self) -> bool {
        self.deployment_reads.fetch_add(1, Ordering::SeqCst) >= INDIVIDUAL_READS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    #[tokio::test]
    async fn concurrent_readers_share_one_fetch_until_a_mutation() {
        let snapshot = Arc::new(Snapshot::<u32>::default());
        let generations = Arc::new(Generations::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let read = |snapshot: Arc<Snapshot<u32>>, generations: Arc<Generations>, fetches: Arc<AtomicUsize>| async move {
            snapshot
                .get_or_fetch(generations.current(), || async {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok::<_, ()>(7)
                })
                .await
        };
        let readers: Vec<_> =
            (0..10).map(|_| tokio::spawn(read(snapshot.clone(), generations.clone(), fetches.clone()))).collect();
        for reader in readers {
            assert_eq!(reader.await.unwrap(), Ok(7));
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        generations.mutated();
        read(snapshot.clone(), generations.clone(), fetches.clone()).await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 2, "a mutation invalidates the snapshot");
    }

    #[test]
    fn list_snapshots_start_after_a_few_individual_reads() {
        let generations = Generations::default();
        let batched: Vec<bool> = (0..INDIVIDUAL_READS + 2).map(|_| generations.deployment_read()).collect();
        assert!(batched[..INDIVIDUAL_READS as usize].iter().all(|b| !b));
        assert!(batched[INDIVIDUAL_READS as usize..].iter().all(|b| *b));
    }
}
