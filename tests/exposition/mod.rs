//! A strict reader of the Prometheus text exposition format 0.0.4, after the
//! format's grammar: `# HELP` / `# TYPE` lines, samples
//! `name{label="value",...} value [timestamp]` with the format's escapes, one
//! `# TYPE` per family before its samples, a family's samples together, no
//! series twice, and histograms whose cumulative buckets end in `+Inf` equal
//! to `_count`. (`prometheus-parse` skips lines it cannot read, so it alone
//! would not catch a malformed page.)

use std::collections::{HashMap, HashSet};

use crate::e2e::Server;

/// Label pairs, sorted by name.
type Labels = Vec<(String, String)>;

/// A page read: its text and its samples.
#[derive(Debug)]
pub struct Page {
    pub text: String,
    samples: Vec<Series>,
}

/// One sample line.
#[derive(Debug)]
struct Series {
    name: String,
    labels: Labels,
    value: f64,
    /// The type of its family (`untyped` without a `# TYPE`).
    kind: String,
}

/// `GET /metrics` as Prometheus sends it, read strictly; every sample must
/// belong to a declared family.
pub fn scrape(server: &Server) -> Page {
    let accept = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1";
    let response = server.get("/metrics", &[("Accept", accept)]);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    let page = Page::parse(response.text()).unwrap_or_else(|e| panic!("{e}:\n{}", response.text()));
    let untyped: Vec<_> = page.samples.iter().filter(|s| s.kind == "untyped").collect();
    assert!(untyped.is_empty(), "samples without a # TYPE: {untyped:?}");
    page
}

impl Page {
    /// The value of the series with exactly these labels.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut wanted: Vec<(String, String)> =
            labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        wanted.sort();
        self.samples.iter().find(|s| s.name == name && s.labels == wanted).map(|s| s.value)
    }

    pub fn parse(text: String) -> Result<Page, String> {
        let mut types: HashMap<String, String> = HashMap::new();
        let mut finished: HashSet<String> = HashSet::new();
        let mut current: Option<String> = None;
        let mut series: HashSet<(String, Labels)> = HashSet::new();
        let mut samples = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let at = |why: &str| format!("line {}: {why}: {line:?}", number + 1);
            if line.trim().is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix('#') {
                let mut words = rest.trim_start().splitn(3, ' ');
                match (words.next(), words.next(), words.next()) {
                    (Some("HELP"), Some(name), help) => {
                        check_name(name).map_err(|e| at(&e))?;
                        check_help(help.unwrap_or("")).map_err(|e| at(&e))?;
                    }
                    (Some("TYPE"), Some(name), Some(kind)) => {
                        check_name(name).map_err(|e| at(&e))?;
                        if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                            return Err(at("unknown type"));
                        }
                        if types.insert(name.to_string(), kind.to_string()).is_some() {
                            return Err(at("a second # TYPE"));
                        }
                        if finished.contains(name) || current.as_deref() == Some(name) {
                            return Err(at("# TYPE after the family's samples"));
                        }
                    }
                    (Some("TYPE"), _, _) => return Err(at("# TYPE needs a name and a type")),
                    _ => {} // a comment
                }
                continue;
            }
            let (name, labels, value) = sample(line).map_err(|e| at(&e))?;
            let family = family_of(&name, &types);
            let kind = types.get(&family).cloned().unwrap_or_else(|| "untyped".into());
            if current.as_deref() != Some(family.as_str()) {
                if finished.contains(&family) {
                    return Err(at("the family's samples are not together"));
                }
                if let Some(previous) = current.replace(family.clone()) {
                    finished.insert(previous);
                }
            }
            if !series.insert((name.clone(), labels.clone())) {
                return Err(at("the same series twice"));
            }
            samples.push(Series { name, labels, value, kind });
        }
        check_histograms(&samples)?;
        Ok(Page { text, samples })
    }
}

/// The family a sample belongs to: its own name, or a histogram's or
/// summary's name without `_bucket`, `_sum` or `_count`.
fn family_of(name: &str, types: &HashMap<String, String>) -> String {
    if types.contains_key(name) {
        return name.to_string();
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if matches!(types.get(base).map(String::as_str), Some("histogram" | "summary")) {
                return base.to_string();
            }
        }
    }
    name.to_string()
}

fn sample(line: &str) -> Result<(String, Labels, f64), String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    check_name(name)?;
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        rest = inner;
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = rest.find('=').ok_or("a label without =")?;
            let label = rest[..eq].trim();
            let valid = label
                .chars()
                .enumerate()
                .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
            if label.is_empty() || !valid {
                return Err(format!("bad label name {label:?}"));
            }
            rest = rest[eq + 1..].strip_prefix('"').ok_or("a label value must be quoted")?;
            let (value, after) = quoted(rest)?;
            labels.push((label.to_string(), value));
            rest = after.strip_prefix(',').unwrap_or(after);
        }
    }
    let mut fields = rest.split_ascii_whitespace();
    let value = fields.next().ok_or("no value")?;
    let value = float(value).ok_or_else(|| format!("bad value {value:?}"))?;
    if let Some(timestamp) = fields.next() {
        timestamp.parse::<i64>().map_err(|_| format!("bad timestamp {timestamp:?}"))?;
    }
    if fields.next().is_some() {
        return Err("text after the timestamp".into());
    }
    labels.sort();
    Ok((name.to_string(), labels, value))
}

/// A label value up to its closing quote, unescaped; the rest of the line.
fn quoted(text: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[i + 1..])),
            '\\' => match chars.next().map(|(_, c)| c) {
                Some('\\') => value.push('\\'),
                Some('"') => value.push('"'),
                Some('n') => value.push('\n'),
                other => return Err(format!("bad escape \\{other:?}")),
            },
            '\n' => return Err("a raw newline in a label value".into()),
            c => value.push(c),
        }
    }
    Err("an unclosed label value".into())
}

fn check_name(name: &str) -> Result<(), String> {
    let valid = name
        .chars()
        .enumerate()
        .all(|(i, c)| c == '_' || c == ':' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
    if name.is_empty() || !valid {
        return Err(format!("bad metric name {name:?}"));
    }
    Ok(())
}

/// Help text escapes only `\\` and `\n`.
fn check_help(text: &str) -> Result<(), String> {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && !matches!(chars.next(), Some('\\' | 'n')) {
            return Err("a bad escape in the help".into());
        }
    }
    Ok(())
}

/// Go's ParseFloat as the format uses it.
fn float(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ if text.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c)) => text.parse().ok(),
        _ => None,
    }
}

/// Cumulative buckets, non-decreasing, ending in `+Inf` = `_count`.
fn check_histograms(samples: &[Series]) -> Result<(), String> {
    type Bounds = Vec<(f64, f64)>;
    let mut buckets: HashMap<(String, Labels), Bounds> = HashMap::new();
    let mut counts = HashMap::new();
    for Series { name, labels, value, kind } in samples {
        if kind != "histogram" {
            continue;
        }
        if let Some(base) = name.strip_suffix("_bucket") {
            let le = labels.iter().find(|(k, _)| k == "le").ok_or(format!("{name} without le"))?;
            let bound = float(&le.1).ok_or(format!("bad le {:?}", le.1))?;
            let rest: Vec<_> = labels.iter().filter(|(k, _)| k != "le").cloned().collect();
            buckets.entry((base.to_string(), rest)).or_default().push((bound, *value));
        } else if let Some(base) = name.strip_suffix("_count") {
            counts.insert((base.to_string(), labels.clone()), *value);
        }
    }
    for (key, list) in &buckets {
        let ordered = list.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
        let last = list.last().copied();
        if !ordered
            || last.map(|l| l.0) != Some(f64::INFINITY)
            || last.map(|l| l.1) != counts.get(key).copied()
        {
            return Err(format!("histogram {key:?}: buckets {list:?}, count {:?}", counts.get(key)));
        }
    }
    Ok(())
}
