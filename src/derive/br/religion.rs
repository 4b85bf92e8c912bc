//! Religion of the Brazil pack: Censo 2010 religion by sex, national (via UNdata).

use std::path::Path;

use super::{FEMALE, MALE};
use crate::derive::{derr, write_table, SourceSpec, TableRecord};
use crate::error::Result;

pub(super) const RELIGION: SourceSpec<'static> = SourceSpec {
    id: "undata_censo2010_religion_sex",
    path: "datasets/br/sources/undata_brazil_census2010_religion_by_sex_urban_rural.csv",
    publisher: "UN Statistics Division, Demographic Statistics Database, from IBGE Censo Demográfico 2010",
    table: "Population by religion, sex and urban/rural residence, Brazil",
    vintage: "Censo 2010",
    licence: "UNdata terms (free reuse with attribution); IBGE data",
    carrier:
        "Mun1nm/ntbd-world-population@2e36b4b4663a:religiao.csv (Brazil rows; see datasets/br/sources/PROVENANCE.md)",
};

/// IBGE's Portuguese name of each religion of the UN recoding (`None`: not declared, dropped).
const RELIGIONS: [(&str, Option<&str>); 27] = [
    ("Roman Apostolic Catholic", Some("Católica Apostólica Romana")),
    ("Brasilian Apostolic Catholic", Some("Católica Apostólica Brasileira")),
    ("Orthodox Catholic", Some("Católica Ortodoxa")),
    ("Assembly of God", Some("Assembleia de Deus")),
    ("Christian Congregation of Brazil", Some("Congregação Cristã do Brasil")),
    ("Universal of the Kingdom of God", Some("Igreja Universal do Reino de Deus")),
    ("God is Love", Some("Deus é Amor")),
    ("Other Evangelical Pentecostal", Some("Outras evangélicas pentecostais")),
    ("Baptist", Some("Igreja Batista")),
    ("Adventist", Some("Igreja Adventista")),
    ("Lutheran", Some("Igreja Luterana")),
    ("Presbyterian", Some("Igreja Presbiteriana")),
    ("Methodist", Some("Igreja Metodista")),
    ("Other Traditional Evangelical", Some("Outras evangélicas")),
    ("Jehovah Witness", Some("Testemunhas de Jeová")),
    ("Espiritia", Some("Espírita")),
    ("Spiritualist", Some("Espiritualista")),
    ("Umbanda", Some("Umbanda")),
    ("Candomble", Some("Candomblé")),
    ("Jewish", Some("Judaísmo")),
    ("Buddhist", Some("Budismo")),
    ("Messianica", Some("Igreja Messiânica Mundial")),
    ("Other Religions", Some("Outras religiões")),
    ("No Religion", Some("Sem religião")),
    ("Not Specified", None),
    ("Not Declared", None),
    ("Total", None),
];

/// Writes `religion_sex.csv` with its choice.
pub(super) fn write(out_dir: &Path, tables: &mut Vec<TableRecord>, choices: &mut Vec<String>) -> Result<()> {
    // Religion by sex (national).
    tables.push(write_table(
        out_dir,
        "religion_sex.csv",
        &["sex", "religion", "weight"],
        &religion()?,
        &[RELIGION.id],
        "The Total-area rows for Male and Female; the UN's labels turned back into IBGE's Portuguese names; \
         `Not Specified` and `Not Declared` dropped (spread proportionally); weight = persons (all ages).",
    )?);
    choices.push(
        "Religion: Censo 2010 religion by sex for Brazil as a whole (via UNdata), applied to every state and age: \
         religion differs much by state (evangelical shares, `Sem religião` in Rio de Janeiro) and the tables by UF \
         (SIDRA 137, 9537) were not found. Marital status: no table by sex and age was found at all, so the pack has \
         no `marital_status` column rather than an invented one."
            .into(),
    );
    Ok(())
}

/// Rows (sex, religion, weight).
fn religion() -> Result<Vec<Vec<String>>> {
    let path = RELIGION.path;
    let full = crate::derive::source_path(Path::new(""), path);
    let mut reader = csv::Reader::from_path(&full).map_err(|e| derr(path, e.to_string()))?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let r = record.map_err(|e| derr(path, e.to_string()))?;
        let sex = match (r.get(2), r.get(3)) {
            (Some("Total"), Some("Male")) => MALE,
            (Some("Total"), Some("Female")) => FEMALE,
            _ => continue,
        };
        let label = r.get(4).unwrap_or_default();
        let name = RELIGIONS
            .iter()
            .find(|(un, _)| *un == label)
            .ok_or_else(|| derr(path, format!("religion `{label}` has no Portuguese name")))?
            .1;
        if let Some(name) = name {
            let value: f64 =
                r.get(5).and_then(|v| v.parse().ok()).ok_or_else(|| derr(path, "a count is not a number"))?;
            rows.push(vec![sex.to_string(), name.to_string(), format!("{value}")]);
        }
    }
    if rows.len() != 2 * 24 {
        return Err(derr(path, format!("expected 24 religions for each sex, found {} rows", rows.len())));
    }
    Ok(rows)
}
