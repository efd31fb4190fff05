//! The JSON value an execution carries from state to state.
//!
//! Strings, arrays and objects sit behind `Arc`s, so cloning a document is a reference-count bump
//! and a document changed by `ResultPath` shares every untouched part with the input it came from
//! (the history keeps both). Mutation goes through `Arc::make_mut`: a node is copied only while it is
//! shared, and then only one level deep. Object keys keep their insertion order, as AWS writes them.
//!
//! The API follows `serde_json::Value`'s; `From` converts between the two (a deep copy), at the edges
//! where a caller hands in or takes out plain `serde_json` documents.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
pub use serde_json::Number;

/// A JSON value whose strings, arrays and objects are shared, not copied, by `clone`.
#[derive(Clone, Default, PartialEq)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(Str),
    Array(Array),
    Object(Map),
}

/// An immutable shared string.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Str(Arc<str>);

/// A shared array; `DerefMut` copies it first if another document shares it.
#[derive(Clone, Default, PartialEq)]
pub struct Array(Arc<ArrayNode>);

/// A shared object with keys in insertion order; mutation copies it first if it is shared.
#[derive(Clone, Default)]
pub struct Map(Arc<MapNode>);

/// Objects of up to this many keys are searched by scanning their entries (JSON objects in
/// workflows are small, and a scan beats hashing there); larger ones also keep a hash index.
const INDEX_FROM: usize = 12;

/// foldhash with a per-process random seed: fast on short keys, and keys an input controls cannot be
/// chosen to collide.
type Index = std::collections::HashMap<Str, usize, foldhash::fast::RandomState>;

/// The length of a node's JSON text, remembered once measured, so the payload limit checked after
/// every state costs a walk of the changed nodes only. 0 is "not measured" (no JSON text is empty);
/// any mutable access clears it.
#[derive(Default)]
struct TextLen(AtomicUsize);

impl Clone for TextLen {
    fn clone(&self) -> TextLen {
        TextLen(AtomicUsize::new(self.0.load(Ordering::Relaxed)))
    }
}

impl TextLen {
    fn get_or(&self, measure: impl FnOnce() -> usize) -> usize {
        match self.0.load(Ordering::Relaxed) {
            0 => {
                let n = measure();
                self.0.store(n, Ordering::Relaxed);
                n
            }
            n => n,
        }
    }

    fn clear(&mut self) {
        *self.0.get_mut() = 0;
    }
}

#[derive(Clone, Default)]
struct ArrayNode {
    items: Vec<Value>,
    text_len: TextLen,
}

impl PartialEq for ArrayNode {
    fn eq(&self, other: &ArrayNode) -> bool {
        self.items == other.items
    }
}

/// Entries in insertion order, and for large objects an index from key to position.
#[derive(Clone, Default)]
struct MapNode {
    entries: Vec<(Str, Value)>,
    index: Option<Index>,
    text_len: TextLen,
}

impl MapNode {
    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.entries.iter().position(|(k, _)| k.as_str() == key),
        }
    }

    fn insert(&mut self, key: Str, value: Value) -> Option<Value> {
        if let Some(i) = self.position(&key) {
            return Some(std::mem::replace(&mut self.entries[i].1, value));
        }
        if let Some(index) = &mut self.index {
            index.insert(key.clone(), self.entries.len());
        }
        self.entries.push((key, value));
        if self.index.is_none() && self.entries.len() > INDEX_FROM {
            self.index = Some(
                self.entries
                    .iter()
                    .enumerate()
                    .map(|(i, (k, _))| (k.clone(), i))
                    .collect(),
            );
        }
        None
    }

    /// Moves the last entry into the removed one's place, as `serde_json::Map::remove` does with
    /// `preserve_order`.
    fn swap_remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key)?;
        let (_, value) = self.entries.swap_remove(i);
        if let Some(index) = &mut self.index {
            index.remove(key);
            if let Some((moved, _)) = self.entries.get(i) {
                index.insert(moved.clone(), i);
            }
        }
        Some(value)
    }
}

static NULL: Value = Value::Null;

// ---------------------------------------------------------------------------------------------------
// Str

impl Str {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Str {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

// Must agree with `str`'s hash, since maps are looked up by `&str`.
impl Hash for Str {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Str {
        Str(Arc::from(s))
    }
}

impl From<String> for Str {
    fn from(s: String) -> Str {
        Str(Arc::from(s))
    }
}

impl From<&String> for Str {
    fn from(s: &String) -> Str {
        Str(Arc::from(s.as_str()))
    }
}

impl From<Arc<str>> for Str {
    fn from(s: Arc<str>) -> Str {
        Str(s)
    }
}

impl From<Str> for String {
    fn from(s: Str) -> String {
        s.as_str().to_owned()
    }
}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Str {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

// ---------------------------------------------------------------------------------------------------
// Array

impl Array {
    pub fn new() -> Array {
        Array::default()
    }

    pub fn into_vec(self) -> Vec<Value> {
        Arc::unwrap_or_clone(self.0).items
    }
}

impl Deref for Array {
    type Target = Vec<Value>;
    fn deref(&self) -> &Vec<Value> {
        &self.0.items
    }
}

impl DerefMut for Array {
    fn deref_mut(&mut self) -> &mut Vec<Value> {
        let node = Arc::make_mut(&mut self.0);
        node.text_len.clear();
        &mut node.items
    }
}

impl fmt::Debug for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl From<Vec<Value>> for Array {
    fn from(items: Vec<Value>) -> Array {
        Array(Arc::new(ArrayNode {
            items,
            text_len: TextLen::default(),
        }))
    }
}

impl FromIterator<Value> for Array {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Array {
        Array::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl<'a> IntoIterator for &'a Array {
    type Item = &'a Value;
    type IntoIter = std::slice::Iter<'a, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.items.iter()
    }
}

impl IntoIterator for Array {
    type Item = Value;
    type IntoIter = std::vec::IntoIter<Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

// ---------------------------------------------------------------------------------------------------
// Map

type Entry = (Str, Value);
type EntryRef<'a> = (&'a Str, &'a Value);
type EntryMut<'a> = (&'a Str, &'a mut Value);

fn entry_ref(e: &Entry) -> EntryRef<'_> {
    (&e.0, &e.1)
}

fn entry_mut(e: &mut Entry) -> EntryMut<'_> {
    (&e.0, &mut e.1)
}

pub type Iter<'a> = std::iter::Map<std::slice::Iter<'a, Entry>, fn(&'a Entry) -> EntryRef<'a>>;

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    pub fn with_capacity(n: usize) -> Map {
        Map(Arc::new(MapNode {
            entries: Vec::with_capacity(n),
            index: None,
            text_len: TextLen::default(),
        }))
    }

    /// The node, copied first if shared (with room for `extra` more entries, so an insert into a
    /// shared object copies it once), and its remembered text length forgotten.
    fn node_mut(&mut self, extra: usize) -> &mut MapNode {
        if Arc::get_mut(&mut self.0).is_none() {
            let mut entries = Vec::with_capacity(self.len() + extra);
            entries.extend(self.0.entries.iter().cloned());
            self.0 = Arc::new(MapNode {
                entries,
                index: self.0.index.clone(),
                text_len: TextLen::default(),
            });
        }
        let node = Arc::make_mut(&mut self.0);
        node.text_len.clear();
        node
    }

    pub fn len(&self) -> usize {
        self.0.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.entries.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.position(key).map(|i| &self.0.entries[i].1)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        let i = self.0.position(key)?;
        Some(&mut self.node_mut(0).entries[i].1)
    }

    /// The value under `key`, inserting `make()` first if there is none.
    pub fn get_or_insert_with(&mut self, key: impl Into<Str>, make: impl FnOnce() -> Value) -> &mut Value {
        let key = key.into();
        let i = match self.0.position(&key) {
            Some(i) => i,
            None => {
                let node = self.node_mut(1);
                node.insert(key, make());
                node.entries.len() - 1
            }
        };
        &mut self.node_mut(0).entries[i].1
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.0.position(key).is_some()
    }

    pub fn insert(&mut self, key: impl Into<Str>, value: Value) -> Option<Value> {
        self.node_mut(1).insert(key.into(), value)
    }

    /// A map of entries whose keys the caller knows are distinct (a compiled template's field
    /// names): no key is looked up.
    pub(crate) fn from_distinct(entries: Vec<(Str, Value)>) -> Map {
        debug_assert!(
            entries
                .iter()
                .enumerate()
                .all(|(i, (k, _))| entries[..i].iter().all(|(other, _)| other != k)),
            "duplicate keys"
        );
        let index = (entries.len() > INDEX_FROM).then(|| {
            entries
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.clone(), i))
                .collect()
        });
        Map(Arc::new(MapNode {
            entries,
            index,
            text_len: TextLen::default(),
        }))
    }

    /// Removes `key` and moves the last entry into its place, as `serde_json::Map::remove` does with
    /// `preserve_order`.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        if !self.contains_key(key) {
            return None;
        }
        self.node_mut(0).swap_remove(key)
    }

    pub fn iter(&self) -> Iter<'_> {
        self.0.entries.iter().map(entry_ref)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = EntryMut<'_>> {
        self.node_mut(0).entries.iter_mut().map(entry_mut)
    }

    pub fn keys(&self) -> impl Iterator<Item = &Str> {
        self.0.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.0.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Value> {
        self.node_mut(0).entries.iter_mut().map(|(_, v)| v)
    }

    pub fn extend<K: Into<Str>, I: IntoIterator<Item = (K, Value)>>(&mut self, iter: I) {
        let node = self.node_mut(0);
        for (k, v) in iter {
            node.insert(k.into(), v);
        }
    }
}

// Objects are equal when they hold the same keys and values, in any order (as `serde_json`'s).
impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v)))
    }
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<Str>> FromIterator<(K, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Map {
        let iter = iter.into_iter();
        let mut m = Map::with_capacity(iter.size_hint().0);
        m.extend(iter);
        m
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a Str, &'a Value);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl IntoIterator for Map {
    type Item = (Str, Value);
    type IntoIter = std::vec::IntoIter<Entry>;
    fn into_iter(self) -> Self::IntoIter {
        Arc::unwrap_or_clone(self.0).entries.into_iter()
    }
}

// ---------------------------------------------------------------------------------------------------
// Value

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_boolean(&self) -> bool {
        matches!(self, Value::Bool(_))
    }

    pub fn is_number(&self) -> bool {
        matches!(self, Value::Number(_))
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::String(_))
    }

    pub fn is_array(&self) -> bool {
        matches!(self, Value::Array(_))
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }

    pub fn is_i64(&self) -> bool {
        matches!(self, Value::Number(n) if n.is_i64())
    }

    pub fn is_u64(&self) -> bool {
        matches!(self, Value::Number(n) if n.is_u64())
    }

    pub fn is_f64(&self) -> bool {
        matches!(self, Value::Number(n) if n.is_f64())
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().and_then(Number::as_f64)
    }

    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    pub fn as_u64(&self) -> Option<u64> {
        self.as_number().and_then(Number::as_u64)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// A field of an object or an element of an array.
    pub fn get<I: ValueIndex>(&self, index: I) -> Option<&Value> {
        index.index_into(self)
    }

    pub fn take(&mut self) -> Value {
        std::mem::take(self)
    }

    /// The length in bytes of the compact JSON text `to_json_string` writes, without writing it:
    /// the 256 KiB payload limit is checked on every state's input and output. Arrays and objects
    /// remember theirs, so a document that shares most of its nodes with one measured before costs
    /// only its new nodes.
    pub fn json_len(&self) -> usize {
        match self {
            Value::Null => 4,
            Value::Bool(true) => 4,
            Value::Bool(false) => 5,
            Value::Number(n) => number_len(n),
            Value::String(s) => string_len(s),
            Value::Array(a) => {
                a.0.text_len
                    .get_or(|| 2 + a.len().saturating_sub(1) + a.iter().map(Value::json_len).sum::<usize>())
            }
            Value::Object(m) => m.0.text_len.get_or(|| {
                2 + m.len().saturating_sub(1)
                    + m.iter()
                        .map(|(k, v)| string_len(k) + 1 + v.json_len())
                        .sum::<usize>()
            }),
        }
    }

    /// Whether `self` and `other` are the same document: one shared array, object or string, or
    /// equal scalars (so they have the same JSON text, without comparing it).
    pub fn is_same(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Array(a), Value::Array(b)) => Arc::ptr_eq(&a.0, &b.0),
            (Value::Object(a), Value::Object(b)) => Arc::ptr_eq(&a.0, &b.0),
            (Value::String(a), Value::String(b)) => Arc::ptr_eq(&a.0, &b.0),
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            _ => false,
        }
    }

    /// The compact JSON text, as `serde_json::to_string` writes it.
    pub fn to_json_string(&self) -> String {
        // Serialising a value made only of JSON data cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What `Value::get` and `value[...]` accept: a `&str` key or a `usize` position.
pub trait ValueIndex {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value>;
}

impl ValueIndex for str {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        v.as_object().and_then(|m| m.get(self))
    }
}

impl ValueIndex for String {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        v.as_object().and_then(|m| m.get(self))
    }
}

impl ValueIndex for usize {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        v.as_array().and_then(|a| a.get(*self))
    }
}

impl<I: ValueIndex + ?Sized> ValueIndex for &I {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        (**self).index_into(v)
    }
}

impl<I: ValueIndex> std::ops::Index<I> for Value {
    type Output = Value;
    fn index(&self, index: I) -> &Value {
        index.index_into(self).unwrap_or(&NULL)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Number(n) => write!(f, "Number({n})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::Array(a) => {
                f.write_str("Array ")?;
                fmt::Debug::fmt(a, f)
            }
            Value::Object(m) => {
                f.write_str("Object ")?;
                fmt::Debug::fmt(m, f)
            }
        }
    }
}

/// Compact JSON text.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json_string())
    }
}

impl PartialEq<str> for Value {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

macro_rules! eq_number {
    ($($t:ty => $as:ident as $wide:ty),*) => {$(
        impl PartialEq<$t> for Value {
            fn eq(&self, other: &$t) -> bool {
                self.$as().is_some_and(|n| n == <$wide>::from(*other))
            }
        }
    )*};
}
eq_number!(i32 => as_i64 as i64, i64 => as_i64 as i64, u32 => as_u64 as u64, u64 => as_u64 as u64, f64 => as_f64 as f64);

impl PartialEq<bool> for Value {
    fn eq(&self, other: &bool) -> bool {
        self.as_bool() == Some(*other)
    }
}

impl PartialEq<serde_json::Value> for Value {
    fn eq(&self, other: &serde_json::Value) -> bool {
        use serde_json::Value as J;
        match (self, other) {
            (Value::Null, J::Null) => true,
            (Value::Bool(a), J::Bool(b)) => a == b,
            (Value::Number(a), J::Number(b)) => a == b,
            (Value::String(a), J::String(b)) => a.as_str() == b,
            (Value::Array(a), J::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y),
            (Value::Object(a), J::Object(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k.as_str()).is_some_and(|w| v == w))
            }
            _ => false,
        }
    }
}

impl PartialEq<Value> for serde_json::Value {
    fn eq(&self, other: &Value) -> bool {
        other == self
    }
}

macro_rules! from_number {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Value {
                Value::Number(Number::from(n))
            }
        }
    )*};
}
from_number!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl From<f64> for Value {
    /// NaN and the infinities have no JSON form and become `null`, as in `serde_json`.
    fn from(n: f64) -> Value {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Value {
        Value::Number(n)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s.into())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.into())
    }
}

impl From<Arc<str>> for Value {
    fn from(s: Arc<str>) -> Value {
        Value::String(Str(s))
    }
}

impl From<Str> for Value {
    fn from(s: Str) -> Value {
        Value::String(s)
    }
}

impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Value {
        Value::Array(v.into())
    }
}

impl From<Array> for Value {
    fn from(a: Array) -> Value {
        Value::Array(a)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Value {
        Value::Object(m)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Value {
        o.map_or(Value::Null, Into::into)
    }
}

impl FromIterator<Value> for Value {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Value {
        Value::Array(iter.into_iter().collect())
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Value {
        use serde_json::Value as J;
        match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(b),
            J::Number(n) => Value::Number(n),
            J::String(s) => Value::String(s.into()),
            J::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            J::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, Value::from(v))).collect()),
        }
    }
}

impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => Value::Number(n.clone()),
            J::String(s) => Value::String(s.as_str().into()),
            J::Array(a) => Value::Array(a.iter().map(Value::from).collect()),
            J::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.as_str(), Value::from(v))).collect()),
        }
    }
}

impl From<&Value> for serde_json::Value {
    fn from(v: &Value) -> serde_json::Value {
        use serde_json::Value as J;
        match v {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => J::Number(n.clone()),
            Value::String(s) => J::String(s.as_str().to_owned()),
            Value::Array(a) => J::Array(a.iter().map(J::from).collect()),
            Value::Object(m) => J::Object(
                m.iter()
                    .map(|(k, v)| (k.as_str().to_owned(), J::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<Value> for serde_json::Value {
    fn from(v: Value) -> serde_json::Value {
        serde_json::Value::from(&v)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => n.serialize(serializer),
            Value::String(s) => serializer.serialize_str(s),
            Value::Array(a) => {
                let mut seq = serializer.serialize_seq(Some(a.len()))?;
                for v in a.iter() {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Object(m) => {
                let mut map = serializer.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k.as_str(), v)?;
                }
                map.end()
            }
        }
    }
}

impl Serialize for Map {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self {
            map.serialize_entry(k.as_str(), v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

impl<'de> Deserialize<'de> for Map {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Map, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Object(m) => Ok(m),
            _ => Err(serde::de::Error::custom("expected a JSON object")),
        }
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(n.into())
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(n.into())
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(n.into())
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(s.into())
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(s.into())
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(e) = seq.next_element()? {
            v.push(e);
        }
        Ok(Value::Array(v.into()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut m = Map::with_capacity(access.size_hint().unwrap_or(0).min(4096));
        while let Some((k, v)) = access.next_entry::<String, Value>()? {
            m.insert(k, v);
        }
        Ok(Value::Object(m))
    }
}

fn number_len(n: &Number) -> usize {
    fn digits(mut u: u64) -> usize {
        let mut d = 1;
        while u >= 10 {
            u /= 10;
            d += 1;
        }
        d
    }
    if let Some(u) = n.as_u64() {
        digits(u)
    } else if let Some(i) = n.as_i64() {
        1 + digits(i.unsigned_abs())
    } else {
        n.to_string().len()
    }
}

/// A quoted string with serde_json's escapes: `\"`, `\\` and the short forms of `\b \f \n \r \t`
/// take two bytes, other control characters six (`\u001f`).
pub(crate) fn string_len(s: &str) -> usize {
    // Escapes are rare. Short strings (names, ids) are checked byte by byte; a long one in one
    // branch-free pass that the compiler vectorises, whose set-up would cost more on a short one.
    let needs_escape = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
    if s.len() < 32 {
        if !s.bytes().any(needs_escape) {
            return 2 + s.len();
        }
        return 2 + s.len() + escapes_len(s);
    }
    let plain = s
        .bytes()
        .fold(true, |plain, b| plain & (b >= 0x20) & (b != b'"') & (b != b'\\'));
    if plain {
        return 2 + s.len();
    }
    2 + s.len() + escapes_len(s)
}

/// The bytes escaping adds to `s`.
fn escapes_len(s: &str) -> usize {
    s.bytes()
        .map(|b| match b {
            b'"' | b'\\' | 0x08 | 0x0c | b'\n' | b'\r' | b'\t' => 1,
            0..=0x1f => 5,
            _ => 0,
        })
        .sum::<usize>()
}

/// `serde_json::json!`, built as a shared [`Value`].
#[macro_export]
macro_rules! json {
    ($($t:tt)+) => {
        $crate::value::Value::from(::serde_json::json!($($t)+))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_copy_shares_what_it_did_not_change() {
        let original = json!({"cart": {"items": [1, 2, 3]}, "n": 1});
        let mut changed = original.clone();
        changed.as_object_mut().map(|m| m.insert("n", Value::from(2)));
        assert_eq!(original["n"], json!(1));
        assert_eq!(changed["n"], json!(2));
        let (Value::Object(a), Value::Object(b)) = (&original["cart"], &changed["cart"]) else {
            panic!("objects")
        };
        assert!(Arc::ptr_eq(&a.0, &b.0));
    }

    #[test]
    fn text_round_trip_keeps_key_order_and_matches_serde_json() {
        let text = r#"{"z":1,"a":[true,null,"x",1.5,-3],"m":{"b":2,"a":1}}"#;
        let v: Value = serde_json::from_str(text).expect("parses");
        assert_eq!(v.to_json_string(), text);
        let j: serde_json::Value = serde_json::from_str(text).expect("parses");
        assert_eq!(v, j);
        assert_eq!(Value::from(j.clone()), v);
        assert_eq!(serde_json::Value::from(&v), j);
    }

    #[test]
    fn objects_compare_without_regard_to_order() {
        assert_eq!(json!({"a": 1, "b": 2}), json!({"b": 2, "a": 1}));
        assert_ne!(json!({"a": 1}), json!({"a": 1, "b": 2}));
        assert_ne!(json!(1), json!(1.0));
    }

    #[test]
    fn large_objects_behave_like_serde_json_maps() {
        let mut ours = Map::new();
        let mut theirs = serde_json::Map::new();
        for i in 0..40 {
            ours.insert(format!("k{i}"), Value::from(i));
            theirs.insert(format!("k{i}"), serde_json::Value::from(i));
        }
        for i in (0..40).step_by(3) {
            assert_eq!(
                ours.remove(&format!("k{i}")),
                theirs.remove(&format!("k{i}")).map(Value::from)
            );
        }
        ours.insert("k5", Value::from("again"));
        theirs.insert("k5".into(), "again".into());
        let shared = ours.clone();
        ours.insert("new", Value::Null);
        theirs.insert("new".into(), serde_json::Value::Null);
        assert_eq!(
            Value::Object(ours.clone()).to_json_string(),
            serde_json::Value::Object(theirs).to_string()
        );
        for i in 0..40 {
            let k = format!("k{i}");
            assert_eq!(ours.get(&k).is_some(), i % 3 != 0, "{k}");
        }
        assert!(shared.get("new").is_none());
        assert_eq!(shared.len() + 1, ours.len());
    }

    #[test]
    fn remove_moves_the_last_entry_like_serde_json() {
        let mut ours = json!({"a": 1, "b": 2, "c": 3});
        let mut theirs = serde_json::json!({"a": 1, "b": 2, "c": 3});
        ours.as_object_mut().and_then(|m| m.remove("a"));
        theirs.as_object_mut().and_then(|m| m.remove("a"));
        assert_eq!(ours.to_json_string(), theirs.to_string());
    }

    #[test]
    fn json_len_is_the_length_of_serde_json_text() {
        let cases = [
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(9),
            json!(10),
            json!(-1),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1.5),
            json!(-0.0),
            json!(1e300),
            json!(0.1),
            json!(""),
            json!("plain"),
            json!("quote\" backslash\\ slash/ nl\n cr\r tab\t bs\u{8} ff\u{c} nul\u{0} us\u{1f} del\u{7f}"),
            json!("é ü 中文 🦀 \u{2028}"),
            json!([]),
            json!({}),
            json!([1, [2, [3, {}]], {"a": []}]),
            json!({"k\"ey": {"nested": [null, true, "x"]}, "b": -12.25, "": ""}),
        ];
        for v in cases {
            let text = serde_json::to_string(&v).expect("serialise");
            assert_eq!(v.json_len(), text.len(), "{text}");
        }
    }

    #[test]
    fn a_remembered_length_is_forgotten_when_the_node_changes() {
        let mut v = json!({"cart": {"items": [1, 2]}, "n": 1});
        let shared = v.clone();
        assert_eq!(v.json_len(), v.to_json_string().len());
        if let Some(Value::Array(items)) = v
            .as_object_mut()
            .and_then(|m| m.get_mut("cart"))
            .and_then(|c| c.as_object_mut())
            .and_then(|c| c.get_mut("items"))
        {
            items.push(json!("three"));
        }
        assert_eq!(v.json_len(), v.to_json_string().len());
        assert_eq!(shared.json_len(), shared.to_json_string().len());
        assert_ne!(v.json_len(), shared.json_len());
    }
}
