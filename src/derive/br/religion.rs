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

/// Occupations that serve a religion: their holders are never `Sem religião`.
const CLERGY: [&str; 2] = ["Ministros de cultos religiosos, missionários e afins", "Auxiliares leigos de religião"];
/// The religion that a member of the clergy cannot have.
const NO_RELIGION: &str = "Sem religião";

/// Writes `religion_sex.csv`, `clergy_occupation.csv` and `religion_clergy.csv` with their choice
/// (after the occupation tables: it reads `occupation_groups.csv`).
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
    // Clergy: whether an occupation serves a religion, and the religions it allows.
    let groups_name = "occupation_groups.csv";
    let mut reader = csv::Reader::from_path(out_dir.join(groups_name)).map_err(|e| derr(groups_name, e.to_string()))?;
    let mut clergy_rows = Vec::new();
    for record in reader.records() {
        let r = record.map_err(|e| derr(groups_name, e.to_string()))?;
        let clergy = if CLERGY.contains(&&r[0]) { "sim" } else { "não" };
        clergy_rows.push(vec![r[0].to_string(), clergy.to_string(), "1".to_string()]);
    }
    if clergy_rows.iter().filter(|r| r[1] == "sim").count() != CLERGY.len() {
        return Err(derr(groups_name, format!("the occupations {CLERGY:?} are not all listed")));
    }
    tables.push(write_table(
        out_dir,
        "clergy_occupation.csv",
        &["occupation", "clergy", "weight"],
        &clergy_rows,
        &[],
        "`sim` for the occupations that serve a religion (COD 2636 ministros de cultos, 3413 auxiliares leigos), \
         `não` for every other occupation and `Sem ocupação`.",
    )?);
    let religions = religion()?;
    let mut factor = Vec::new();
    for clergy in ["não", "sim"] {
        for r in religions.iter().filter(|r| r[0] == FEMALE) {
            if clergy == "sim" && r[1] == NO_RELIGION {
                continue;
            }
            factor.push(vec![clergy.to_string(), r[1].clone(), "1".to_string()]);
        }
    }
    tables.push(write_table(
        out_dir,
        "religion_clergy.csv",
        &["clergy", "religion", "weight"],
        &factor,
        &[RELIGION.id],
        "A factor of the religion model: every religion for `não`; every religion but `Sem religião` for the \
         clergy (`sim`), whose shares of the other religions stay those of their sex.",
    )?);
    choices.push(
        "Religion of the clergy: the census publishes no religion by occupation; a minister of a cult or a lay \
         assistant of a religion is never `Sem religião` (a structural zero), and otherwise keeps the religion \
         shares of the sex. They are 0.13 % of the occupied, so the religion margins move by less than 0.01 point."
            .into(),
    );
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
