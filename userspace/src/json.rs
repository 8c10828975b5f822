//! JSON in and out, through `serde_json`: every `--json` output is one
//! `#[derive(Serialize)]` record, and `maptest field` reads such output
//! back for shell scripts (the guest tests), so no script parses JSON with
//! `sed`.

use serde::Serialize;
use std::io::{self, Read};

/// The record as one line of JSON.
pub fn line<T: Serialize>(record: &T) -> anyhow::Result<String> {
    Ok(serde_json::to_string(record)?)
}

/// Prints the record as one line of JSON on stdout.
pub fn print<T: Serialize>(record: &T) -> anyhow::Result<()> {
    println!("{}", line(record)?);
    Ok(())
}

/// The value of top-level field `name` of `object`, as a shell wants it:
/// strings without quotes, everything else as JSON.
pub fn field(object: &serde_json::Value, name: &str) -> Option<String> {
    match object.get(name)? {
        serde_json::Value::String(s) => Some(s.clone()),
        v => Some(v.to_string()),
    }
}

/// `maptest field NAME...`: reads one JSON object on stdin (the last line
/// that is one, so a command's text output before its JSON summary is
/// skipped) and prints each named field's value on a line of its own.
/// A missing field or no object at all is an error.
pub fn print_fields(names: &[String]) -> anyhow::Result<bool> {
    let mut text = String::new();
    io::stdin().read_to_string(&mut text)?;
    let object = text
        .lines()
        .rev()
        .find_map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .filter(|v| v.is_object())
        })
        .ok_or_else(|| anyhow::Error::msg("field: no JSON object on stdin"))?;
    for name in names {
        let value = field(&object, name)
            .ok_or_else(|| anyhow::Error::msg(format!("field: no field '{name}' in {object}")))?;
        println!("{value}");
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_as_a_shell_wants_them() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"ok":3,"name":"a \"b\"","list":[1,2],"yes":true}"#).unwrap();
        assert_eq!(field(&v, "ok").as_deref(), Some("3"));
        assert_eq!(field(&v, "name").as_deref(), Some("a \"b\""));
        assert_eq!(field(&v, "list").as_deref(), Some("[1,2]"));
        assert_eq!(field(&v, "yes").as_deref(), Some("true"));
        assert_eq!(field(&v, "missing"), None);
    }

    #[test]
    fn records_are_escaped() {
        #[derive(Serialize)]
        struct R<'a> {
            s: &'a str,
        }
        assert_eq!(line(&R { s: "q\"\n" }).unwrap(), r#"{"s":"q\"\n"}"#);
    }
}
