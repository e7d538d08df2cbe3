//! The table: each figure beside its ceiling, printed and written as Markdown and JSON.

use std::path::Path;

use serde::Serialize;

use crate::load::Sample;
use crate::ms;

#[derive(Serialize)]
pub struct Row {
    pub figure: String,
    pub value: f64,
    pub unit: &'static str,
    pub ceiling: f64,
    pub ceiling_of: String,
    pub ratio: f64,
    /// The ratio aimed at (≥ for rates, ≤ for the latency ratio); 0: none set.
    pub target: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: usize,
}

impl Row {
    pub fn rate(figure: &str, sample: &Sample, ceiling: f64, ceiling_of: &str, target: f64) -> Row {
        Row {
            figure: figure.to_owned(),
            value: sample.rate(),
            unit: "/s",
            ceiling,
            ceiling_of: ceiling_of.to_owned(),
            ratio: sample.rate() / ceiling,
            target,
            p50_ms: ms(sample.percentile(50.0)),
            p99_ms: ms(sample.percentile(99.0)),
            errors: sample.errors,
        }
    }

    pub fn against(
        figure: &str,
        sample: &Sample,
        ceiling: &Sample,
        ceiling_of: &str,
        target: f64,
    ) -> Row {
        Row::rate(figure, sample, ceiling.rate(), ceiling_of, target)
    }

    /// CPU milliseconds an operation costs besides its core work (`of_which`: the part
    /// spent in the database server), against the core work's own CPU milliseconds.
    /// No target: it says where the rest of a ratio's gap goes.
    pub fn cpu(figure: &str, besides: f64, of_which: f64, core_work: f64, work: &str) -> Row {
        Row {
            figure: figure.to_owned(),
            value: besides,
            unit: "ms",
            ceiling: core_work,
            ceiling_of: format!("CPU of {work}; database {of_which:.2} ms"),
            ratio: besides / core_work,
            target: 0.0,
            p50_ms: 0.0,
            p99_ms: 0.0,
            errors: 0,
        }
    }

    /// Milliseconds of `whole` (mean ms, `whole_of`) spent in a part of it.
    pub fn part(figure: &str, part: f64, whole: f64, whole_of: String) -> Row {
        Row {
            figure: figure.to_owned(),
            value: part,
            unit: "ms",
            ceiling: whole,
            ceiling_of: whole_of,
            ratio: part / whole,
            target: 0.0,
            p50_ms: 0.0,
            p99_ms: 0.0,
            errors: 0,
        }
    }

    /// A p99 under load against the same p99 when quiet.
    pub fn latency(figure: &str, loaded: &Sample, quiet: &Sample, target: f64) -> Row {
        let (p99, quiet_p99) = (ms(loaded.percentile(99.0)), ms(quiet.percentile(99.0)));
        Row {
            figure: figure.to_owned(),
            value: p99,
            unit: "ms",
            ceiling: quiet_p99,
            ceiling_of: "p99 when quiet".to_owned(),
            ratio: p99 / quiet_p99,
            target,
            p50_ms: ms(loaded.percentile(50.0)),
            p99_ms: p99,
            errors: loaded.errors,
        }
    }
}

#[derive(Serialize)]
pub struct Machine {
    pub date: String,
    pub cores: usize,
    pub cpu: String,
    pub database: &'static str,
}

impl Machine {
    pub fn here(cores: usize, database_url: &str) -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        Machine {
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            cores,
            cpu,
            database: if database_url.starts_with("postgres") {
                "PostgreSQL"
            } else {
                "SQLite"
            },
        }
    }
}

fn markdown(machine: &Machine, rows: &[Row]) -> String {
    let mut text = format!(
        "Run {} on {} cores ({}), {}.\n\n| figure | value | ceiling | ratio | target | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|---|---|\n",
        machine.date, machine.cores, machine.cpu, machine.database
    );
    for r in rows {
        let target = match r.target {
            0.0 => "–".to_owned(),
            t if r.unit == "ms" => format!("≤ {t}"),
            t => format!("≥ {t}"),
        };
        text.push_str(&format!(
            "| {} | {:.1} {} | {:.1} {} ({}) | {:.2} | {} | {:.1} | {:.1} | {} |\n",
            r.figure,
            r.value,
            r.unit,
            r.ceiling,
            r.unit,
            r.ceiling_of,
            r.ratio,
            target,
            r.p50_ms,
            r.p99_ms,
            r.errors
        ));
    }
    text
}

pub fn print(machine: &Machine, rows: &[Row]) {
    println!("{}", markdown(machine, rows));
}

pub fn write(dir: &Path, machine: &Machine, rows: &[Row]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("latest.md"), markdown(machine, rows))?;
    let json = serde_json::json!({ "machine": machine, "rows": rows });
    std::fs::write(
        dir.join("latest.json"),
        serde_json::to_string_pretty(&json)? + "\n",
    )?;
    let title = format!(
        "ExamFee against its ceilings: {} cores, {}, {}",
        machine.cores, machine.database, machine.date
    );
    crate::chart::write(&dir.join("latest.svg"), &title, rows)?;
    Ok(())
}
