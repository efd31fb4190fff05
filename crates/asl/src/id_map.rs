//! A map from the ids an execution hands out (frames, tasks, timers) to their entries.
//!
//! An execution holds a handful of each at a time, and ids only grow, so a vector sorted by id beats a
//! B-tree: an insert is a push, a look-up a short binary search, and an empty map allocates nothing.
//! Serialised as a JSON object, exactly as the `BTreeMap` it replaces, so stored snapshots still load.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, PartialEq)]
pub(crate) struct IdMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for IdMap<K, V> {
    fn default() -> Self {
        IdMap { entries: Vec::new() }
    }
}

impl<K: Ord + Copy, V> IdMap<K, V> {
    fn find(&self, key: &K) -> Result<usize, usize> {
        // New ids are the largest: check the last entry before searching.
        match self.entries.last() {
            Some((last, _)) if last < key => Err(self.entries.len()),
            _ => self.entries.binary_search_by(|(k, _)| k.cmp(key)),
        }
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.find(key).ok().map(|i| &mut self.entries[i].1)
    }

    pub(crate) fn contains_key(&self, key: &K) -> bool {
        self.find(key).is_ok()
    }

    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let i = self.find(key).ok()?;
        Some(self.entries.remove(i).1)
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for IdMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<K: Serialize, V: Serialize> Serialize for IdMap<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.entries.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de, K: Deserialize<'de> + Ord + Copy, V: Deserialize<'de>> Deserialize<'de> for IdMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<K, V>(PhantomData<(K, V)>);

        impl<'de, K: Deserialize<'de> + Ord + Copy, V: Deserialize<'de>> Visitor<'de> for MapVisitor<K, V> {
            type Value = IdMap<K, V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from ids to entries")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut map = IdMap::default();
                while let Some((k, v)) = access.next_entry()? {
                    map.insert(k, v);
                }
                Ok(map)
            }
        }

        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn behaves_like_a_btree_map() {
        let mut ours = IdMap::default();
        let mut theirs = BTreeMap::new();
        // Mostly growing ids, some out of order, some repeated, some removed.
        for (step, k) in [5u64, 7, 9, 6, 9, 12, 1, 15, 7, 20, 3].into_iter().enumerate() {
            assert_eq!(ours.insert(k, step), theirs.insert(k, step));
            if step % 3 == 2 {
                let gone = k - 1;
                assert_eq!(ours.remove(&gone), theirs.remove(&gone));
            }
            assert!(ours.iter().eq(theirs.iter()));
        }
        for k in 0..25 {
            assert_eq!(ours.get(&k), theirs.get(&k));
            assert_eq!(ours.contains_key(&k), theirs.contains_key(&k));
        }
        ours.retain(|k, _| k % 2 == 0);
        theirs.retain(|k, _| k % 2 == 0);
        assert!(ours.iter().eq(theirs.iter()));
    }

    #[test]
    fn serialises_as_the_btree_map_did() {
        let theirs: BTreeMap<u64, &str> = [(3, "c"), (1, "a"), (10, "j")].into_iter().collect();
        let text = serde_json::to_string(&theirs).expect("serialises");
        let ours: IdMap<u64, String> = serde_json::from_str(&text).expect("loads a BTreeMap's text");
        assert_eq!(serde_json::to_string(&ours).expect("serialises"), text);
        assert_eq!(ours.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [1, 3, 10]);
    }
}
