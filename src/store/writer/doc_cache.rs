//! Documents kept loaded between writes, so a hot record's update does not
//! reload its document from `crdt_docs`.

use super::DocKey;
use crate::crdt::Doc;
use std::collections::{HashMap, VecDeque};

/// Documents kept loaded between writes (a repair order's is ~21 KB in memory).
pub(super) const DOC_CACHE: usize = 4096;

/// Documents kept loaded between writes, evicted oldest-inserted first, one at a
/// time: never thousands dropped at once in the middle of a group.
#[derive(Default)]
pub(super) struct DocCache {
    pub(super) docs: HashMap<DocKey, Doc>,
    /// Keys in insertion order; may still name keys since removed or inserted again.
    pub(super) order: VecDeque<DocKey>,
}

impl DocCache {
    pub(super) fn remove(&mut self, key: &DocKey) -> Option<Doc> {
        self.docs.remove(key)
    }

    pub(super) fn insert(&mut self, key: DocKey, doc: Doc) {
        self.order.push_back(key.clone());
        self.docs.insert(key, doc);
        while self.docs.len() > DOC_CACHE || self.order.len() > 2 * DOC_CACHE {
            match self.order.pop_front() {
                Some(old) => {
                    self.docs.remove(&old);
                }
                None => break,
            }
        }
    }
}
