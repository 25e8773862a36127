//! An ordered map in one vector: Python's `OrderedDict` as the detectors use it (insertion
//! order, `move_to_end`, `popitem(last=False)`), without an allocation per entry.
//!
//! Entries live in a `Vec`, linked oldest to newest by 32-bit indices; a `hashbrown`
//! table maps keys to indices. Freed slots are reused. Per entry this costs the key, the
//! value, two links and about nine bytes of table, where `lru::LruCache` added a heap node
//! (its allocator overhead and two pointers) and a pointer in its table.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;

const NONE: u32 = u32::MAX;

struct Slot<K, V> {
    entry: Option<(K, V)>,
    prev: u32,
    next: u32,
}

/// See the module.
pub struct Ordered<K, V, S> {
    table: HashTable<u32>,
    slots: Vec<Slot<K, V>>,
    oldest: u32,
    newest: u32,
    free: u32,
    len: usize,
    hasher: S,
}

impl<K: Hash + Eq, V, S: BuildHasher + Default> Default for Ordered<K, V, S> {
    fn default() -> Self {
        Ordered {
            table: HashTable::new(),
            slots: Vec::new(),
            oldest: NONE,
            newest: NONE,
            free: NONE,
            len: 0,
            hasher: S::default(),
        }
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> Ordered<K, V, S> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn key(&self, i: u32) -> &K {
        &self.slots[i as usize].entry.as_ref().expect("a live slot").0
    }

    fn find<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
    {
        let hash = self.hasher.hash_one(key);
        let slots = &self.slots;
        let live = |i: &u32| {
            let (k, _) = slots[*i as usize].entry.as_ref().expect("a live slot");
            k.borrow() == key
        };
        self.table.find(hash, live).copied()
    }

    pub fn contains<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(key).is_some()
    }

    /// The value, its place unchanged.
    pub fn peek<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key)?;
        self.slots[i as usize].entry.as_ref().map(|(_, v)| v)
    }

    /// The value to change, its place unchanged.
    pub fn peek_mut<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key)?;
        self.slots[i as usize].entry.as_mut().map(|(_, v)| v)
    }

    /// The value to change, moved to the newest end (`move_to_end`).
    pub fn get_mut<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key)?;
        self.unlink(i);
        self.link_newest(i);
        self.slots[i as usize].entry.as_mut().map(|(_, v)| v)
    }

    /// Move the key to the newest end (`move_to_end`).
    pub fn promote<Q: Hash + Eq + ?Sized>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
    {
        if let Some(i) = self.find(key) {
            self.unlink(i);
            self.link_newest(i);
        }
    }

    /// Add a key that is not held, at the newest end.
    pub fn push(&mut self, key: K, value: V) {
        debug_assert!(!self.contains(&key));
        let hash = self.hasher.hash_one(&key);
        let i = if self.free != NONE {
            let i = self.free;
            self.free = self.slots[i as usize].next;
            self.slots[i as usize].entry = Some((key, value));
            i
        } else {
            let i = u32::try_from(self.slots.len()).expect("fewer than 2^32 entries");
            assert!(i != NONE, "fewer than 2^32 - 1 entries");
            self.slots.push(Slot { entry: Some((key, value)), prev: NONE, next: NONE });
            i
        };
        let (slots, hasher) = (&self.slots, &self.hasher);
        let rehash =
            |j: &u32| hasher.hash_one(&slots[*j as usize].entry.as_ref().expect("a live slot").0);
        self.table.insert_unique(hash, i, rehash);
        self.link_newest(i);
        self.len += 1;
    }

    /// Room for `additional` more keys without growing or rehashing the table.
    pub fn reserve(&mut self, additional: usize) {
        let (slots, hasher) = (&self.slots, &self.hasher);
        let rehash =
            |j: &u32| hasher.hash_one(&slots[*j as usize].entry.as_ref().expect("a live slot").0);
        self.table.reserve(additional, rehash);
        self.slots.reserve(additional.saturating_sub(self.slots.len() - self.len));
    }

    /// Remove a key; its value.
    pub fn pop<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key)?;
        self.remove(i).map(|(_, v)| v)
    }

    /// The oldest entry.
    pub fn peek_oldest(&self) -> Option<(&K, &V)> {
        if self.oldest == NONE {
            return None;
        }
        let (k, v) = self.slots[self.oldest as usize].entry.as_ref()?;
        Some((k, v))
    }

    /// Remove the oldest entry (`popitem(last=False)`).
    pub fn pop_oldest(&mut self) -> Option<(K, V)> {
        if self.oldest == NONE {
            return None;
        }
        self.remove(self.oldest)
    }

    /// Every entry, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        let mut i = self.oldest;
        std::iter::from_fn(move || {
            if i == NONE {
                return None;
            }
            let slot = &self.slots[i as usize];
            i = slot.next;
            slot.entry.as_ref().map(|(k, v)| (k, v))
        })
    }

    /// Every entry's key and value to change, oldest first.
    pub fn for_each_mut(&mut self, mut f: impl FnMut(&K, &mut V)) {
        let mut i = self.oldest;
        while i != NONE {
            let slot = &mut self.slots[i as usize];
            i = slot.next;
            if let Some((k, v)) = slot.entry.as_mut() {
                f(k, v);
            }
        }
    }

    fn remove(&mut self, i: u32) -> Option<(K, V)> {
        let hash = self.hasher.hash_one(self.key(i));
        let found = self.table.find_entry(hash, |j| *j == i);
        found.ok()?.remove();
        self.unlink(i);
        let slot = &mut self.slots[i as usize];
        let entry = slot.entry.take();
        slot.next = self.free;
        self.free = i;
        self.len -= 1;
        entry
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next) = {
            let s = &self.slots[i as usize];
            (s.prev, s.next)
        };
        if prev == NONE {
            self.oldest = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NONE {
            self.newest = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
    }

    fn link_newest(&mut self, i: u32) {
        let newest = self.newest;
        {
            let s = &mut self.slots[i as usize];
            s.prev = newest;
            s.next = NONE;
        }
        if newest == NONE {
            self.oldest = i;
        } else {
            self.slots[newest as usize].next = i;
        }
        self.newest = i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type M = Ordered<String, u32, std::hash::RandomState>;

    fn keys(m: &M) -> Vec<String> {
        m.iter().map(|(k, _)| k.clone()).collect()
    }

    #[test]
    fn keeps_python_order() {
        let mut m = M::default();
        for (i, k) in ["a", "b", "c"].iter().enumerate() {
            m.push(k.to_string(), i as u32);
        }
        assert_eq!(keys(&m), ["a", "b", "c"]);
        *m.get_mut("a").unwrap() += 10; // move_to_end
        assert_eq!(keys(&m), ["b", "c", "a"]);
        assert_eq!(m.peek("a"), Some(&10));
        *m.peek_mut("b").unwrap() += 1; // no move
        assert_eq!(keys(&m), ["b", "c", "a"]);
        assert_eq!(m.pop_oldest(), Some(("b".to_string(), 2)));
        assert_eq!(m.pop("a"), Some(10));
        m.push("d".into(), 4); // a freed slot reused
        assert_eq!(keys(&m), ["c", "d"]);
        assert_eq!(m.len(), 2);
        m.promote("c");
        assert_eq!(keys(&m), ["d", "c"]);
        assert_eq!(m.peek_oldest(), Some((&"d".to_string(), &4)));
        m.for_each_mut(|_, v| *v += 1);
        assert_eq!(m.iter().map(|(_, v)| *v).collect::<Vec<_>>(), [5, 3]);
        assert!(!m.contains("a") && m.contains("d"));
    }

    #[test]
    fn agrees_with_a_model_under_churn() {
        let mut m = M::default();
        let mut model: Vec<(String, u32)> = Vec::new();
        let mut x: u64 = 7;
        for step in 0..20_000u32 {
            if step % 5_000 == 0 {
                m.reserve(step as usize / 10); // room made mid-way changes nothing
            }
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let k = format!("k{}", (x >> 33) % 300);
            match (x >> 20) % 4 {
                0 | 1 => {
                    if let Some(pos) = model.iter().position(|(mk, _)| *mk == k) {
                        let e = model.remove(pos);
                        model.push((e.0, step));
                        *m.get_mut(k.as_str()).unwrap() = step;
                    } else {
                        model.push((k.clone(), step));
                        m.push(k, step);
                    }
                }
                2 => {
                    let pos = model.iter().position(|(mk, _)| *mk == k);
                    assert_eq!(m.pop(k.as_str()), pos.map(|p| model.remove(p).1));
                }
                _ => {
                    let want = (!model.is_empty()).then(|| model.remove(0));
                    assert_eq!(m.pop_oldest(), want);
                }
            }
            assert_eq!(m.len(), model.len());
        }
        let got: Vec<(String, u32)> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
        assert_eq!(got, model);
    }
}
