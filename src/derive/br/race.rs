//! Cor ou raça of the Brazil pack: Censo 2010 by municipality × sex, matched to the 2022
//! municipalities.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::population::{fold, MUNICIPALITIES};
use super::{uf_name, FEMALE, MALE};
use crate::derive::{derr, write_table, SourceSpec, TableRecord};
use crate::error::Result;

pub(super) const RACE: SourceSpec<'static> = SourceSpec {
    id: "ibge_censo2010_sidra3175_municipio",
    path: "brazil/race/censo2010_sidra3175_cor_raca_sexo_municipio.csv",
    publisher: "IBGE, Censo Demográfico 2010 (Universo), SIDRA table 3175",
    table: "População residente por cor ou raça e sexo, por município (all ages)",
    vintage: "Censo 2010",
    licence: "IBGE open data (reuse with attribution)",
    carrier: "mari-rufino-g/vereadores2020@7c74525428ba:tabela3175.xlsx (reshaped to CSV)",
};

/// Writes `race_model.csv` and `race_state_sex.csv` over `municipalities` (the municipality
/// model's rows) with their choice.
pub(super) fn write(
    raw_dir: &Path,
    out_dir: &Path,
    municipalities: &[Vec<String>],
    tables: &mut Vec<TableRecord>,
    choices: &mut Vec<String>,
) -> Result<()> {
    // Race by municipality × sex.
    let (race_model, race_uf, unmatched) = race(raw_dir, municipalities)?;
    tables.push(write_table(
        out_dir,
        "race_model.csv",
        &["state", "municipality", "sex", "race", "weight"],
        &race_model,
        &[RACE.id, MUNICIPALITIES.id],
        "Cor ou raça × sex of each 2010 municipality, matched to the 2022 municipalities by UF and name \
         (case and accents ignored); `Sem declaração` dropped; a 2022 municipality with no 2010 match takes \
         its state's distribution for that sex; weight = 2010 persons (any age).",
    )?);
    tables.push(write_table(
        out_dir,
        "race_state_sex.csv",
        &["state", "sex", "race", "weight"],
        &race_uf,
        &[RACE.id],
        "The municipality table summed by UF and sex, `Sem declaração` dropped: the published state margin the \
         fidelity report compares against.",
    )?);
    choices.push(format!(
        "Race: Censo 2010 cor ou raça by municipality and sex, all ages (no race × age table was found); the \
         2022 municipalities without a 2010 namesake in the same UF ({}) use their state's distribution.",
        if unmatched.is_empty() { "none".to_string() } else { unmatched.join(", ") }
    ));
    Ok(())
}

/// The race categories of the persona schema, in IBGE order.
pub const RACES: [&str; 5] = ["Branca", "Preta", "Amarela", "Parda", "Indígena"];

type RaceTables = (Vec<Vec<String>>, Vec<Vec<String>>, Vec<String>);

/// (state, municipality, sex, race, weight) for every 2022 municipality; (state, sex, race,
/// weight) by UF; the 2022 municipalities without a 2010 match.
fn race(raw_dir: &Path, municipalities: &[Vec<String>]) -> Result<RaceTables> {
    let path = RACE.path;
    let mut reader = csv::Reader::from_path(raw_dir.join(path)).map_err(|e| derr(path, e.to_string()))?;
    let headers = reader.headers().map_err(|e| derr(path, e.to_string()))?.clone();
    let col =
        |name: &str| headers.iter().position(|h| h == name).ok_or_else(|| derr(path, format!("no column {name}")));
    let (c_mun, c_uf, c_sex) = (col("municipio")?, col("uf")?, col("sexo")?);
    let race_cols: Vec<usize> = RACES.iter().map(|r| col(r)).collect::<Result<_>>()?;
    // (state, folded name, sex) -> counts per race.
    let mut by_municipality: HashMap<(String, String, &str), [f64; 5]> = HashMap::new();
    let mut by_state: BTreeMap<(String, &str), [f64; 5]> = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| derr(path, e.to_string()))?;
        let sex = match record.get(c_sex) {
            Some("Homens") => MALE,
            Some("Mulheres") => FEMALE,
            _ => continue,
        };
        let state = record.get(c_uf).and_then(uf_name).ok_or_else(|| derr(path, "a row has an unknown UF"))?;
        let mut counts = [0.0; 5];
        for (k, c) in race_cols.iter().enumerate() {
            counts[k] = record.get(*c).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0);
        }
        let name = fold(record.get(c_mun).unwrap_or_default());
        by_municipality.insert((state.to_string(), name, sex), counts);
        let total = by_state.entry((state.to_string(), sex)).or_insert([0.0; 5]);
        total.iter_mut().zip(counts).for_each(|(t, c)| *t += c);
    }
    let mut model = Vec::new();
    let mut unmatched = Vec::new();
    for m in municipalities {
        let (state, name) = (&m[0], &m[1]);
        for sex in [FEMALE, MALE] {
            let counts = match by_municipality.get(&(state.clone(), fold(name), sex)) {
                Some(c) => *c,
                None => {
                    if sex == FEMALE {
                        unmatched.push(format!("{name} ({state})"));
                    }
                    by_state
                        .get(&(state.clone(), sex))
                        .copied()
                        .ok_or_else(|| derr(path, format!("no rows for {state}")))?
                }
            };
            for (race, count) in RACES.iter().zip(counts) {
                model.push(vec![state.clone(), name.clone(), sex.to_string(), race.to_string(), format!("{count}")]);
            }
        }
    }
    let by_uf = by_state
        .iter()
        .flat_map(|((state, sex), counts)| {
            RACES
                .iter()
                .zip(counts)
                .map(|(race, c)| vec![state.clone(), sex.to_string(), race.to_string(), format!("{c}")])
        })
        .collect();
    Ok((model, by_uf, unmatched))
}
