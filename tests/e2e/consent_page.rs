//! The scripted browser's eyes on a consent page, for every Rust test that
//! signs in: the end-to-end tests (`tests/e2e`), the demo binary's own tests
//! (`src/bin/server/demo/tests.rs`) and the rmcp client
//! (`tests/clients/rmcp`, which includes this file by `#[path]`, so it uses
//! only `std`). It reads the page of either server: the native demo server
//! (every authorization parameter as a hidden field, `csrf_token`, buttons
//! named `action`) and the Worker (hidden `authz` and `csrf`, buttons named
//! `decision`). The HTTP client around it is the caller's.
#![allow(dead_code)]

/// What a browser sends back from a consent page.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsentForm {
    /// The form's `action` attribute, unresolved (`None`: the page's own URL).
    pub action: Option<String>,
    /// The hidden fields, in page order, unescaped.
    pub fields: Vec<(String, String)>,
    /// The submit buttons as `(name, value)`, e.g. `("action", "approve")`.
    pub buttons: Vec<(String, String)>,
}

impl ConsentForm {
    /// Reads the first form of `html`.
    pub fn parse(html: &str) -> Result<Self, String> {
        let form = tags(html, "form").into_iter().next().ok_or("consent page: no form")?;
        let mut fields = Vec::new();
        for input in tags(html, "input") {
            if attribute(input, "type").as_deref() != Some("hidden") {
                continue;
            }
            let name = attribute(input, "name").ok_or("consent page: a hidden input without a name")?;
            fields.push((name, attribute(input, "value").unwrap_or_default()));
        }
        let buttons = tags(html, "button")
            .into_iter()
            .filter_map(|button| Some((attribute(button, "name")?, attribute(button, "value")?)))
            .collect();
        Ok(ConsentForm { action: attribute(form, "action"), fields, buttons })
    }

    /// The form body a browser posts when the button with value `decision`
    /// (`approve` or `deny`) is pressed: the hidden fields, then the button.
    pub fn press(&self, decision: &str) -> Result<Vec<(String, String)>, String> {
        let button = self
            .buttons
            .iter()
            .find(|(_, value)| value == decision)
            .ok_or_else(|| format!("consent page: no {decision:?} button"))?;
        let mut pairs = self.fields.clone();
        pairs.push(button.clone());
        Ok(pairs)
    }

    /// The value of the hidden field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// The `Cookie` header a browser sends back for these `Set-Cookie` values.
pub fn cookie_header<'a>(set_cookies: impl IntoIterator<Item = &'a str>) -> String {
    let pairs: Vec<&str> =
        set_cookies.into_iter().map(|c| c.split(';').next().unwrap_or("").trim()).collect();
    pairs.join("; ")
}

/// The text of an HTML page, tags dropped and whitespace folded, at most 400
/// characters: what an error message shows of a page that was not expected.
pub fn page_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(400).collect()
}

/// Text with HTML character references (named, decimal, hex) decoded.
pub fn unescape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if entity.starts_with("#x") || entity.starts_with("#X") => {
                u32::from_str_radix(&entity[2..], 16).ok().and_then(char::from_u32)
            }
            _ if entity.starts_with('#') => entity[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The value of `name="…"` in one tag, unescaped.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let mut from = 0;
    while let Some(at) = tag[from..].find(&needle) {
        let start = from + at;
        if start > 0 && tag.as_bytes()[start - 1].is_ascii_whitespace() {
            let value_start = start + needle.len();
            let end = tag[value_start..].find('"')? + value_start;
            return Some(unescape_html(&tag[value_start..end]));
        }
        from = start + needle.len();
    }
    None
}

/// Every `<NAME …>` opening tag in `html` (case-insensitive name).
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{name}");
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find(&open) {
        let start = from + at;
        let after = lower.as_bytes().get(start + open.len()).copied().unwrap_or(b'>');
        let Some(end) = lower[start..].find('>').map(|e| start + e + 1) else { break };
        if after.is_ascii_whitespace() || after == b'>' || after == b'/' {
            found.push(&html[start..end]);
        }
        from = end;
    }
    found
}
