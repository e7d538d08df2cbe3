//! The picture of a run: each figure's ratio to its ceiling, beside the ratio aimed at.

use std::path::Path;

use plotters::prelude::*;

use crate::report::Row;

pub fn write(path: &Path, title: &str, rows: &[Row]) -> anyhow::Result<()> {
    let height = 80 + 60 * rows.len() as u32;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let max = rows
        .iter()
        .map(|r| r.ratio.max(r.target))
        .fold(1.0, f64::max)
        * 1.1;
    let labels: Vec<String> = rows.iter().map(|r| r.figure.clone()).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(330)
        .build_cartesian_2d(0.0..max, 0..rows.len())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("ratio to the ceiling (latency row: loaded p99 / quiet p99)")
        .y_labels(rows.len())
        .y_label_formatter(&|i| labels.get(*i).cloned().unwrap_or_default())
        .draw()?;
    chart.draw_series(rows.iter().enumerate().map(|(i, r)| {
        let met = match r.target {
            0.0 => true,
            t if r.unit == "ms" => r.ratio <= t,
            t => r.ratio >= t,
        };
        let colour = if met { GREEN.mix(0.7) } else { RED.mix(0.7) };
        Rectangle::new([(0.0, i), (r.ratio, i + 1)], colour.filled())
    }))?;
    chart.draw_series(
        rows.iter()
            .enumerate()
            .filter(|(_, r)| r.target > 0.0)
            .map(|(i, r)| {
                PathElement::new(
                    vec![(r.target, i), (r.target, i + 1)],
                    BLACK.stroke_width(3),
                )
            }),
    )?;
    root.present()?;
    Ok(())
}
