//! Attribute values. Desired, recorded and observed attributes are all `Attrs`: a sorted map
//! from attribute name to `Value`, so diffs and renderings are deterministic.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::addr::Address;

/// One attribute value.
///
/// Serialized untagged (a JSON boolean, integer, string, array or object; a reference is
/// `{"$ref": "<address>"}`). Deserialization is written by hand (see the `Deserialize`
/// impl below): serde's untagged enums buffer every value before trying each variant,
/// which made reading a fleet's state several times slower.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
    /// A list.
    List(Vec<Value>),
    /// The cloud id of another resource, known once that resource exists. Only desired
    /// attributes hold references; the executor resolves them before calling a provider, and
    /// recorded or observed attributes never hold one. Declared before [`Value::Map`] so that
    /// `{"$ref": …}` reads back as a reference.
    Ref(Ref),
    /// A map with string keys, sorted (resource tags).
    Map(BTreeMap<String, Value>),
}

/// A reference to the cloud id of another resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ref {
    /// The resource whose cloud id is meant.
    #[serde(rename = "$ref")]
    pub addr: Address,
}

impl Value {
    /// A string value.
    #[must_use]
    pub fn str(s: impl Into<String>) -> Self {
        Self::Str(s.into())
    }

    /// A reference to the cloud id of `addr`.
    #[must_use]
    pub fn reference(addr: Address) -> Self {
        Self::Ref(Ref { addr })
    }

    /// The string, if this is one.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is one.
    #[must_use]
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The list, if this is one.
    #[must_use]
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Self::List(l) => Some(l),
            _ => None,
        }
    }

    /// The map, if this is one.
    #[must_use]
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Self::Map(m) => Some(m),
            _ => None,
        }
    }

    /// A map of strings (`tags`) from `(key, value)` pairs.
    #[must_use]
    pub fn str_map<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), Self::Str(v.into())))
                .collect(),
        )
    }

    /// Every address this value refers to, in order.
    pub fn refs(&self) -> Vec<&Address> {
        match self {
            Self::Ref(r) => vec![&r.addr],
            Self::List(l) => l.iter().flat_map(Value::refs).collect(),
            Self::Map(m) => m.values().flat_map(Value::refs).collect(),
            _ => Vec::new(),
        }
    }

    /// Replaces every reference with what `resolve` returns for it; `None` when one cannot be
    /// resolved (the referenced resource does not exist yet).
    pub fn resolve(&self, resolve: &dyn Fn(&Address) -> Option<String>) -> Option<Value> {
        Some(match self {
            Self::Ref(r) => Self::Str(resolve(&r.addr)?),
            Self::List(l) => Self::List(
                l.iter()
                    .map(|v| v.resolve(resolve))
                    .collect::<Option<_>>()?,
            ),
            Self::Map(m) => Self::Map(
                m.iter()
                    .map(|(k, v)| Some((k.clone(), v.resolve(resolve)?)))
                    .collect::<Option<_>>()?,
            ),
            other => other.clone(),
        })
    }
}

impl fmt::Display for Value {
    /// Renders as in plan output: strings quoted, lists in brackets, references as
    /// `(id of vpc.x)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Str(s) => write!(f, "{s:?}"),
            Self::Ref(r) => write!(f, "(id of {})", r.addr),
            Self::List(l) => {
                f.write_str("[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Self::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k:?} = {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::Str(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::Str(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

/// Attributes of one resource, sorted by name.
pub type Attrs = BTreeMap<String, Value>;

impl<'de> Deserialize<'de> for Value {
    /// What the untagged form reads: a boolean, an integer (`i64`), a string, a list, or a
    /// map; a map with a `$ref` string that is an address is a reference (its other keys
    /// ignored, as the derived form did), any other map a [`Value::Map`]. Floats and
    /// null are refused.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> serde::de::Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean, an integer, a string, a list or a map")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        i64::try_from(v).map(Value::Int).map_err(|_| {
            E::invalid_value(serde::de::Unexpected::Unsigned(v), &"an integer of 64 bits")
        })
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::List(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries: BTreeMap<String, Value> = BTreeMap::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            entries.insert(k, v);
        }
        if let Some(Value::Str(target)) = entries.get("$ref")
            && let Ok(addr) = target.parse::<Address>()
        {
            return Ok(Value::Ref(Ref { addr }));
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_untagged_form_read() {
        let v: Value = serde_json::from_str(
            r#"{"b": true, "i": -3, "s": "x", "l": [1, "y", {"$ref": "vpc.a"}], "m": {"k": "v"}}"#,
        )
        .unwrap();
        let Value::Map(m) = v else {
            panic!("a map: {v:?}")
        };
        assert_eq!(m["b"], Value::Bool(true));
        assert_eq!(m["i"], Value::Int(-3));
        assert_eq!(m["s"], Value::str("x"));
        assert_eq!(
            m["l"],
            Value::List(vec![
                Value::Int(1),
                Value::str("y"),
                Value::reference("vpc.a".parse().unwrap())
            ])
        );
        assert_eq!(m["m"], Value::str_map([("k", "v")]));
        // A `$ref` that is not an address, or not a string, is a plain map.
        let not_ref: Value = serde_json::from_str(r#"{"$ref": "no address"}"#).unwrap();
        assert_eq!(not_ref, Value::str_map([("$ref", "no address")]));
        let not_ref: Value = serde_json::from_str(r#"{"$ref": 1}"#).unwrap();
        assert!(matches!(not_ref, Value::Map(_)));
        // Floats, null and integers past i64 are refused.
        for bad in ["1.5", "null", "18446744073709551615"] {
            assert!(serde_json::from_str::<Value>(bad).is_err(), "{bad}");
        }
        assert_eq!(
            serde_json::from_str::<Value>("9223372036854775807").unwrap(),
            Value::Int(i64::MAX)
        );
    }

    #[test]
    fn maps_round_trip_and_refs_stay_refs() {
        let m = Value::str_map([("team", "data"), ("flinkform:stack", "s")]);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"flinkform:stack":"s","team":"data"}"#);
        assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), m);
        let r = Value::reference("vpc.a".parse().unwrap());
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), r);
        assert_eq!(
            m.to_string(),
            r#"{"flinkform:stack" = "s", "team" = "data"}"#
        );
    }

    #[test]
    fn resolves_nested_refs() {
        let vpc: Address = "vpc.a".parse().unwrap();
        let v = Value::List(vec![Value::reference(vpc.clone()), Value::str("vsw-1")]);
        assert_eq!(v.refs(), vec![&vpc]);
        let r = v.resolve(&|_| Some("vpc-9".to_owned())).unwrap();
        assert_eq!(
            r,
            Value::List(vec![Value::str("vpc-9"), Value::str("vsw-1")])
        );
        assert!(v.resolve(&|_| None).is_none());
    }

    #[test]
    fn serializes_refs_distinctly() {
        let v = Value::reference("vpc.a".parse().unwrap());
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"$ref":"vpc.a"}"#);
        let back: Value = serde_json::from_str(r#"{"$ref":"vpc.a"}"#).unwrap();
        assert_eq!(back, v);
    }
}
