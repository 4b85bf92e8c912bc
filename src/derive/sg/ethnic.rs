//! Ethnic group by planning area × sex × age band: Census 2020 shares by planning area and sex
//! fitted to the national ethnic × sex × age series (M810011).

use std::collections::HashMap;
use std::path::Path;

use super::population::{same_area, POPULATION};
use super::vocab::{band_index, ethnic_index, sex_index, AGE_BANDS, ETHNIC, MIN_AGE, SEXES};
use super::{number, Pack, Rows};
use crate::derive::ipf::{fit_groups, GroupMargin};
use crate::derive::{derr, field, read_csv, SourceSpec};
use crate::error::Result;

pub(super) const ETHNIC_AREA: SourceSpec<'static> = SourceSpec {
    id: "census2020_subzone_ethnic_sex",
    path: "singapore/census2020_subzone_ethnic_sex_with_planning_area.csv",
    publisher: "Department of Statistics Singapore, Census of Population 2020, via data.gov.sg",
    table: "Resident population by subzone, ethnic group and sex (joined to planning areas)",
    vintage: "Census 2020",
    licence: "Singapore Open Data Licence (data); MIT (repository)",
    carrier: "xunchiasg/SG_Census_Map@9e4bb0117b38:data/census_cleaned.csv (+ planning areas from its geojson)",
};
pub(super) const ETHNIC_AGE: SourceSpec<'static> = SourceSpec {
    id: "singstat_M810011",
    path: "singapore/population/singstat_M810011_residents_by_age_ethnic_sex_1957_2022.csv",
    publisher: "Department of Statistics Singapore, Table Builder M810011",
    table: "Singapore residents by ethnic group, sex and 5-year age group, end-June",
    vintage: "2022 (latest year in the series)",
    licence: "SingStat Table Builder terms (attribution); data.gov.sg d_b867dc1cd9cc8b90d6dd0257929bcac6 (SODL)",
    carrier: "LeungYunghou/1@27ca68c73fff:M810011.csv (reshaped to long)",
};

/// Writes the ethnic tables and their choice; returns persons by (planning area, ethnic group).
pub(super) fn derive(
    raw_dir: &Path,
    pack: &mut Pack,
    areas: &[String],
    by_area_sex_band: &HashMap<(usize, usize, usize), f64>,
) -> Result<Vec<[f64; 4]>> {
    // Ethnic group by planning area × sex × age band.
    let (ethnic_rows, ethnic_area_sex) = ethnic(raw_dir, areas, by_area_sex_band)?;
    pack.table(
        "ethnic_model.csv",
        &["planning_area", "sex", "age_band", "ethnic_background", "weight"],
        &ethnic_rows,
        &[POPULATION.id, ETHNIC_AREA.id, ETHNIC_AGE.id],
        "Iterative proportional fit of planning area × sex × age band × ethnic group to three margins: persons \
         by planning area × sex × age band (June 2024, 15+); ethnic shares by planning area × sex (Census 2020, \
         all ages, summed over subzones) applied to those persons; ethnic group × sex × age band nationally \
         (M810011, 2022) scaled to the 15+ total. Weight = persons.",
    )?;
    pack.table(
        "ethnic_area_sex.csv",
        &["planning_area", "sex", "ethnic_background", "weight"],
        &ethnic_area_sex,
        &[ETHNIC_AREA.id],
        "Census 2020 residents by planning area × sex × ethnic group (all ages, subzones summed): the published \
         margin the fidelity report compares against.",
    )?;
    pack.choices.push(
        "Ethnic group: Census 2020 shares by planning area and sex (all ages: no table by planning area and age \
         was found) fitted to the national ethnic × sex × age structure of 2022, so younger Malay and older \
         Chinese age profiles hold nationally while each planning area keeps its ethnic mix."
            .into(),
    );
    Ok(ethnic_totals_by_area(&ethnic_rows, areas))
}

/// The ethnic model rows and the published (area, sex, ethnic) table.
fn ethnic(raw_dir: &Path, areas: &[String], persons: &HashMap<(usize, usize, usize), f64>) -> Result<(Rows, Rows)> {
    // Census 2020: planning area × sex × ethnic group, all ages.
    let path = ETHNIC_AREA.path;
    let columns = [
        ("Chinese Males", "Chinese Females"),
        ("Malay Males", "Malay Females"),
        ("Indian Males", "Indian Females"),
        ("Others Male", "Others_Females"),
    ];
    let (na, nb, ne) = (areas.len(), AGE_BANDS.len(), ETHNIC.len());
    let mut census = vec![0.0f64; na * 2 * ne];
    for row in read_csv(raw_dir, path)? {
        let name = field(&row, "Planning Area", path)?;
        // Areas with no residents of 15+ in 2024 are not drawn, so not fitted.
        let Some(a) = areas.iter().position(|x| same_area(x, name)) else { continue };
        for (e, (m, f)) in columns.iter().enumerate() {
            census[(a * 2) * ne + e] += number(field(&row, m, path)?);
            census[(a * 2 + 1) * ne + e] += number(field(&row, f, path)?);
        }
    }
    // National ethnic × sex × band (2022), 15+.
    let path_age = ETHNIC_AGE.path;
    let mut national = vec![0.0f64; 2 * nb * ne];
    for row in read_csv(raw_dir, path_age)? {
        if field(&row, "year", path_age)? != "2022" {
            continue;
        }
        let Some(e) = ethnic_index(field(&row, "ethnic_group", path_age)?) else { continue };
        let Some(s) = sex_index(field(&row, "sex", path_age)?) else { continue };
        let label = field(&row, "age_group", path_age)?;
        // 5-year groups "15 - 19 Years" … "85 - 89 Years" and "90 Years & Over".
        let lo: Option<u32> = if label == "90 Years & Over" {
            Some(90)
        } else {
            label.split(" - ").next().and_then(|l| l.trim().parse().ok()).filter(|_| label.contains(" - "))
        };
        let Some(lo) = lo.filter(|lo| *lo >= MIN_AGE) else { continue };
        let b = band_index(lo).unwrap_or(nb - 1);
        national[(s * nb + b) * ne + e] += number(field(&row, "residents", path_age)?);
    }
    if national.iter().sum::<f64>() <= 0.0 {
        return Err(derr(path_age, "no 2022 rows by ethnic group, sex and age"));
    }
    // Table: area × sex × band × ethnic.
    let cell = |a: usize, s: usize, b: usize, e: usize| ((a * 2 + s) * nb + b) * ne + e;
    let cells = na * 2 * nb * ne;
    let mut seed = vec![1.0f64; cells];
    let mut m_asb = GroupMargin { group_of: vec![0; cells], targets: vec![0.0; na * 2 * nb] };
    let mut m_ase = GroupMargin { group_of: vec![0; cells], targets: vec![0.0; na * 2 * ne] };
    let mut m_sbe = GroupMargin { group_of: vec![0; cells], targets: vec![0.0; 2 * nb * ne] };
    for a in 0..na {
        for s in 0..2 {
            let area_sex: f64 = (0..nb).map(|b| persons.get(&(a, s, b)).copied().unwrap_or(0.0)).sum();
            let census_total: f64 = (0..ne).map(|e| census[(a * 2 + s) * ne + e]).sum();
            for b in 0..nb {
                m_asb.targets[(a * 2 + s) * nb + b] = persons.get(&(a, s, b)).copied().unwrap_or(0.0);
                for e in 0..ne {
                    let c = cell(a, s, b, e);
                    m_asb.group_of[c] = ((a * 2 + s) * nb + b) as u32;
                    m_ase.group_of[c] = ((a * 2 + s) * ne + e) as u32;
                    m_sbe.group_of[c] = ((s * nb + b) * ne + e) as u32;
                    // No census residents of this group in the area: none here either.
                    if census_total > 0.0 && census[(a * 2 + s) * ne + e] <= 0.0 {
                        seed[c] = 0.0;
                    }
                }
            }
            for e in 0..ne {
                m_ase.targets[(a * 2 + s) * ne + e] = if census_total > 0.0 {
                    area_sex * census[(a * 2 + s) * ne + e] / census_total
                } else {
                    // An area the census table lacks: the national mix.
                    area_sex / ne as f64
                };
            }
        }
    }
    let total: f64 = m_asb.targets.iter().sum();
    let national_total: f64 = national.iter().sum();
    m_sbe.targets = national.iter().map(|x| x * total / national_total).collect();
    let (fit, _) = fit_groups(&seed, &[m_sbe, m_ase, m_asb], 200);
    let mut rows = Vec::new();
    for (a, area) in areas.iter().enumerate() {
        for (s, sex) in SEXES.iter().enumerate() {
            for (b, (band, _, _)) in AGE_BANDS.iter().enumerate() {
                for (e, ethnic) in ETHNIC.iter().enumerate() {
                    let w = fit[cell(a, s, b, e)];
                    if w > 0.0 {
                        rows.push(vec![
                            area.clone(),
                            sex.to_string(),
                            band.to_string(),
                            ethnic.to_string(),
                            format!("{w:.3}"),
                        ]);
                    }
                }
            }
        }
    }
    let mut published = Vec::new();
    for (a, area) in areas.iter().enumerate() {
        for (s, sex) in SEXES.iter().enumerate() {
            for (e, ethnic) in ETHNIC.iter().enumerate() {
                let w = census[(a * 2 + s) * ne + e];
                if w > 0.0 {
                    published.push(vec![area.clone(), sex.to_string(), ethnic.to_string(), format!("{w:.0}")]);
                }
            }
        }
    }
    Ok((rows, published))
}

/// Persons by (area, ethnic) from the ethnic model rows.
fn ethnic_totals_by_area(rows: &Rows, areas: &[String]) -> Vec<[f64; 4]> {
    let mut out = vec![[0.0f64; 4]; areas.len()];
    for r in rows {
        let (Some(a), Some(e)) = (areas.iter().position(|x| *x == r[0]), ETHNIC.iter().position(|x| *x == r[3])) else {
            continue;
        };
        out[a][e] += r[4].parse::<f64>().unwrap_or(0.0);
    }
    out
}
