//! SVG plots for the fidelity report (plotters): the age pyramid (generated vs census),
//! education by age, and the most common occupations (generated vs published).

use plotters::prelude::*;

use crate::error::{Error, Result};

fn plot_err(e: impl std::fmt::Display) -> Error {
    Error::Unsupported(format!("drawing a plot: {e}"))
}

/// Age pyramid: shares of all persons per (sex, age). `generated` and `census` hold
/// (age, male share, female share).
pub fn age_pyramid(generated: &[(i64, f64, f64)], census: &[(i64, f64, f64)]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let max = generated.iter().chain(census).map(|(_, m, f)| m.max(*f)).fold(0.0f64, f64::max) * 1.1;
        let (lo, hi) =
            (generated.iter().map(|r| r.0).min().unwrap_or(18), generated.iter().map(|r| r.0).max().unwrap_or(104));
        let mut chart = ChartBuilder::on(&root)
            .caption("Age pyramid: generated (bars) vs census (lines); left male, right female", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d(-max..max, lo as f64..(hi + 1) as f64)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("share of persons (%)")
            .y_desc("age")
            .x_label_formatter(&|x| format!("{:.2}", x.abs() * 100.0))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(generated.iter().flat_map(|(age, m, f)| {
                let a = *age as f64;
                [
                    Rectangle::new([(-m, a), (0.0, a + 0.9)], RGBColor(70, 130, 180).mix(0.6).filled()),
                    Rectangle::new([(0.0, a), (*f, a + 0.9)], RGBColor(205, 92, 92).mix(0.6).filled()),
                ]
            }))
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(census.iter().map(|(a, m, _)| (-m, *a as f64 + 0.45)), BLACK.stroke_width(2)))
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(census.iter().map(|(a, _, f)| (*f, *a as f64 + 0.45)), BLACK.stroke_width(2)))
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Education by age: for each level, its share within each age band, generated (solid) vs
/// published (dashed points). `bands` are labels; series are (level, generated, published).
pub fn education_by_age(bands: &[String], series: &[(String, Vec<f64>, Vec<f64>)]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 500)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let max = series.iter().flat_map(|(_, g, p)| g.iter().chain(p)).fold(0.0f64, |a, b| a.max(*b)) * 1.1;
        let mut chart = ChartBuilder::on(&root)
            .caption("Education by age band: generated (lines) vs ACS B15001 (circles)", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .right_y_label_area_size(10)
            .build_cartesian_2d(0f64..(bands.len().max(1) as f64 - 1.0), 0f64..max.max(0.01))
            .map_err(plot_err)?;
        let labels = bands.to_vec();
        chart
            .configure_mesh()
            .x_labels(bands.len())
            .x_label_formatter(&move |x| labels.get(x.round() as usize).cloned().unwrap_or_default())
            .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
            .y_desc("share of the age band")
            .draw()
            .map_err(plot_err)?;
        for (i, (level, generated, published)) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(
                    generated.iter().enumerate().map(|(x, y)| (x as f64, *y)),
                    color.stroke_width(2),
                ))
                .map_err(plot_err)?
                .label(level.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
            chart
                .draw_series(
                    published.iter().enumerate().map(|(x, y)| Circle::new((x as f64, *y), 4, color.stroke_width(1))),
                )
                .map_err(plot_err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// The most common occupations: (occupation, generated share, published share) of the
/// employed, as horizontal bars (generated) with published markers.
pub fn top_occupations(rows: &[(String, f64, f64)]) -> Result<String> {
    let mut svg = String::new();
    {
        let height = 80 + 24 * rows.len() as u32;
        let root = SVGBackend::with_string(&mut svg, (900, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let max = rows.iter().map(|(_, g, p)| g.max(*p)).fold(0.0f64, f64::max) * 1.1;
        let n = rows.len() as f64;
        // Bars take the left part; each occupation's name follows its bar.
        let mut chart = ChartBuilder::on(&root)
            .caption("Top occupations of the employed: generated (bars) vs ACS B24115/B24116 (|)", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(10)
            .build_cartesian_2d(0f64..max.max(0.001) * 2.2, 0f64..n)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .x_label_formatter(&|x| format!("{:.1}%", x * 100.0))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, (name, g, p))| {
                let y = n - 1.0 - i as f64;
                Text::new(name.clone(), (g.max(*p) + max * 0.02, y + 0.8), ("sans-serif", 12).into_font())
            }))
            .map_err(plot_err)?;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, (_, g, _))| {
                let y = n - 1.0 - i as f64;
                Rectangle::new([(0.0, y + 0.15), (*g, y + 0.85)], PALETTE[0].mix(0.7).filled())
            }))
            .map_err(plot_err)?;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, (_, _, p))| {
                let y = n - 1.0 - i as f64;
                PathElement::new(vec![(*p, y + 0.05), (*p, y + 0.95)], BLACK.stroke_width(3))
            }))
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// Horizontal bars, one per (label, value in 0..1), the value written as a percentage or a
/// ratio after its bar.
pub fn bars(title: &str, rows: &[(String, f64)]) -> Result<String> {
    let mut svg = String::new();
    {
        let height = 80 + 24 * rows.len() as u32;
        let root = SVGBackend::with_string(&mut svg, (900, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let max = rows.iter().map(|(_, v)| *v).filter(|v| v.is_finite()).fold(0.0f64, f64::max).max(0.001) * 1.1;
        let n = rows.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(10)
            .build_cartesian_2d(0f64..max * 2.2, 0f64..n.max(1.0))
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .x_label_formatter(&|x| format!("{:.1}%", x * 100.0))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, (_, v))| {
                let y = n - 1.0 - i as f64;
                Rectangle::new([(0.0, y + 0.15), (v.max(0.0), y + 0.85)], PALETTE[0].mix(0.7).filled())
            }))
            .map_err(plot_err)?;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, (label, v))| {
                let y = n - 1.0 - i as f64;
                Text::new(
                    format!("{label}: {:.1} %", v * 100.0),
                    (v.max(0.0) + max * 0.02, y + 0.8),
                    ("sans-serif", 12).into_font(),
                )
            }))
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}
