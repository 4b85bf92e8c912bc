//! Occupation of the Brazil pack: Censo 2010 occupations (COD) by sex, national, with the share
//! occupied by sex.

use std::path::Path;

use super::education::{education_totals, EDUCATION};
use super::{FEMALE, MALE, NO_OCCUPATION};
use crate::derive::{derr, write_table, SourceSpec, TableRecord};
use crate::error::Result;

pub(super) const OCCUPATION: SourceSpec<'static> = SourceSpec {
    id: "ibge_censo2010_sidra3592_cod",
    path: "brazil/occupation/censo2010_sidra3592_ocupacao_cod_sexo_brasil.csv",
    publisher: "IBGE, Censo Demográfico 2010 (Amostra), SIDRA table 3592",
    table: "Pessoas de 10 anos ou mais ocupadas por ocupação (COD, 4 níveis) e sexo, Brasil",
    vintage: "Censo 2010",
    licence: "IBGE open data (reuse with attribution)",
    carrier: "fernandomailbr/estudo-cancer-socio@46e4d4529b53:data/external/Tabela 3592.xlsx (as CSV)",
};

/// Writes `occupation_sex.csv`, `occupation_groups.csv`, `occupied_sex.csv` and
/// `occupation_model.csv` with their choice.
pub(super) fn write(
    raw_dir: &Path,
    out_dir: &Path,
    tables: &mut Vec<TableRecord>,
    choices: &mut Vec<String>,
) -> Result<()> {
    // Occupation by sex (national), and whether a person is occupied.
    let (occupation, groups, occupied) = occupation(raw_dir, &education_totals(raw_dir)?)?;
    tables.push(write_table(
        out_dir,
        "occupation_sex.csv",
        &["sex", "occupation", "weight"],
        &occupation,
        &[OCCUPATION.id],
        "The finest COD level published for each branch (434 grupos de base, plus the 2-digit military groups \
         without them) × Homens/Mulheres; `Ocupações maldefinidas` spread proportionally over the defined \
         occupations of the same sex; weight = occupied persons.",
    )?);
    tables.push(write_table(
        out_dir,
        "occupation_groups.csv",
        &["occupation", "occupation_group"],
        &groups,
        &[OCCUPATION.id],
        "Each occupation's COD grande grupo (level 1 title), for the `occupation_group` column.",
    )?);
    tables.push(write_table(
        out_dir,
        "occupied_sex.csv",
        &["sex", "occupied", "weight"],
        &occupied,
        &[OCCUPATION.id, EDUCATION.id],
        "Occupied persons 10+ by sex (SIDRA 3592 total) against all persons 10+ by sex (Tabela 1.1.11 total), \
         both Censo 2010 Amostra: weight = persons occupied (`sim`) and not (`não`).",
    )?);
    tables.push(write_table(
        out_dir,
        "occupation_model.csv",
        &["occupied", "sex", "occupation", "weight"],
        &occupation_model(&occupation),
        &[OCCUPATION.id],
        "occupation_sex.csv for occupied persons (`sim`); `Sem ocupação` for the others (`não`).",
    )?);
    choices.push(
        "Occupation: Censo 2010 COD occupations by sex for Brazil (no age, education or UF split was found), \
         given to persons drawn as occupied; the share occupied by sex is that of all persons 10+ (the only \
         age range published with it), applied to adults of every age and state. Persons not occupied have \
         occupation `Sem ocupação`. Labels are IBGE's official (plural) titles."
            .into(),
    );
    Ok(())
}

/// The occupation model: occupations of occupied persons, `Sem ocupação` for the others.
fn occupation_model(by_sex: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = by_sex.iter().map(|r| [vec!["sim".to_string()], r.clone()].concat()).collect();
    for sex in [FEMALE, MALE] {
        rows.push(vec!["não".into(), sex.into(), NO_OCCUPATION.into(), "1".into()]);
    }
    rows
}

type OccupationTables = (Vec<Vec<String>>, Vec<Vec<String>>, Vec<Vec<String>>);

/// (sex, occupation, weight) over the finest published COD codes; (occupation, group); and
/// (sex, occupied, weight).
fn occupation(raw_dir: &Path, persons_10_plus: &(f64, f64)) -> Result<OccupationTables> {
    let path = OCCUPATION.path;
    let mut reader = csv::Reader::from_path(raw_dir.join(path)).map_err(|e| derr(path, e.to_string()))?;
    // (code, level, title, female, male)
    let mut codes: Vec<(String, u32, String, f64, f64)> = Vec::new();
    for record in reader.records() {
        let r = record.map_err(|e| derr(path, e.to_string()))?;
        let number = |i: usize| r.get(i).and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(0.0);
        let level: u32 = r.get(1).and_then(|v| v.parse().ok()).ok_or_else(|| derr(path, "a level is not a number"))?;
        codes.push((r[0].to_string(), level, r[2].to_string(), number(5), number(4)));
    }
    let (total_f, total_m) =
        codes.iter().find(|c| c.1 == 0).map(|c| (c.3, c.4)).ok_or_else(|| derr(path, "no Total row"))?;
    const ILL_DEFINED: &str = "11";
    let is_child = |parent: &str, code: &str| {
        code.len() > parent.len() && code.starts_with(parent) && code[parent.len()..].starts_with('.')
    };
    let group_of = |code: &str| -> Option<String> {
        let top = code.split('.').next()?;
        codes.iter().find(|c| c.1 == 1 && c.0 == top).map(|c| c.2.clone())
    };
    // Leaves: codes with no finer code under them.
    let leaves: Vec<&(String, u32, String, f64, f64)> = codes
        .iter()
        .filter(|c| c.1 >= 1 && c.0 != ILL_DEFINED && !codes.iter().any(|d| is_child(&c.0, &d.0)))
        .collect();
    let (leaf_f, leaf_m): (f64, f64) = leaves.iter().fold((0.0, 0.0), |(f, m), c| (f + c.3, m + c.4));
    let ill = codes.iter().find(|c| c.0 == ILL_DEFINED).map(|c| (c.3, c.4)).unwrap_or((0.0, 0.0));
    let (missing_f, missing_m) = (total_f - ill.0 - leaf_f, total_m - ill.1 - leaf_m);
    if missing_f.abs() > 0.001 * total_f || missing_m.abs() > 0.001 * total_m {
        return Err(derr(
            path,
            format!("the finest codes miss {missing_f:.0} women and {missing_m:.0} men of the total"),
        ));
    }
    let mut rows = Vec::new();
    let mut groups = Vec::new();
    for (sex, pick, defined) in [(FEMALE, 3usize, leaf_f), (MALE, 4usize, leaf_m)] {
        let total = if sex == FEMALE { total_f } else { total_m };
        for c in &leaves {
            let value = if pick == 3 { c.3 } else { c.4 };
            rows.push(vec![sex.to_string(), c.2.clone(), format!("{:.3}", value * total / defined)]);
        }
    }
    for c in &leaves {
        let group = group_of(&c.0).ok_or_else(|| derr(path, format!("code {} has no grande grupo", c.0)))?;
        if !groups.iter().any(|g: &Vec<String>| g[0] == c.2) {
            groups.push(vec![c.2.clone(), group]);
        }
    }
    groups.push(vec![NO_OCCUPATION.to_string(), NO_OCCUPATION.to_string()]);
    let (pop_f, pop_m) = *persons_10_plus;
    let occupied = vec![
        vec![FEMALE.to_string(), "sim".to_string(), format!("{total_f}")],
        vec![FEMALE.to_string(), "não".to_string(), format!("{}", pop_f - total_f)],
        vec![MALE.to_string(), "sim".to_string(), format!("{total_m}")],
        vec![MALE.to_string(), "não".to_string(), format!("{}", pop_m - total_m)],
    ];
    Ok((rows, groups, occupied))
}
