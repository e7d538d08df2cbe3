//! Small SVG charts for the dashboard, drawn here (no chart service, no script
//! library): a bar chart of labelled values. Each chart carries its numbers as a table
//! too, for screen readers and for reading exact values.

use examfee_web::i18n::{Text, tx};
use leptos::prelude::*;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 64.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;

/// A round upper bound of the axis: 1, 2 or 5 times a power of ten.
pub fn axis_max(max: i64) -> i64 {
    let max = max.max(1);
    let mut step = 1i64;
    loop {
        for m in [1, 2, 5] {
            if step.saturating_mul(m) >= max {
                return step * m;
            }
        }
        step = step.saturating_mul(10);
    }
}

/// Bars of `points` (label, value), values shown with `format`. Labels are thinned
/// out when there are many, so they never overlap.
#[component]
pub fn BarChart(
    id: String,
    title: Text,
    points: Vec<(String, i64)>,
    format: fn(i64) -> String,
    #[prop(optional)] label_head: Option<Text>,
    /// The least top of the axis, so that an empty or small chart still has four
    /// distinct grid lines (4 for counts, ¥100 for money).
    #[prop(default = 4)]
    floor: i64,
) -> impl IntoView {
    let empty = points.is_empty();
    let top = axis_max(points.iter().map(|p| p.1).max().unwrap_or(0).max(floor));
    let n = points.len().max(1) as f64;
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / n;
    let every = (points.len() / 12).max(1);
    let title_id = format!("{id}-title");
    let (figure_label, caption_id) = (title_id.clone(), title_id.clone());
    let bars = points
        .iter()
        .enumerate()
        .map(|(i, (label, value))| {
            let h = plot_h * (*value as f64) / (top as f64);
            let x = LEFT + slot * i as f64 + slot * 0.15;
            let y = TOP + plot_h - h;
            let text = (i % every == 0).then(|| {
                view! {
                    <text x=format!("{:.1}", x + slot * 0.35) y=format!("{:.1}", HEIGHT - 8.0)
                        text-anchor="middle" class="axis">{label.clone()}</text>
                }
            });
            view! {
                <rect x=format!("{x:.1}") y=format!("{y:.1}") width=format!("{:.1}", slot * 0.7)
                    height=format!("{h:.1}") class="bar"></rect>
                {text}
            }
        })
        .collect_view();
    let grid = [0, 1, 2, 3, 4]
        .map(|k| {
            let value = top * k / 4;
            let y = TOP + plot_h - plot_h * k as f64 / 4.0;
            view! {
                <line x1=LEFT.to_string() x2=(WIDTH - 8.0).to_string() y1=format!("{y:.1}") y2=format!("{y:.1}") class="grid"/>
                <text x=(LEFT - 6.0).to_string() y=format!("{:.1}", y + 4.0) text-anchor="end" class="axis">{format(value)}</text>
            }
        })
        .into_iter()
        .collect_view();
    let rows = points
        .iter()
        .map(|(label, value)| view! { <tr><th scope="row">{label.clone()}</th><td class="num">{format(*value)}</td></tr> })
        .collect_view();
    view! {
        <figure class="chart" aria-labelledby=figure_label>
            <figcaption id=caption_id>{tx(title.clone())}</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-labelledby=title_id
                preserveAspectRatio="xMidYMid meet">
                {grid}
                {bars}
            </svg>
            {empty.then(|| view! { <p class="muted">{tx(Text::new("暂无数据", "No data yet"))}</p> })}
            <details>
                <summary>{tx(Text::new("数据表", "Data table"))}</summary>
                <table class="data">
                    <thead><tr>
                        <th scope="col">{label_head.map(tx)}</th>
                        <th scope="col" class="num">{tx(title)}</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(axis_max(0), 1);
        assert_eq!(axis_max(3), 5);
        assert_eq!(axis_max(7), 10);
        assert_eq!(axis_max(120), 200);
        assert_eq!(axis_max(1_500_000), 2_000_000);
    }
}
