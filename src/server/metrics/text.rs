//! The Prometheus text exposition format, version 0.0.4: `# HELP` and
//! `# TYPE` before each family's samples, label values and help escaped.

use std::fmt::{Display, Write as _};

/// The `Content-Type` of the format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A page being written.
#[derive(Debug, Default)]
pub(super) struct Exposition {
    text: String,
}

impl Exposition {
    /// Starts a family: its help and its type (`counter`, `gauge`, `histogram`).
    pub(super) fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// One sample of the current family.
    pub(super) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let value = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
                let _ = write!(self.text, "{label}=\"{value}\"");
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }

    pub(super) fn finish(self) -> String {
        self.text
    }
}

/// A float as the format writes it (`+Inf`, `NaN`, else Rust's shortest
/// round-trip form, which never uses an exponent the format cannot read).
pub(super) fn float(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value == f64::INFINITY {
        "+Inf".into()
    } else if value == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_help_and_label_values() {
        let mut page = Exposition::default();
        page.family("m", "counter", "a \\ b\nc");
        page.sample("m", &[("route", "/a\"b\\c\nd"), ("status", "200")], 3);
        page.sample("m", &[], float(f64::INFINITY));
        assert_eq!(
            page.finish(),
            "# HELP m a \\\\ b\\nc\n# TYPE m counter\nm{route=\"/a\\\"b\\\\c\\nd\",status=\"200\"} 3\nm +Inf\n"
        );
        assert_eq!(float(0.005), "0.005");
        assert_eq!(float(f64::NAN), "NaN");
    }
}
