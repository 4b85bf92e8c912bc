//! Labour: whether a resident is employed, occupation (SSOC major groups) and industry, by sex
//! and age band (MOM Comprehensive Labour Force Survey, June 2024).

use std::collections::HashMap;
use std::path::Path;

use super::education::EDUCATION_EMPLOYED;
use super::population::POPULATION;
use super::vocab::{band_index, sex_index, AGE_BANDS, NOT_WORKING, SEXES, WORK_BANDS};
use super::{number, Pack, Rows};
use crate::derive::ipf::{fit_groups, GroupMargin};
use crate::derive::{derr, field, read_csv, SourceSpec};
use crate::error::Result;

pub(super) const EMPLOYED_INDUSTRY_MALE: SourceSpec<'static> = SourceSpec {
    id: "singstat_M182141",
    path: "singapore/labour_force/singstat_M182141_employed_male_residents_by_age_industry_june.csv",
    publisher: "Ministry of Manpower, Comprehensive Labour Force Survey, via SingStat Table Builder M182141",
    table: "Employed male residents aged 15+ by age group and industry, June (thousands)",
    vintage: "June 2024",
    licence: "SingStat Table Builder terms (attribution)",
    carrier: "delwinvanstrien/singapore-job-market-dashboard@c5d7e6060ba7:M182141.csv",
};
pub(super) const EMPLOYED_INDUSTRY_FEMALE: SourceSpec<'static> = SourceSpec {
    id: "singstat_M182151",
    path: "singapore/labour_force/singstat_M182151_employed_female_residents_by_age_industry_june.csv",
    publisher: "Ministry of Manpower, Comprehensive Labour Force Survey, via SingStat Table Builder M182151",
    table: "Employed female residents aged 15+ by age group and industry, June (thousands)",
    vintage: "June 2024",
    licence: "SingStat Table Builder terms (attribution)",
    carrier: "delwinvanstrien/singapore-job-market-dashboard@c5d7e6060ba7:M182151.csv",
};
pub(super) const EMPLOYED_OCCUPATION_MALE: SourceSpec<'static> = SourceSpec {
    id: "singstat_M182181",
    path: "singapore/labour_force/singstat_M182181_employed_male_residents_by_occupation_age_june.csv",
    publisher: "Ministry of Manpower, Comprehensive Labour Force Survey, via SingStat Table Builder M182181",
    table: "Employed male residents aged 15+ by age group and occupation (SSOC major groups), June (thousands)",
    vintage: "June 2024",
    licence: "SingStat Table Builder terms (attribution)",
    carrier: "JustinZhao315/AN6100-group-project@89a8950986b4:M182181_male.csv",
};
pub(super) const EMPLOYED_OCCUPATION_FEMALE: SourceSpec<'static> = SourceSpec {
    id: "singstat_M182191",
    path: "singapore/labour_force/singstat_M182191_employed_female_residents_by_occupation_age_june.csv",
    publisher: "Ministry of Manpower, Comprehensive Labour Force Survey, via SingStat Table Builder M182191",
    table: "Employed female residents aged 15+ by age group and occupation (SSOC major groups), June (thousands)",
    vintage: "June 2024",
    licence: "SingStat Table Builder terms (attribution)",
    carrier: "JustinZhao315/AN6100-group-project@89a8950986b4:M182191_female.csv",
};
pub(super) const OCCUPATION_INDUSTRY: SourceSpec<'static> = SourceSpec {
    id: "singstat_M182081",
    path: "singapore/labour_force/singstat_M182081_employed_residents_by_occupation_industry_june.csv",
    publisher: "Ministry of Manpower, Comprehensive Labour Force Survey, via SingStat Table Builder M182081",
    table: "Employed residents aged 15+ by occupation and industry, June (thousands)",
    vintage: "June 2024",
    licence: "SingStat Table Builder terms (attribution)",
    carrier: "delwinvanstrien/singapore-job-market-dashboard@c5d7e6060ba7:M182081.csv",
};

/// Writes the employment, occupation and industry tables and their choice.
pub(super) fn derive(raw_dir: &Path, pack: &mut Pack, population: &[(String, String, u32, f64)]) -> Result<()> {
    // Work: employed or not, occupation, industry.
    let labour = labour(raw_dir)?;
    let employment = employment(raw_dir, &labour, population)?;
    pack.table(
        "employment_model.csv",
        &["sex", "work_age_band", "employed", "weight"],
        &employment,
        &[EMPLOYED_INDUSTRY_MALE.id, EMPLOYED_INDUSTRY_FEMALE.id, EDUCATION_EMPLOYED.id, POPULATION.id],
        "Employed residents by sex × age band (M182141/M182151 totals, June 2024; the 65+ band split into 65-69 \
         and 70+ by MOM LFR 2024 table G4's employed residents of those ages) against residents by sex × age \
         band (June 2024): weight = persons employed (`yes`) and not (`no`).",
    )?;
    let occupation_rows = occupation_model(&labour);
    pack.table(
        "occupation_model.csv",
        &["employed", "sex", "age_band", "occupation", "weight"],
        &occupation_rows,
        &[EMPLOYED_OCCUPATION_MALE.id, EMPLOYED_OCCUPATION_FEMALE.id],
        "Employed residents by SSOC major group × sex × age band (M182181/M182191, June 2024, thousands) for \
         `yes`; `Not Working` for `no`.",
    )?;
    let mut by_occupation = Vec::new();
    let mut by_industry = Vec::new();
    for (s, sex) in SEXES.iter().enumerate() {
        for (b, (band, _, _)) in AGE_BANDS.iter().enumerate() {
            for (o, occupation) in labour.occupations.iter().enumerate() {
                let w = labour.by_occupation.get(&(s, b, o)).copied().unwrap_or(0.0);
                by_occupation.push(vec![sex.to_string(), band.to_string(), occupation.clone(), format!("{w:.1}")]);
            }
            for (i, industry) in labour.industries.iter().enumerate() {
                let w = labour.by_industry.get(&(s, b, i)).copied().unwrap_or(0.0);
                by_industry.push(vec![sex.to_string(), band.to_string(), industry.clone(), format!("{w:.1}")]);
            }
        }
    }
    pack.table(
        "occupation_sex_age.csv",
        &["sex", "age_band", "occupation", "weight"],
        &by_occupation,
        &[EMPLOYED_OCCUPATION_MALE.id, EMPLOYED_OCCUPATION_FEMALE.id],
        "Employed residents by sex × age band × SSOC major group as published (June 2024, thousands): the margin \
         the fidelity report compares against.",
    )?;
    pack.table(
        "industry_sex_age.csv",
        &["sex", "age_band", "industry", "weight"],
        &by_industry,
        &[EMPLOYED_INDUSTRY_MALE.id, EMPLOYED_INDUSTRY_FEMALE.id],
        "Employed residents by sex × age band × industry as published (June 2024, thousands): the margin the \
         fidelity report compares against.",
    )?;
    let industry_rows = industry_model(raw_dir, &labour)?;
    pack.table(
        "industry_model.csv",
        &["occupation", "sex", "age_band", "industry", "weight"],
        &industry_rows,
        &[OCCUPATION_INDUSTRY.id, EMPLOYED_INDUSTRY_MALE.id, EMPLOYED_INDUSTRY_FEMALE.id],
        "Iterative proportional fit of occupation × sex × age band × industry to occupation × industry \
         (M182081), industry × sex × age band (M182141/M182151) and occupation × sex × age band \
         (M182181/M182191), all June 2024; `Not Working` persons have industry `Not Working`.",
    )?;
    pack.choices.push(
        "Work: whether a person is employed follows the employment rate by sex and age (June 2024). Employed \
         residents include full-time national servicemen, counted by MOM in Public Administration & Education, \
         which is why that industry dominates among men of 18-24. Occupation is the SSOC major group; the finer \
         SSOC titles have no published counts by sex and age, so job titles are left to the narratives. \
         Industry given occupation, sex and age is fitted from the three two-way tables (their three-way \
         association beyond them is unknown). Persons not employed (students, homemakers, retirees, the \
         unemployed: no table splits them by reason) have occupation and industry `Not Working`."
            .into(),
    );
    Ok(())
}

/// Employed residents of June 2024 (thousands): by (sex, band) total, by (sex, band,
/// occupation) and by (sex, band, industry).
struct Labour {
    occupations: Vec<String>,
    industries: Vec<String>,
    total: HashMap<(usize, usize), f64>,
    by_occupation: HashMap<(usize, usize, usize), f64>,
    by_industry: HashMap<(usize, usize, usize), f64>,
}

/// The pack's label of a SingStat occupation label.
fn occupation_label(label: &str) -> String {
    match label {
        "Managers & Administrators (Including Working Proprietors)" => "Managers & Administrators".into(),
        "Craftsmen & Related Trades Workers" => "Craftsmen & Related Trade Workers".into(),
        "Others" | "Other Occupation Groups Nes" => "Other Occupations".into(),
        other => other.into(),
    }
}

/// The pack's label of a SingStat industry label.
fn industry_label(label: &str) -> String {
    match label {
        "Public Administration & Education Services" => "Public Administration & Education".into(),
        "Other Industries Nes" => "Others".into(),
        other => other.into(),
    }
}

/// "Employed Male Residents Aged 15 - 19 Years" -> band index; "… 65 Years & Over" -> the last.
fn labour_band(label: &str) -> Option<usize> {
    let rest = label.split(" Aged ").nth(1)?;
    band_index(rest.split([' ', '-']).next()?.trim().parse().ok()?)
}

fn labour(raw_dir: &Path) -> Result<Labour> {
    let mut l = Labour {
        occupations: Vec::new(),
        industries: Vec::new(),
        total: HashMap::new(),
        by_occupation: HashMap::new(),
        by_industry: HashMap::new(),
    };
    for (s, spec) in [EMPLOYED_OCCUPATION_MALE, EMPLOYED_OCCUPATION_FEMALE].iter().enumerate() {
        for row in read_csv(raw_dir, spec.path)? {
            if field(&row, "year", spec.path)? != "2024" {
                continue;
            }
            let series = field(&row, "series_path", spec.path)?;
            let Some((head, label)) = series.split_once(" > ") else { continue };
            let Some(b) = labour_band(head) else { continue };
            let occupation = occupation_label(label);
            if !l.occupations.contains(&occupation) {
                l.occupations.push(occupation.clone());
            }
            let o = l.occupations.iter().position(|x| *x == occupation).unwrap_or(0);
            *l.by_occupation.entry((s, b, o)).or_default() += number(field(&row, "value", spec.path)?);
        }
    }
    for (s, spec) in [EMPLOYED_INDUSTRY_MALE, EMPLOYED_INDUSTRY_FEMALE].iter().enumerate() {
        for row in read_csv(raw_dir, spec.path)? {
            if field(&row, "year", spec.path)? != "2024" {
                continue;
            }
            let series = field(&row, "series_path", spec.path)?;
            let level = field(&row, "level", spec.path)?;
            let value = number(field(&row, "value", spec.path)?);
            let mut parts = series.split(" > ");
            let Some(b) = parts.next().and_then(labour_band) else { continue };
            let leaf: Vec<&str> = parts.collect();
            match (level, leaf.as_slice()) {
                ("0", []) => *l.total.entry((s, b)).or_default() += value,
                // Manufacturing, Construction, Others at level 1; the services at level 2.
                ("1", [top]) if *top != "Services" => {}
                ("2", ["Services", _]) => {}
                _ => continue,
            }
            let Some(label) = leaf.last() else { continue };
            let industry = industry_label(label);
            if !l.industries.contains(&industry) {
                l.industries.push(industry.clone());
            }
            let i = l.industries.iter().position(|x| *x == industry).unwrap_or(0);
            *l.by_industry.entry((s, b, i)).or_default() += value;
        }
    }
    if l.total.is_empty() || l.occupations.is_empty() || l.industries.is_empty() {
        return Err(derr(EMPLOYED_INDUSTRY_MALE.path, "no 2024 employed residents by age"));
    }
    Ok(l)
}

fn employment(raw_dir: &Path, labour: &Labour, population: &[(String, String, u32, f64)]) -> Result<Rows> {
    // Employed residents 65-69 and 70+ by sex (G4, thousands): how the 65+ employed divide.
    let path = EDUCATION_EMPLOYED.path;
    let mut old_age: HashMap<(usize, bool), f64> = HashMap::new();
    for row in read_csv(raw_dir, path)? {
        if field(&row, "table", path)? != "G4" || field(&row, "column", path)? != "Total" {
            continue;
        }
        let Some(s) = sex_index(field(&row, "sex", path)?) else { continue };
        let seventy = match field(&row, "row", path)? {
            "65 - 69" => false,
            "70 & Over" => true,
            _ => continue,
        };
        *old_age.entry((s, seventy)).or_default() += number(field(&row, "thousands", path)?);
    }
    let last = AGE_BANDS.len() - 1;
    let mut rows = Vec::new();
    for (s, sex) in SEXES.iter().enumerate() {
        let (young_old, oldest) =
            (old_age.get(&(s, false)).copied().unwrap_or(0.0), old_age.get(&(s, true)).copied().unwrap_or(0.0));
        if young_old + oldest <= 0.0 {
            return Err(derr(path, format!("no G4 employed residents of 65-69 and 70+ for {sex}")));
        }
        for (band, lo, hi) in WORK_BANDS {
            let people: f64 = population
                .iter()
                .filter(|(_, ps, age, _)| ps == sex && *age >= lo && *age <= hi)
                .map(|(_, _, _, w)| w)
                .sum();
            let b = band_index(lo).unwrap_or(last);
            let mut employed = labour.total.get(&(s, b)).copied().unwrap_or(0.0) * 1000.0;
            if b == last {
                employed *= if lo >= 70 { oldest } else { young_old } / (young_old + oldest);
            }
            let employed = employed.min(people);
            rows.push(vec![sex.to_string(), band.to_string(), "yes".into(), format!("{employed:.0}")]);
            rows.push(vec![sex.to_string(), band.to_string(), "no".into(), format!("{:.0}", people - employed)]);
        }
    }
    Ok(rows)
}

fn occupation_model(labour: &Labour) -> Rows {
    let mut rows = Vec::new();
    for (s, sex) in SEXES.iter().enumerate() {
        for (b, (band, _, _)) in AGE_BANDS.iter().enumerate() {
            for (o, occupation) in labour.occupations.iter().enumerate() {
                let w = labour.by_occupation.get(&(s, b, o)).copied().unwrap_or(0.0);
                if w > 0.0 {
                    rows.push(vec![
                        "yes".into(),
                        sex.to_string(),
                        band.to_string(),
                        occupation.clone(),
                        format!("{w:.1}"),
                    ]);
                }
            }
            rows.push(vec!["no".into(), sex.to_string(), band.to_string(), NOT_WORKING.into(), "1".into()]);
        }
    }
    rows
}

fn industry_model(raw_dir: &Path, labour: &Labour) -> Result<Rows> {
    // Occupation × industry (thousands), 2024.
    let path = OCCUPATION_INDUSTRY.path;
    let (no, ni, nb) = (labour.occupations.len(), labour.industries.len(), AGE_BANDS.len());
    let mut occ_ind = vec![0.0f64; no * ni];
    for row in read_csv(raw_dir, path)? {
        if field(&row, "year", path)? != "2024" {
            continue;
        }
        let series = field(&row, "series_path", path)?;
        let parts: Vec<&str> = series.split(" > ").collect();
        let leaf = match parts.as_slice() {
            [_, top] if *top != "Services" => *top,
            [_, "Services", sub] => *sub,
            _ => continue,
        };
        let Some(o) = labour.occupations.iter().position(|x| *x == occupation_label(parts[0])) else { continue };
        let Some(i) = labour.industries.iter().position(|x| *x == industry_label(leaf)) else {
            return Err(derr(path, format!("unknown industry `{leaf}`")));
        };
        occ_ind[o * ni + i] += number(field(&row, "value", path)?);
    }
    let cell = |o: usize, s: usize, b: usize, i: usize| ((o * 2 + s) * nb + b) * ni + i;
    let cells = no * 2 * nb * ni;
    let mut seed = vec![1.0f64; cells];
    let mut m_oi = GroupMargin { group_of: vec![0; cells], targets: occ_ind.clone() };
    let mut m_sbi = GroupMargin { group_of: vec![0; cells], targets: vec![0.0; 2 * nb * ni] };
    let mut m_osb = GroupMargin { group_of: vec![0; cells], targets: vec![0.0; no * 2 * nb] };
    for o in 0..no {
        for s in 0..2 {
            for b in 0..nb {
                m_osb.targets[(o * 2 + s) * nb + b] = labour.by_occupation.get(&(s, b, o)).copied().unwrap_or(0.0);
                for i in 0..ni {
                    let c = cell(o, s, b, i);
                    m_oi.group_of[c] = (o * ni + i) as u32;
                    m_sbi.group_of[c] = ((s * nb + b) * ni + i) as u32;
                    m_osb.group_of[c] = ((o * 2 + s) * nb + b) as u32;
                    if occ_ind[o * ni + i] <= 0.0 {
                        seed[c] = 0.0;
                    }
                }
            }
        }
    }
    for s in 0..2 {
        for b in 0..nb {
            for i in 0..ni {
                m_sbi.targets[(s * nb + b) * ni + i] = labour.by_industry.get(&(s, b, i)).copied().unwrap_or(0.0);
            }
        }
    }
    let (fit, _) = fit_groups(&seed, &[m_oi, m_sbi, m_osb], 300);
    let mut rows = Vec::new();
    for (o, occupation) in labour.occupations.iter().enumerate() {
        for (s, sex) in SEXES.iter().enumerate() {
            for (b, (band, _, _)) in AGE_BANDS.iter().enumerate() {
                let mut any = false;
                for (i, industry) in labour.industries.iter().enumerate() {
                    let w = fit[cell(o, s, b, i)];
                    if w > 1e-6 {
                        any = true;
                        rows.push(vec![
                            occupation.clone(),
                            sex.to_string(),
                            band.to_string(),
                            industry.clone(),
                            format!("{w:.4}"),
                        ]);
                    }
                }
                if !any {
                    // No such worker in the tables: the occupation's national industry mix.
                    for (i, industry) in labour.industries.iter().enumerate() {
                        let w = occ_ind[o * ni + i];
                        if w > 0.0 {
                            rows.push(vec![
                                occupation.clone(),
                                sex.to_string(),
                                band.to_string(),
                                industry.clone(),
                                format!("{w:.4}"),
                            ]);
                        }
                    }
                }
            }
        }
    }
    for sex in SEXES {
        for (band, _, _) in AGE_BANDS {
            rows.push(vec![NOT_WORKING.into(), sex.into(), band.into(), NOT_WORKING.into(), "1".into()]);
        }
    }
    Ok(rows)
}
