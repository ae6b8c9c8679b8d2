//! `staymesh config`: every setting with its variable, default and meaning,
//! read from the CLI's own definitions, so the table in README.md is
//! generated (`staymesh config --markdown`) and a test catches any drift.

use std::collections::BTreeSet;

/// Variables read outside the CLI.
const OUTSIDE_CLI: &[(&str, &str, &str)] = &[
    (
        "RUST_LOG",
        "`info`",
        "Log filter (`tracing` EnvFilter syntax)",
    ),
    (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "unset",
        "Export traces over OTLP when set",
    ),
];

/// One row per variable of `command` and its subcommands, sorted by variable.
pub(crate) fn render(command: &clap::Command, markdown: bool) -> String {
    let mut rows = BTreeSet::new();
    collect(command, &mut rows);
    for (variable, default, meaning) in OUTSIDE_CLI {
        rows.insert((
            (*variable).to_owned(),
            (*default).to_owned(),
            (*meaning).to_owned(),
        ));
    }
    let mut out = String::new();
    if markdown {
        out.push_str("| variable | default | meaning |\n|---|---|---|\n");
    }
    for (variable, default, meaning) in rows {
        if markdown {
            out.push_str(&format!("| `{variable}` | {default} | {meaning} |\n"));
        } else {
            out.push_str(&format!(
                "{variable}={}\n    {meaning}\n",
                default.trim_matches('`')
            ));
        }
    }
    out
}

fn collect(command: &clap::Command, rows: &mut BTreeSet<(String, String, String)>) {
    for arg in command.get_arguments() {
        let Some(env) = arg.get_env() else { continue };
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let default = match defaults.as_slice() {
            [] => "unset".to_owned(),
            [one] if one.is_empty() => "empty".to_owned(),
            many => format!("`{}`", many.join(",")),
        };
        let meaning = arg
            .get_help()
            .map(|h| h.to_string().replace('\n', " ").replace('|', "\\|"))
            .unwrap_or_default();
        rows.insert((env.to_string_lossy().into_owned(), default, meaning));
    }
    for sub in command.get_subcommands() {
        collect(sub, rows);
    }
}
