//! Home language given ethnic group and planning area: Census 2020 by planning area, joined to
//! the ethnic × language association of GHS 2015 brought to the 2020 language totals.

use std::path::Path;

use super::census_areas::{area_table, expand_by_area, fit_area_ethnic, group_ethnic, published_by_area};
use super::ethnic::ETHNIC_AREA;
use super::population::POPULATION;
use super::vocab::{ethnic_index, LANGUAGES};
use super::{number, Pack, Rows};
use crate::derive::{derr, field, read_csv, SourceSpec};
use crate::error::Result;

pub(super) const LANGUAGE_AREA: SourceSpec<'static> = SourceSpec {
    id: "census2020_ct17596_language_planning_area",
    path: "singapore/census2020/language_most_spoken_at_home_by_planning_area_census2020.csv",
    publisher: "Department of Statistics Singapore, Census of Population 2020, via data.gov.sg",
    table: "Resident population aged 5+ by planning area and language most frequently spoken at home",
    vintage: "Census 2020",
    licence: "Singapore Open Data Licence",
    carrier: "advaitsridhar/DemographicMap@13f534dd6087:data/raw/singapore/language_planning_area_census2020.csv",
};
pub(super) const LANGUAGE_ETHNIC: SourceSpec<'static> = SourceSpec {
    id: "ghs2015_ct8362_language_ethnic_partial",
    path: "datasets/sg/sources/ghs2015/ghs2015_ct8362_language_by_ethnic_group_PARTIAL.csv",
    publisher: "Department of Statistics Singapore, General Household Survey 2015, CT/8362",
    table: "Resident population aged 15+ by ethnic group and language most frequently spoken at home (Total rows)",
    vintage: "GHS 2015",
    licence: "Singapore Open Data Licence",
    carrier: "data.gov.sg page d_3bdcd0bce8b52713749d3ceeb607a763 (see datasets/sg/sources/PROVENANCE.md)",
};

/// Writes the home-language tables and their choice.
pub(super) fn derive(
    raw_dir: &Path,
    pack: &mut Pack,
    areas: &[String],
    area_groups: &(Vec<String>, Vec<usize>),
    ethnic_by_area: &[[f64; 4]],
) -> Result<()> {
    let (language_rows, language_area) = language(raw_dir, areas, area_groups, ethnic_by_area)?;
    pack.table(
        "language_model.csv",
        &["ethnic_background", "planning_area", "home_language", "weight"],
        &language_rows,
        &[LANGUAGE_AREA.id, LANGUAGE_ETHNIC.id, POPULATION.id, ETHNIC_AREA.id],
        "Iterative proportional fit of planning-area group × ethnic group × language to: language most spoken \
         at home by planning area (Census 2020, 5+); ethnic group by planning area (ethnic_model.csv summed); the \
         national ethnic × language table of GHS 2015 brought to the Census 2020 language totals (a 2-D fit: the \
         2015 association, the 2020 margins). Weight = persons.",
    )?;
    pack.table(
        "language_area.csv",
        &["planning_area", "home_language", "weight"],
        &language_area,
        &[LANGUAGE_AREA.id],
        "Census 2020 residents 5+ by planning area × language most frequently spoken at home as published; each \
         planning area of the published `Others` group takes that group's distribution, scaled to its persons.",
    )?;
    pack.choices.push(
        "Home language depends on ethnic group and planning area: the Census 2020 planning-area table with the \
         ethnic × language association of GHS 2015 (no Census 2020 ethnic × language table was found), updated to \
         the 2020 language totals. It does not depend on age here (no age table was found), though younger \
         Singaporeans speak English at home more often."
            .into(),
    );
    Ok(())
}

/// The language model rows and the published (area, language) table.
fn language(
    raw_dir: &Path,
    areas: &[String],
    (groups, group_of): &(Vec<String>, Vec<usize>),
    area_ethnic: &[[f64; 4]],
) -> Result<(Rows, Rows)> {
    let columns: Vec<&str> = LANGUAGES.iter().map(|(_, c)| *c).collect();
    let area_lang = area_table(raw_dir, LANGUAGE_AREA.path, groups, &columns)?;
    let national: Vec<f64> = (0..LANGUAGES.len()).map(|c| area_lang.iter().map(|r| r[c]).sum()).collect();
    // GHS 2015 ethnic × language, brought to the 2020 language totals and ethnic totals.
    let path = LANGUAGE_ETHNIC.path;
    let nc = LANGUAGES.len();
    let mut seed = vec![0.0f64; 4 * nc];
    for row in read_csv(raw_dir, path)? {
        if field(&row, "highest_qualification", path)? != "Total" {
            continue;
        }
        let Some(e) = ethnic_index(field(&row, "ethnic_group", path)?) else { continue };
        let language = field(&row, "language_most_frequently_spoken_at_home", path)?;
        let Some(c) = LANGUAGES.iter().position(|(l, _)| *l == language) else {
            return Err(derr(path, format!("unknown language `{language}`")));
        };
        seed[e * nc + c] += number(field(&row, "thousands", path)?);
    }
    let ge = group_ethnic(area_ethnic, group_of, groups.len());
    let ethnic_totals: Vec<f64> = (0..4).map(|e| ge.iter().map(|r| r[e]).sum()).collect();
    let (updated, _) = crate::derive::ipf::fit_2d(&seed, 4, nc, &ethnic_totals, &national, 500);
    let ethnic_lang: Vec<Vec<f64>> = (0..4).map(|e| updated[e * nc..(e + 1) * nc].to_vec()).collect();
    let fit = fit_area_ethnic(&area_lang, &ge, &ethnic_lang);
    let labels: Vec<&str> = LANGUAGES.iter().map(|(l, _)| *l).collect();
    let rows = expand_by_area(&fit, &labels, areas, group_of, area_ethnic);
    Ok((rows, published_by_area(&area_lang, &labels, areas, group_of, area_ethnic)))
}
