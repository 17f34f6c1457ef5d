//! `docs/json.md` and the real output say the same: every documented field is present,
//! and every field in the output is documented.

use crate::support;
use serde_json::Value;
use std::collections::BTreeSet;

/// Field names per documented object, from the tables in docs/json.md. A section starts at
/// a line naming the object (`## \`capture\``, `\`tcp\`:`); tables elsewhere are ignored.
fn documented() -> Vec<(String, BTreeSet<String>)> {
    let text = std::fs::read_to_string(support::root().join("docs/json.md")).unwrap();
    let mut sections: Vec<(String, BTreeSet<String>)> = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let object = match line.trim() {
            "## Top level" => Some(Some("")),
            "## `capture`" => Some(Some("capture")),
            "## `connections[]`" => Some(Some("connections[]")),
            "`tcp`:" => Some(Some("connections[].tcp")),
            l if l.starts_with("## ") || (l.ends_with(':') && !l.starts_with('|')) => Some(None),
            _ => None,
        };
        if let Some(object) = object {
            current = object.map(str::to_string);
            if let Some(c) = &current {
                sections.push((c.clone(), BTreeSet::new()));
            }
            continue;
        }
        let (Some(_), Some(first)) = (&current, line.strip_prefix('|')) else {
            continue;
        };
        let cell = first.split('|').next().unwrap_or("");
        if cell.contains("---") || cell.trim() == "field" {
            continue;
        }
        let names = cell
            .split(',')
            .filter_map(|n| n.trim().strip_prefix('`')?.strip_suffix('`'))
            .map(str::to_string);
        sections.last_mut().unwrap().1.extend(names);
    }
    sections
}

fn lookup<'a>(doc: &'a Value, path: &str) -> &'a Value {
    let mut v = doc;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        v = match part.strip_suffix("[]") {
            Some(name) => &v[name][0],
            None => &v[part],
        };
    }
    v
}

#[test]
fn docs_json_md_matches_the_output() {
    let capture = support::root().join("fixtures/h2c-nghttp-lo.pcap");
    let doc = support::export(&capture);
    let sections = documented();
    assert_eq!(sections.len(), 4, "sections found: {sections:?}");
    for (path, fields) in sections {
        let obj = lookup(&doc, &path)
            .as_object()
            .unwrap_or_else(|| panic!("{path} is not an object in the output"));
        let actual: BTreeSet<String> = obj.keys().cloned().collect();
        assert_eq!(
            actual, fields,
            "docs/json.md and the output differ for `{path}`"
        );
    }
}
