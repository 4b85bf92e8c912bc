//! Education of the Brazil pack: Censo 2010 nível de instrução by sex × age band, national.

use std::path::Path;

use super::{FEMALE, MALE};
use crate::derive::{derr, write_table, SourceSpec, TableRecord};
use crate::error::Result;

pub(super) const EDUCATION: SourceSpec<'static> = SourceSpec {
    id: "ibge_censo2010_tab1_1_11_instrucao",
    path: "brazil/education/censo2010_tab1_1_11_nivel_instrucao_sexo_idade_brasil.csv",
    publisher: "IBGE, Censo Demográfico 2010 (Amostra), Educação, Tabela 1.1.11",
    table: "Pessoas de 10 anos ou mais por nível de instrução, sexo e grupos de idade, Brasil",
    vintage: "Censo 2010",
    licence: "IBGE open data (reuse with attribution)",
    carrier: "fernandomailbr/estudo-cancer-socio@46e4d4529b53:data/external/tab1_1_11.xls (as long CSV)",
};

/// Writes `education_sex_age.csv` and `education_model.csv` with their choice; returns the model's
/// rows (sex, age_band, education_level, weight), which the occupation model is fitted to.
pub(super) fn write(
    raw_dir: &Path,
    out_dir: &Path,
    tables: &mut Vec<TableRecord>,
    choices: &mut Vec<String>,
) -> Result<Vec<Vec<String>>> {
    // Education by sex × age band (national).
    let education = education(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "education_sex_age.csv",
        &["sex", "age_band", "education_level", "weight"],
        &education,
        &[EDUCATION.id],
        "Rows of Homens/Mulheres for the age groups 18 ou 19, 20 a 24, ..., 55 a 59, 60 a 69, 70 ou mais; the \
         four nível de instrução levels as published (`Não determinado` dropped, i.e. spread proportionally); \
         weight = persons (sample estimates).",
    )?);
    let model = education_model(&education);
    tables.push(write_table(
        out_dir,
        "education_model.csv",
        &["sex", "age_band", "education_level", "weight"],
        &model,
        &[EDUCATION.id],
        "The published table with the `Superior completo` persons of 18-19 counted as `Médio completo e \
         superior incompleto` (no degree before 20).",
    )?);
    choices.push(
        "Education: Censo 2010 nível de instrução by sex and age for Brazil as a whole, applied to every state \
         (no table by UF was found). The census counts 0.8% of 18-19-year-olds as `Superior completo`; the model \
         counts them one level lower (still studying), so no persona has a degree before 20 (TVD 0.008 in that \
         age group, none elsewhere)."
            .into(),
    );
    Ok(model)
}

/// The education table's age groups used, with the persona age band they become.
const EDUCATION_BANDS: [(&str, &str); 10] = [
    ("18 ou 19 anos", "18-19"),
    ("20 a 24 anos", "20-24"),
    ("25 a 29 anos", "25-29"),
    ("30 a 34 anos", "30-34"),
    ("35 a 39 anos", "35-39"),
    ("40 a 44 anos", "40-44"),
    ("45 a 49 anos", "45-49"),
    ("50 a 54 anos", "50-54"),
    ("55 a 59 anos", "55-59"),
    ("60 a 69 anos", "60-69"),
];
const EDUCATION_OLDEST: (&str, &str) = ("70 anos ou mais", "70+");

/// The four IBGE nível de instrução levels, lowest first.
pub const EDUCATION_LEVELS: [&str; 4] = [
    "Sem instrução e fundamental incompleto",
    "Fundamental completo e médio incompleto",
    "Médio completo e superior incompleto",
    "Superior completo",
];

/// Rows of the education table: (sexo, grupo_idade, nivel_instrucao, pessoas).
pub(super) fn education_rows(raw_dir: &Path) -> Result<Vec<(String, String, String, f64)>> {
    let path = EDUCATION.path;
    let mut reader = csv::Reader::from_path(raw_dir.join(path)).map_err(|e| derr(path, e.to_string()))?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let r = record.map_err(|e| derr(path, e.to_string()))?;
        let value: f64 = r.get(3).and_then(|v| v.parse().ok()).ok_or_else(|| derr(path, "a count is not a number"))?;
        rows.push((r[0].to_string(), r[1].to_string(), r[2].to_string(), value));
    }
    Ok(rows)
}

/// Rows (sex, age_band, education_level, weight).
fn education(raw_dir: &Path) -> Result<Vec<Vec<String>>> {
    let rows = education_rows(raw_dir)?;
    let mut out = Vec::new();
    for (sexo, sex) in [("Mulheres", FEMALE), ("Homens", MALE)] {
        for (group, label) in EDUCATION_BANDS.iter().chain([&EDUCATION_OLDEST]) {
            for level in EDUCATION_LEVELS {
                let value = rows
                    .iter()
                    .find(|(s, g, l, _)| s == sexo && g == group && l == level)
                    .map(|r| r.3)
                    .ok_or_else(|| derr(EDUCATION.path, format!("no row for {sexo}, {group}, {level}")))?;
                out.push(vec![sex.to_string(), label.to_string(), level.to_string(), format!("{value:.3}")]);
            }
        }
    }
    Ok(out)
}

/// The education model: the published rows, with 18-19's `Superior completo` one level lower.
fn education_model(published: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut rows = published.to_vec();
    for sex in [FEMALE, MALE] {
        let at = |rows: &[Vec<String>], level: &str| {
            rows.iter().position(|r| r[0] == sex && r[1] == "18-19" && r[2] == level)
        };
        if let (Some(degree), Some(below)) = (at(&rows, EDUCATION_LEVELS[3]), at(&rows, EDUCATION_LEVELS[2])) {
            let moved: f64 = rows[degree][3].parse().unwrap_or(0.0);
            let kept: f64 = rows[below][3].parse().unwrap_or(0.0);
            rows[below][3] = format!("{:.3}", kept + moved);
            rows[degree][3] = "0".into();
        }
    }
    rows
}
