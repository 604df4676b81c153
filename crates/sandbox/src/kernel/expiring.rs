//! A map whose entries are forgotten once their time is up, with a hard cap on the number of
//! entries: what keeps a long-running sandbox's memory flat however many tokens, codes and
//! records it hands out.
//!
//! Entries are queued in insertion order with the instant they may be forgotten. Every insert
//! pops the due entries from the front of the queue (amortised O(1): no full scan per insert),
//! and, past the cap, the oldest entries whatever their time. An entry whose forget time moved
//! later (a refresh token's sliding validity) is queued again instead of forgotten.

use std::collections::{HashMap, VecDeque};
use std::time::SystemTime;

#[derive(Debug)]
pub struct Expiring<V> {
    map: HashMap<String, V>,
    order: VecDeque<(SystemTime, String)>,
    cap: usize,
    forget_at: fn(&V) -> SystemTime,
}

impl<V> Expiring<V> {
    /// At most `cap` entries; an entry is forgotten once `forget_at(entry)` has passed.
    pub fn new(cap: usize, forget_at: fn(&V) -> SystemTime) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
            forget_at,
        }
    }

    /// Inserts `value`, forgetting due entries and, past the cap, the oldest ones.
    pub fn insert(&mut self, key: String, value: V, now: SystemTime) {
        self.prune(now);
        while self.map.len() >= self.cap {
            match self.order.pop_front() {
                Some((_, old)) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
        self.order
            .push_back(((self.forget_at)(&value), key.clone()));
        self.map.insert(key, value);
    }

    /// Forgets the entries whose time has passed (as far as the queue's front is due).
    pub fn prune(&mut self, now: SystemTime) {
        // Queue entries whose key was removed (revoked) or re-queued are dropped on the way.
        let mut requeue = 0usize;
        while let Some((due, _)) = self.order.front() {
            if *due > now || requeue > self.order.len() {
                break;
            }
            let Some((_, key)) = self.order.pop_front() else {
                break;
            };
            match self.map.get(&key).map(self.forget_at) {
                Some(actual) if actual > now => {
                    self.order.push_back((actual, key));
                    requeue += 1;
                }
                Some(_) => {
                    self.map.remove(&key);
                }
                None => {}
            }
        }
        // Removed keys leave queue entries behind: keep the queue within twice the map.
        if self.order.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.order.retain(|(_, k)| map.contains_key(k));
        }
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.map.get(key)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub fn remove(&mut self, key: &str) -> Option<V> {
        self.map.remove(key)
    }

    pub fn retain(&mut self, keep: impl FnMut(&String, &mut V) -> bool) {
        self.map.retain(keep);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values()
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.map.values_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn due_entries_are_forgotten_and_the_cap_holds() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut store: Expiring<SystemTime> = Expiring::new(3, |t| *t);
        store.insert("a".into(), now + Duration::from_secs(10), now);
        store.insert("b".into(), now + Duration::from_secs(20), now);
        assert_eq!(store.len(), 2);
        store.insert(
            "c".into(),
            now + Duration::from_secs(30),
            now + Duration::from_secs(15),
        );
        assert!(!store.contains_key("a"), "due entry forgotten");
        store.insert(
            "d".into(),
            now + Duration::from_secs(99),
            now + Duration::from_secs(15),
        );
        store.insert(
            "e".into(),
            now + Duration::from_secs(99),
            now + Duration::from_secs(15),
        );
        assert_eq!(store.len(), 3, "cap");
        assert!(!store.contains_key("b"), "oldest evicted past the cap");
    }

    #[test]
    fn a_later_forget_time_requeues_and_removed_keys_do_not_grow_the_queue() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut store: Expiring<SystemTime> = Expiring::new(1000, |t| *t);
        store.insert("slide".into(), now + Duration::from_secs(10), now);
        *store.get_mut("slide").unwrap() = now + Duration::from_secs(100);
        store.prune(now + Duration::from_secs(50));
        assert!(store.contains_key("slide"));
        store.prune(now + Duration::from_secs(101));
        assert!(!store.contains_key("slide"));
        for i in 0..10_000 {
            let key = format!("k{i}");
            store.insert(key.clone(), now + Duration::from_secs(1_000), now);
            store.remove(&key);
        }
        assert!(store.order.len() < 200, "{}", store.order.len());
    }
}
