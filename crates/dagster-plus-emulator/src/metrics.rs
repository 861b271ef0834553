//! Per-operation request counters served by `GET /_emulator/operations`, so
//! tests and benchmarks can assert how many API calls a client made.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

#[derive(Default)]
pub struct OperationCounters {
    counts: Mutex<BTreeMap<String, u64>>,
}

impl OperationCounters {
    pub fn record(&self, key: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts.entry(key.to_owned()).or_insert(0) += 1;
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn reset(&self) {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}
