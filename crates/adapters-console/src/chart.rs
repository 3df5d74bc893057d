//! The overview's chart, drawn on the server as inline SVG: two bars a day (sign-ups and
//! redemptions) over 30 days. It holds only numbers and dates that this code formats, never
//! text from a client, so it can be inserted unescaped.

use domain::overview::DailyActivity;
use std::fmt::Write as _;

const WIDTH: u64 = 720;
const HEIGHT: u64 = 200;
const PAD: u64 = 24;

/// The SVG, with a title and description for screen readers (the page also has the numbers
/// as a table).
#[must_use]
pub fn activity_svg(days: &[DailyActivity]) -> String {
    let max = days
        .iter()
        .flat_map(|day| [day.sign_ups.value, day.redemptions.value])
        .max()
        .unwrap_or(0)
        .max(1);
    let count = u64::try_from(days.len()).unwrap_or(1).max(1);
    let slot = (WIDTH - 2 * PAD) / count;
    let bar = (slot / 2).saturating_sub(1).max(1);
    let plot = HEIGHT - 2 * PAD;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title chart-desc" class="chart"><title id="chart-title">Sign-ups and redemptions per day</title><desc id="chart-desc">Daily sign-ups (dark bars) and license redemptions (light bars) over the last {count} days; the largest day had {max}.</desc>"#
    );
    let _ = write!(
        svg,
        r#"<line x1="{PAD}" y1="{y}" x2="{x2}" y2="{y}" class="axis"/>"#,
        y = HEIGHT - PAD,
        x2 = WIDTH - PAD
    );
    for (i, day) in (0_u64..).zip(days) {
        let x = PAD + i * slot;
        for (offset, value, class) in [
            (0, day.sign_ups.value, "sign-ups"),
            (bar + 1, day.redemptions.value, "redemptions"),
        ] {
            let height = value.saturating_mul(plot) / max;
            let _ = write!(
                svg,
                r#"<rect x="{}" y="{}" width="{bar}" height="{height}" class="{class}"><title>{}: {value} {}</title></rect>"#,
                x + offset,
                HEIGHT - PAD - height,
                day.day.format("%Y-%m-%d"),
                class.replace('-', " "),
            );
        }
    }
    let _ = write!(
        svg,
        r#"<text x="{PAD}" y="{PAD}" class="label">{max}</text><text x="{PAD}" y="{}" class="label">{}</text><text x="{}" y="{}" class="label" text-anchor="end">{}</text></svg>"#,
        HEIGHT - 6,
        days.first()
            .map(|d| d.day.format("%b %d").to_string())
            .unwrap_or_default(),
        WIDTH - PAD,
        HEIGHT - 6,
        days.last()
            .map(|d| d.day.format("%b %d").to_string())
            .unwrap_or_default(),
    );
    svg
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use domain::overview::Count;

    #[test]
    fn the_chart_scales_to_the_largest_day_and_draws_two_bars_a_day() {
        let day = |n: u32, s: u64| DailyActivity {
            day: chrono::NaiveDate::from_ymd_opt(2026, 12, n).unwrap(),
            sign_ups: Count::of(s, 10_000),
            redemptions: Count::of(1, 10_000),
        };
        let svg = activity_svg(&[day(1, 0), day(2, 4)]);
        assert_eq!(svg.matches("<rect").count(), 4);
        assert!(svg.contains("2026-12-02: 4 sign ups"));
        assert!(svg.contains(&format!("height=\"{}\"", HEIGHT - 2 * PAD)));
    }
}
