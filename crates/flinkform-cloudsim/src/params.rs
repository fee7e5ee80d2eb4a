//! Request parameters as the official SDKs and older clients send them: the query string and
//! the form body merged, with complex values either as JSON strings
//! (`VSwitchIds=["vsw-1"]`, `Storage={"Oss":{"Bucket":"b"}}`) or dot-flattened
//! (`VSwitchIds.1=vsw-1`, `Storage.Oss.Bucket=b`, `Tag.1.Key=k`).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::api::ApiError;
use crate::world::Spec;

/// Merged request parameters (a form-body value wins over a query value of the same name).
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    map: BTreeMap<String, String>,
}

impl Params {
    /// Merges `query` and `form` pairs.
    pub(crate) fn new(query: &[(String, String)], form: &[(String, String)]) -> Self {
        let mut map = BTreeMap::new();
        for (k, v) in query.iter().chain(form) {
            map.insert(k.clone(), v.clone());
        }
        Self { map }
    }

    /// A plain parameter, `None` when absent or empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.map
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Whether parameter `name` is given, plain (not empty) or dot-flattened (`name.…`).
    pub(crate) fn has(&self, name: &str) -> bool {
        if self.get(name).is_some() {
            return true;
        }
        let prefix = format!("{name}.");
        self.map
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .any(|(_, v)| !v.is_empty())
    }

    /// A required plain parameter.
    pub(crate) fn require(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| ApiError::missing(name))
    }

    /// A boolean parameter (`true`/`false`, any case); `None` when absent.
    pub(crate) fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).map(|v| v.eq_ignore_ascii_case("true"))
    }

    /// A positive integer parameter with a default; malformed → `InvalidParameter`.
    pub(crate) fn int(&self, name: &str, default: u64) -> Result<u64, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.trim().parse::<u64>().map_err(|_| {
                ApiError::bad_request(
                    "InvalidParameter",
                    format!("The parameter {name} must be an integer, not {v:?}."),
                )
            }),
        }
    }

    /// A structured parameter: the JSON string form, or the dot-flattened form rebuilt into
    /// a JSON value (lists from 1-based numeric segments). `None` when absent.
    pub(crate) fn structured(&self, name: &str) -> Result<Option<Value>, ApiError> {
        if let Some(raw) = self.get(name) {
            let trimmed = raw.trim();
            if trimmed.starts_with('[') || trimmed.starts_with('{') {
                return serde_json::from_str(trimmed).map(Some).map_err(|e| {
                    ApiError::bad_request(
                        "InvalidParameter",
                        format!("The parameter {name} is not valid JSON: {e}."),
                    )
                });
            }
            return Ok(Some(Value::String(raw.to_owned())));
        }
        let prefix = format!("{name}.");
        let mut tree = Node::default();
        let mut any = false;
        for (k, v) in self.map.range(prefix.clone()..) {
            let Some(rest) = k.strip_prefix(&prefix) else {
                break;
            };
            any = true;
            tree.insert(&rest.split('.').collect::<Vec<_>>(), v);
        }
        Ok(any.then(|| tree.into_value()))
    }

    /// A list of strings: a JSON array, flattened `Name.N`, or a comma-separated string.
    pub(crate) fn string_list(&self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        let bad = || {
            ApiError::bad_request(
                "InvalidParameter",
                format!("The parameter {name} must be a list of strings."),
            )
        };
        match self.structured(name)? {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s),
                    _ => Err(bad()),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(Value::String(s)) => Ok(Some(
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )),
            Some(_) => Err(bad()),
        }
    }

    /// A `{Cpu, MemoryGB}` object; `None` when absent. Numbers may be JSON numbers or strings.
    /// `Cpu < 1` or `MemoryGB ≠ 4 × Cpu` → `InvalidParameter.ResourceSpec`.
    pub(crate) fn spec(&self, name: &str) -> Result<Option<Spec>, ApiError> {
        let Some(value) = self.structured(name)? else {
            return Ok(None);
        };
        let bad = |why: &str| {
            ApiError::bad_request(
                "InvalidParameter.ResourceSpec",
                format!("The parameter {name} is invalid: {why}."),
            )
        };
        let field = |key: &str| -> Result<u32, ApiError> {
            let v = value
                .get(key)
                .ok_or_else(|| bad(&format!("{key} is missing")))?;
            let n = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .ok_or_else(|| bad(&format!("{key} is not a number")))?;
            if n.fract() != 0.0 || !(0.0..=1_000_000.0).contains(&n) {
                return Err(bad(&format!("{key} must be a whole number")));
            }
            // Range checked above.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(n as u32)
        };
        let cpu = field("Cpu")?;
        let memory_gb = field("MemoryGB")?;
        if cpu < 1 {
            return Err(bad("Cpu must be at least 1"));
        }
        if memory_gb != cpu.saturating_mul(4) {
            return Err(bad("MemoryGB must be 4 × Cpu"));
        }
        Ok(Some(Spec { cpu, memory_gb }))
    }

    /// The `[{Key, Value}]` objects of tag parameter `name`; empty when absent.
    fn tag_items(&self, name: &str) -> Result<Vec<Value>, ApiError> {
        match self.structured(name)? {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(ApiError::bad_request(
                "InvalidParameter",
                format!("The parameter {name} must be a list of tags."),
            )),
        }
    }

    /// `[{Key, Value}]` tags; empty when absent.
    pub(crate) fn tags(&self, name: &str) -> Result<Vec<(String, String)>, ApiError> {
        let field = |t: &Value, k: &str| {
            t.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Ok(self
            .tag_items(name)?
            .iter()
            .map(|t| (field(t, "Key"), field(t, "Value")))
            .collect())
    }

    /// `[{Key, Value}]` tags as a filter (`Tag.N.Key` alone matches any value); empty when
    /// absent. Entries without a key are ignored.
    pub(crate) fn tag_filter(&self, name: &str) -> Result<Vec<(String, Option<String>)>, ApiError> {
        Ok(self
            .tag_items(name)?
            .iter()
            .filter_map(|t| {
                let key = t
                    .get("Key")
                    .and_then(Value::as_str)
                    .filter(|k| !k.is_empty())?;
                let value = t.get("Value").and_then(Value::as_str).map(str::to_owned);
                Some((key.to_owned(), value))
            })
            .collect())
    }

    /// Tags to set on a resource: at most 20, keys unique and valid. Errors:
    /// `InvalidTagKey.Malformed`, `NumberExceed.Tags`, `Duplicate.TagKey` (400).
    pub(crate) fn tags_to_set(&self, name: &str) -> Result<crate::tags::Tags, ApiError> {
        let list = self.tags(name)?;
        if list.len() > crate::tags::MAX_TAGS {
            return Err(ApiError::bad_request(
                "NumberExceed.Tags",
                format!("The {name} parameter's number is exceed , Valid : 20"),
            ));
        }
        let mut out = crate::tags::Tags::new();
        for (k, v) in list {
            if let Some(why) = crate::tags::invalid_tag(&k, &v) {
                return Err(ApiError::bad_request("InvalidTagKey.Malformed", why));
            }
            if out.insert(k.clone(), v).is_some() {
                return Err(ApiError::bad_request(
                    "Duplicate.TagKey",
                    format!("The {name}.N.Key contain duplicate key {k:?}."),
                ));
            }
        }
        Ok(out)
    }
}

#[derive(Debug, Default)]
struct Node {
    value: Option<String>,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn insert(&mut self, path: &[&str], value: &str) {
        match path.split_first() {
            None => self.value = Some(value.to_owned()),
            Some((head, rest)) => self
                .children
                .entry((*head).to_owned())
                .or_default()
                .insert(rest, value),
        }
    }

    fn into_value(self) -> Value {
        if self.children.is_empty() {
            return Value::String(self.value.unwrap_or_default());
        }
        if self.children.keys().all(|k| k.parse::<u32>().is_ok()) {
            let mut items: Vec<(u32, Node)> = self
                .children
                .into_iter()
                .map(|(k, v)| (k.parse::<u32>().unwrap_or(0), v))
                .collect();
            items.sort_by_key(|(i, _)| *i);
            return Value::Array(items.into_iter().map(|(_, n)| n.into_value()).collect());
        }
        Value::Object(
            self.children
                .into_iter()
                .map(|(k, v)| (k, v.into_value()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        let v: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Params::new(&v, &[])
    }

    #[test]
    fn json_and_flattened_forms_agree() {
        let json = params(&[
            ("VSwitchIds", r#"["vsw-1","vsw-2"]"#),
            ("Storage", r#"{"Oss":{"Bucket":"b"}}"#),
        ]);
        let flat = params(&[
            ("VSwitchIds.2", "vsw-2"),
            ("VSwitchIds.1", "vsw-1"),
            ("Storage.Oss.Bucket", "b"),
        ]);
        for p in [json, flat] {
            assert_eq!(
                p.string_list("VSwitchIds").unwrap().unwrap(),
                ["vsw-1", "vsw-2"]
            );
            assert_eq!(
                p.structured("Storage").unwrap().unwrap()["Oss"]["Bucket"],
                "b"
            );
        }
    }

    #[test]
    fn specs_accept_numbers_and_strings_and_check_the_ratio() {
        let p = params(&[
            ("ResourceSpec.Cpu", "4"),
            ("ResourceSpec.MemoryGB", "16"),
            ("Bad", r#"{"Cpu":2,"MemoryGB":4}"#),
        ]);
        assert_eq!(
            p.spec("ResourceSpec").unwrap(),
            Some(Spec {
                cpu: 4,
                memory_gb: 16
            })
        );
        assert_eq!(
            p.spec("Bad").unwrap_err().code,
            "InvalidParameter.ResourceSpec"
        );
        assert_eq!(p.spec("Absent").unwrap(), None);
    }

    #[test]
    fn tags_flattened() {
        let p = params(&[("Tag.1.Key", "k"), ("Tag.1.Value", "v")]);
        assert_eq!(p.tags("Tag").unwrap(), [("k".to_owned(), "v".to_owned())]);
    }
}
