//! Marital status and children of the Japan pack: marital status by sex × age band (Census
//! 2020, 不詳補完値), children by marital status from the cohorts' childlessness (IPSS anchors
//! net of the census's never married), and the `marital_status` label Nemotron-Personas-Japan
//! writes ("既婚 (子供あり)").

use std::collections::BTreeMap;
use std::path::Path;

use super::{num, Rows, AGE_BANDS, FEMALE, MALE, MARITAL, SEXES};
use crate::derive::{derr, field, read_csv, write_table, SourceSpec, TableRecord};
use crate::error::Result;

pub(super) const MARITAL_TABLE: SourceSpec<'static> = SourceSpec {
    id: "census2020_marital_status_sex_age5",
    path: "datasets/jp/sources/census2020_marital_status_by_sex_age5_national.csv",
    publisher: "総務省統計局, e-Stat DB 0003410382 (国勢調査 時系列)",
    table: "配偶関係（4区分），年齢（5歳階級），男女別15歳以上人口 － 全国 (2020 rows, reshaped)",
    vintage: "Census 2020, 不詳補完値",
    licence: "政府標準利用規約 2.0 (CC BY 4.0 compatible)",
    carrier: "ijokarumawak/elastic-stack-hands-on@ba0dbd4f3d6f:logstash/0003410382.csv (see datasets/jp/sources/PROVENANCE.md)",
};
pub const CHILDLESS: SourceSpec<'static> = SourceSpec {
    id: "childlessness_japan_anchors",
    path: "datasets/jp/sources/h2_childlessness_japan_published_anchors.csv",
    publisher: "IPSS National Fertility Surveys (via PLOS ONE 2022) and the OECD Family Database (SF2.5)",
    table: "Share with no children at completed fertility by sex and birth cohort (published anchors)",
    vintage: "cohorts 1935-1975",
    licence: "CC BY 4.0 (PLOS ONE); OECD terms (figures quoted)",
    carrier: "see datasets/jp/sources/h2_PROVENANCE.md",
};
pub const MARITAL_SERIES: SourceSpec<'static> = SourceSpec {
    id: "census_ts_marital_status_sex_age5",
    path: "datasets/jp/sources/census_ts_0003410382_marital_status_by_sex_age5_national_1920_2020.csv",
    publisher: "総務省統計局, e-Stat DB 0003410382 (国勢調査 時系列)",
    table: "配偶関係（4区分），年齢（5歳階級），男女別15歳以上人口 － 全国, 1920-2020",
    vintage: "Censuses 1920-2020",
    licence: "政府標準利用規約 2.0 (CC BY 4.0 compatible)",
    carrier: "see datasets/jp/sources/PROVENANCE.md §1",
};

/// Writes `marital_model.csv`, `children_model.csv` and `marital_status_model.csv` with their
/// choices.
pub(super) fn write(
    raw_dir: &Path,
    out_dir: &Path,
    tables: &mut Vec<TableRecord>,
    choices: &mut Vec<String>,
) -> Result<()> {
    // Marital status by sex × age band (national; no prefecture split was found).
    let marital = marital(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "marital_model.csv",
        &["sex", "age_band", "marital", "weight"],
        &marital,
        &[MARITAL_TABLE.id],
        "Census 2020 不詳補完値 (the Bureau's imputed series, no unknown status): persons 15+ by sex × 5-year age \
         group × 未婚/有配偶/離別/死別, national; 有配偶 -> 既婚; the 15-19 group's rates serve ages 18-19. \
         Weight = persons.",
    )?);
    choices.push(
        "Marital status by sex and age is national (Census 2020, imputed series): the census table by prefecture \
         (第4-3表) was not found in a form we can read, so every prefecture takes the national rates for its \
         sex and age."
            .into(),
    );

    // Children, and marital status as Nemotron-Personas-Japan writes it.
    let (children, notes) = children_rows(&childless_anchors(raw_dir)?, &never_married_45_49(raw_dir)?)?;
    tables.push(write_table(
        out_dir,
        "children_model.csv",
        &["sex", "age_band", "marital", "children", "weight"],
        &children,
        &[CHILDLESS.id, MARITAL_SERIES.id],
        "Never married: no children. Ever married (既婚, 離別, 死別): childless with the share of their birth cohort \
         (2020 minus the band's middle age), from the IPSS anchors (share with no children at 40-49, cohorts \
         1943-48 and 1971-75) net of the never married at 45-49 in the census nearest the cohort's late forties, \
         interpolated linearly by birth year between the two cohorts and held outside them. Weight = share × 10^6.",
    )?);
    choices.push(format!(
        "Children (the `(子供あり)` of marital_status): no table gives children by marital status, sex and age. \
         The never married have none (births outside marriage are about 2 % in Japan; not modelled). The ever \
         married are childless with their cohort's share: {}. The share is held at the 1971-75 cohort's for \
         younger persons, so young couples who have not had children yet are undercounted.",
        notes.join("; ")
    ));
    tables.push(write_table(
        out_dir,
        "marital_status_model.csv",
        &["marital", "children", "marital_status", "weight"],
        &marital_status_rows(),
        &[MARITAL_TABLE.id],
        "Deterministic: marital_status = marital, with ' (子供あり)' when children = あり (Nemotron-Personas-Japan's \
         labels).",
    )?);
    Ok(())
}

/// Marital status rows (sex, age band, marital, persons) from the imputed 2020 series.
pub(super) fn marital(raw_dir: &Path) -> Result<Rows> {
    let path = MARITAL_TABLE.path;
    let mut rows = Vec::new();
    for row in read_csv(raw_dir, path)? {
        if field(&row, "basis", path)? != "imputed" {
            continue;
        }
        let sex = field(&row, "sex", path)?;
        if !SEXES.contains(&sex) {
            return Err(derr(path, format!("unknown sex `{sex}`")));
        }
        let band = match field(&row, "age_group", path)? {
            "15-19" => "18-19",
            other => match AGE_BANDS.iter().find(|(label, _, _)| *label == other) {
                Some((label, _, _)) => *label,
                None => return Err(derr(path, format!("unknown age group `{other}`"))),
            },
        };
        for (label, column) in MARITAL {
            let value = field(&row, column, path)?;
            let persons: u64 = value.parse().map_err(|_| derr(path, format!("`{column}` is `{value}`")))?;
            rows.push(vec![sex.into(), band.into(), label.into(), persons.to_string()]);
        }
    }
    if rows.len() != SEXES.len() * AGE_BANDS.len() * MARITAL.len() {
        return Err(derr(
            path,
            format!("expected every sex × age band of the imputed series, got {} cells", rows.len()),
        ));
    }
    Ok(rows)
}

/// Never-married share at 45-49 by (sex, census year) from the census time series.
pub fn never_married_45_49(raw_dir: &Path) -> Result<BTreeMap<(&'static str, u32), f64>> {
    let path = MARITAL_SERIES.path;
    let full = super::super::source_path(raw_dir, path);
    let text = std::fs::read_to_string(&full)
        .map_err(|e| crate::error::Error::io(format!("reading {}", full.display()), e))?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    // Persons of known status (the four statuses; 総数 may hold unknowns) and the never married.
    let mut known: BTreeMap<(&'static str, u32), f64> = BTreeMap::new();
    let mut never: BTreeMap<(&'static str, u32), f64> = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| derr(path, e.to_string()))?;
        let c: Vec<&str> = record.iter().collect();
        // "1060","実数","110","男","<age code>","<age>","<marital code>","<marital>","<year code>","<year>","人","<value>"
        if c.len() < 12 || c[1] != "実数" || c[5] != "45〜49歳" {
            continue;
        }
        let sex = match c[3] {
            "男" => MALE,
            "女" => FEMALE,
            _ => continue,
        };
        // Plain census years only ("2015年"; the imputed series "2015年_不詳補完値" is left out).
        let Ok(year) = c[9].trim_end_matches('年').parse::<u32>() else { continue };
        let Ok(value) = c[11].replace(',', "").parse::<f64>() else { continue };
        match c[7] {
            "未婚" => {
                never.insert((sex, year), value);
                *known.entry((sex, year)).or_default() += value;
            }
            "有配偶" | "死別" | "離別" => *known.entry((sex, year)).or_default() += value,
            _ => {}
        }
    }
    let out: BTreeMap<(&'static str, u32), f64> =
        never.iter().filter_map(|(k, n)| known.get(k).filter(|t| **t > 0.0).map(|t| (*k, n / t))).collect();
    if out.is_empty() {
        return Err(derr(path, "no 45-49 rows with 総数 and 未婚"));
    }
    Ok(out)
}

/// Childlessness anchors from the research source (IPSS surveys): (sex, first birth year of
/// the cohort, last, share with no children).
pub fn childless_anchors(raw_dir: &Path) -> Result<Vec<(&'static str, u32, u32, f64)>> {
    let path = CHILDLESS.path;
    let mut out = Vec::new();
    for row in read_csv(raw_dir, path)? {
        if !field(&row, "quality", path)?.starts_with("research") {
            continue;
        }
        let sex = match field(&row, "sex", path)? {
            "男" => MALE,
            "女" => FEMALE,
            other => return Err(derr(path, format!("unknown sex `{other}`"))),
        };
        let cohort = field(&row, "birth_cohort", path)?;
        let (a, b) = cohort.split_once('-').ok_or_else(|| derr(path, format!("cohort `{cohort}`")))?;
        let a: u32 = a.parse().map_err(|_| derr(path, format!("cohort `{cohort}`")))?;
        let b: u32 = b.parse().map_err(|_| derr(path, format!("cohort `{cohort}`")))?;
        out.push((sex, a, b, num(path, "value_pct", field(&row, "value_pct", path)?)? / 100.0));
    }
    if out.len() != 4 {
        return Err(derr(path, format!("expected two cohorts per sex from the IPSS surveys, got {}", out.len())));
    }
    Ok(out)
}

/// The children table (sex, age_band, marital, children, weight): never married persons have
/// none; of the ever married, the childless share of their birth cohort, from the IPSS anchors
/// net of the never married at 45-49 in the census nearest the cohort's late forties,
/// interpolated between the anchor cohorts by birth year and held outside them.
pub fn children_rows(
    anchors: &[(&'static str, u32, u32, f64)],
    never_married: &BTreeMap<(&'static str, u32), f64>,
) -> Result<(Rows, Vec<String>)> {
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for sex in SEXES {
        let mut points: Vec<(f64, f64)> = Vec::new();
        for (s, a, b, childless) in anchors.iter().filter(|x| x.0 == sex) {
            let mid = (*a + *b) as f64 / 2.0;
            let census = ((mid + 47.0) / 5.0).round() as u32 * 5;
            let nm = *never_married
                .get(&(s, census))
                .ok_or_else(|| derr(MARITAL_SERIES.path, format!("no {census} never-married share for {s} 45-49")))?;
            let q = ((childless - nm) / (1.0 - nm)).clamp(0.0, 1.0);
            notes.push(format!(
                "{s} born {a}-{b}: {:.1} % childless, {:.1} % never married at 45-49 in {census} → {:.1} % of the ever married childless",
                childless * 100.0,
                nm * 100.0,
                q * 100.0
            ));
            points.push((mid, q));
        }
        points.sort_by(|x, y| x.0.total_cmp(&y.0));
        let [(x0, q0), (x1, q1)] = points.as_slice() else {
            return Err(derr(CHILDLESS.path, format!("expected two anchor cohorts for {sex}")));
        };
        for (band, lo, hi) in AGE_BANDS {
            let mid_age = if band == "85+" { 88.0 } else { (lo + hi) as f64 / 2.0 };
            let birth = 2020.0 - mid_age;
            let t = ((birth - x0) / (x1 - x0)).clamp(0.0, 1.0);
            let q = q0 + t * (q1 - q0);
            for (marital, _) in super::MARITAL {
                let (none, some) = if marital == "未婚" { (1.0, 0.0) } else { (q, 1.0 - q) };
                for (flag, w) in [("なし", none), ("あり", some)] {
                    if w > 0.0 {
                        rows.push(vec![
                            sex.into(),
                            band.into(),
                            marital.into(),
                            flag.into(),
                            format!("{:.0}", w * 1e6),
                        ]);
                    }
                }
            }
        }
    }
    Ok((rows, notes))
}

/// The deterministic marital_status table (marital, children, marital_status, weight), as
/// Nemotron-Personas-Japan writes it: "既婚 (子供あり)", "未婚".
pub fn marital_status_rows() -> Rows {
    let mut rows = Vec::new();
    for (marital, _) in super::MARITAL {
        for flag in ["なし", "あり"] {
            if marital == "未婚" && flag == "あり" {
                continue;
            }
            let label = if flag == "あり" { format!("{marital} (子供あり)") } else { marital.to_string() };
            rows.push(vec![marital.into(), flag.into(), label, "1".into()]);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marital_status_labels_carry_the_children_flag() {
        let rows = marital_status_rows();
        assert!(rows.iter().any(|r| r[2] == "既婚 (子供あり)"));
        assert!(!rows.iter().any(|r| r[0] == "未婚" && r[1] == "あり"));
        assert_eq!(rows.len(), 7);
    }

    #[test]
    fn the_never_married_have_no_children_and_the_married_mostly_do() {
        let anchors = [
            (MALE, 1943, 1948, 0.143),
            (MALE, 1971, 1975, 0.399),
            (FEMALE, 1943, 1948, 0.116),
            (FEMALE, 1971, 1975, 0.276),
        ];
        let mut never = BTreeMap::new();
        for sex in SEXES {
            never.insert((sex, 1995), 0.1);
            never.insert((sex, 2020), 0.2);
        }
        let (rows, notes) = children_rows(&anchors, &never).unwrap();
        assert_eq!(notes.len(), 4);
        assert!(!rows.iter().any(|r| r[2] == "未婚" && r[3] == "あり"));
        let w = |sex: &str, band: &str, flag: &str| -> f64 {
            rows.iter()
                .find(|r| r[0] == sex && r[1] == band && r[2] == "既婚" && r[3] == flag)
                .map(|r| r[4].parse().unwrap())
                .unwrap()
        };
        // (0.399 - 0.2) / 0.8 of the married men of the younger cohort are childless.
        let share = w(MALE, "45-49", "なし") / (w(MALE, "45-49", "なし") + w(MALE, "45-49", "あり"));
        assert!((share - 0.24875).abs() < 1e-3, "{share}");
        assert!(w(FEMALE, "75-79", "あり") > w(FEMALE, "75-79", "なし"));
    }
}
