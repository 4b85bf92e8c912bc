//! Employment status and detailed occupation for the US pack.
//!
//! Employment: ACS B23001 (sex × age × employment status, by state), civilians only.
//! Occupation: one national table P(occupation | sex, age band, education) fitted by IPF to
//! three published margins of the employed population — ACS B24115/B24116 (566 detailed
//! Census occupations × sex), BLS CPS table 11b (occupation × age) and BLS Employment
//! Projections table 5.3 (occupation × educational attainment, 25+) — and to the model's own
//! employed population by sex × age × education, so the conditional reproduces all of them.
//! Kept whole: reading the three publishers' tables, matching their titles and the fit are one
//! pipeline over the same `Occupations`, and no part of it stands alone.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use super::vocab::EDUCATION;
use crate::derive::derr;
use crate::derive::ipf::{fit_groups, GroupMargin};
use crate::derive::xlsx::{num, sheet, text};
use crate::error::Result;

pub const CPS_PATH: &str = "usa/occupation/bls_cpsaat11b_2025_occupation_by_age.xlsx";
pub const EP_PATH: &str = "usa/occupation/bls_ep_occupation_2019-29_incl_table5.3_education_by_occupation.xlsx";

/// Age bands of the occupation model (CPS 11b's, with 16-19 standing for 18-19).
pub const OCC_BANDS: &[(&str, i64, i64)] = &[
    ("18-19", 18, 19),
    ("20-24", 20, 24),
    ("25-34", 25, 34),
    ("35-44", 35, 44),
    ("45-54", 45, 54),
    ("55-64", 55, 64),
    ("65+", 65, 200),
];

/// EP 5.3's seven attainment groups, and which of our levels each covers.
const EP_GROUPS: &[(&str, &[&str])] = &[
    ("Less than high school diploma", &["less_than_9th", "9th_12th_no_diploma"]),
    ("High school diploma or equivalent", &["high_school"]),
    ("Some college, no degree", &["some_college"]),
    ("Associate's degree", &["associates"]),
    ("Bachelor's degree", &["bachelors"]),
    ("Master's degree", &["graduate"]),
    ("Doctoral or professional degree", &["graduate"]),
];

/// Occupations that US licensing or certification reserves to holders of a school level: (occupation
/// code, the lowest EP attainment group allowed — 1 high school, 2 some college, 4 bachelor's, 5
/// graduate — and the basis). A structural zero of the fit where EP 5.3, a self-reported survey
/// table, gives a small share below it (a lawyer with a high-school diploma, a speech-language
/// pathologist with none). Where a credential existed at a lower level for older licensees (the
/// bachelor's in pharmacy before the PharmD, in physical therapy before the DPT) the floor is the
/// lower one.
const LICENSING_FLOORS: &[(&str, usize, &str)] = &[
    ("lawyers", 4, "bar admission: a law degree, or law-office study after college in the few states that allow it"),
    ("pharmacists", 4, "licensure: a pharmacy degree (BS Pharm before 2004, PharmD since)"),
    ("chiropractors", 5, "licensure: a Doctor of Chiropractic degree"),
    ("registered_nurses", 2, "NCLEX-RN: graduation from an approved nursing program (diploma, ADN or BSN)"),
    ("nurse_practitioners", 4, "APRN licensure: an RN, with a graduate degree since the 1990s"),
    ("nurse_anesthetists", 4, "APRN licensure: an RN, with a graduate degree since 1998"),
    ("nurse_midwives", 4, "APRN licensure: an RN, with a graduate degree since 2010"),
    ("physician_assistants", 2, "NCCPA certification: graduation from an accredited PA program"),
    ("physical_therapists", 4, "licensure: a CAPTE-accredited degree (bachelor's before the DPT)"),
    ("occupational_therapists", 4, "licensure: an ACOTE-accredited degree (bachelor's before 2007)"),
    ("speech_language_pathologists", 5, "state licensure and the ASHA CCC: a master's degree"),
    ("audiologists", 5, "licensure: a master's degree (AuD since 2007)"),
    ("clinical_and_counseling_psychologists", 5, "licensure: a doctoral degree"),
    ("school_psychologists", 5, "state certification: a specialist or master's degree"),
    ("marriage_and_family_therapists", 5, "LMFT licensure in every state: a master's degree"),
    ("dental_hygienists", 2, "licensure: graduation from a CODA-accredited dental hygiene program"),
    ("respiratory_therapists", 2, "NBRC credentials: graduation from an accredited respiratory care program"),
    ("radiation_therapists", 2, "ARRT certification: an accredited radiation therapy program"),
    ("elementary_and_middle_school_teachers", 4, "state teacher certification: a bachelor's degree"),
    ("secondary_school_teachers", 4, "state teacher certification: a bachelor's degree"),
    ("special_education_teachers", 4, "state teacher certification: a bachelor's degree"),
    (
        "postsecondary_teachers",
        1,
        "regional accreditors' faculty credentials (a degree for academic courses; \
      career and technical instructors by experience, none without schooling)",
    ),
];

/// The lowest EP attainment group allowed for an occupation code (0: no floor).
fn licensing_floor(code: &str) -> usize {
    LICENSING_FLOORS.iter().find(|(c, _, _)| *c == code).map(|(_, floor, _)| *floor).unwrap_or(0)
}

/// The value outside the labour force, as in Nemotron-Personas.
pub const NOT_IN_WORKFORCE: &str = "not_in_workforce";

/// snake_case code of an occupation title: "Transportation, storage, and distribution managers"
/// -> "transportation_storage_and_distribution_managers".
pub fn occupation_code(title: &str) -> String {
    let mut out = String::new();
    for ch in title.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// Tokens of a title for matching across publishers: lower case, footnote marks dropped,
/// words only, stop words removed.
fn tokens(title: &str) -> Vec<String> {
    let mut t = title.to_lowercase();
    // "Surgeons, except ophthalmologists", "Physicians, all other; and ophthalmologists, ...":
    // the head names the occupation.
    for cut in [";", ", except", " except "] {
        if let Some(i) = t.find(cut) {
            t.truncate(i);
        }
    }
    while let Some(start) = t.find('(') {
        let end = t[start..].find(')').map(|e| start + e + 1).unwrap_or(t.len());
        t.replace_range(start..end, " ");
    }
    let mut words: Vec<String> = t
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| {
            !w.is_empty()
                && !matches!(
                    *w,
                    "and" | "or" | "the" | "of" | "except" | "including" | "all" | "other" | "miscellaneous"
                )
        })
        .map(|w| w.strip_suffix('s').filter(|s| s.len() > 2).unwrap_or(w).to_string())
        .collect();
    words.sort();
    words.dedup();
    words
}

/// How a title was matched across publishers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    /// The same words.
    Exact,
    /// An aggregate title: every candidate whose words all appear in it ("Lawyers, and judges,
    /// magistrates, and other judicial workers" ⊇ "Lawyers" and "Judges, magistrates, ...").
    Parts,
    /// The most similar title (token Jaccard ≥ 0.6).
    Closest,
    /// The mean of the titles with the same head noun ("Emergency medicine physicians" ->
    /// every "... physicians").
    Head,
}

/// The head noun of a title: the last word before the first comma, singular.
fn head(title: &str) -> Option<String> {
    let first = title.split(',').next()?.to_lowercase();
    let word = first.split(|c: char| !c.is_ascii_alphanumeric()).rfind(|w| !w.is_empty())?;
    Some(word.strip_suffix('s').filter(|s| s.len() > 2).unwrap_or(word).to_string())
}

/// Matches `title` among `candidates` (by token sets).
fn best_match<'a>(title: &str, candidates: &'a [(String, Vec<String>)]) -> Option<(Vec<&'a str>, Match)> {
    let mine: HashSet<String> = tokens(title).into_iter().collect();
    let mut best: Option<(&str, f64)> = None;
    let mut parts = Vec::new();
    for (name, toks) in candidates {
        let theirs: HashSet<&String> = toks.iter().collect();
        let inter = mine.iter().filter(|t| theirs.contains(t)).count() as f64;
        let union = (mine.len() + theirs.len()) as f64 - inter;
        let j = if union > 0.0 { inter / union } else { 0.0 };
        if j >= 1.0 {
            return Some((vec![name], Match::Exact));
        }
        if !toks.is_empty() && inter as usize == toks.len() && toks.len() < mine.len() {
            parts.push(name.as_str());
        }
        if j >= 0.6 && best.is_none_or(|(_, b)| j > b) {
            best = Some((name, j));
        }
    }
    // Parts must cover the title's words between them.
    let covered: HashSet<String> = parts.iter().flat_map(|p| tokens(p)).collect();
    if !parts.is_empty() && mine.iter().filter(|t| !covered.contains(*t)).count() <= 1 {
        return Some((parts, Match::Parts));
    }
    if let Some((n, _)) = best {
        return Some((vec![n], Match::Closest));
    }
    let h = head(title)?;
    let same_head: Vec<&str> =
        candidates.iter().filter(|(n, _)| head(n).as_deref() == Some(h.as_str())).map(|(n, _)| n.as_str()).collect();
    (!same_head.is_empty()).then_some((same_head, Match::Head))
}

/// CPS 11b: title -> employed (thousands) in 16-19, 20-24, 25-34, 35-44, 45-54, 55-64, 65+.
fn read_cps(raw_dir: &Path) -> Result<Vec<(String, [f64; 7])>> {
    let rows = sheet(raw_dir, CPS_PATH, None)?;
    let mut out = Vec::new();
    for r in rows {
        let (Some(title), Some(_total)) = (text(r.first()), num(r.get(1))) else { continue };
        let mut ages = [0.0; 7];
        let mut ok = true;
        for (i, a) in ages.iter_mut().enumerate() {
            match num(r.get(2 + i)) {
                Some(v) => *a = v,
                None => ok = false,
            }
        }
        if ok && !title.is_empty() {
            out.push((title, ages));
        }
    }
    if out.len() < 500 {
        return Err(derr(CPS_PATH, format!("expected ~590 occupation rows, found {}", out.len())));
    }
    Ok(out)
}

/// EP table 5.3: title -> shares (percent) of the seven attainment groups.
fn read_ep(raw_dir: &Path) -> Result<Vec<(String, [f64; 7])>> {
    let rows = sheet(raw_dir, EP_PATH, Some("Table 5.3"))?;
    let mut out = Vec::new();
    for r in rows {
        let Some(title) = text(r.first()) else { continue };
        let mut shares = [0.0; 7];
        let mut ok = true;
        for (i, s) in shares.iter_mut().enumerate() {
            match num(r.get(2 + i)) {
                Some(v) => *s = v,
                None => ok = false,
            }
        }
        if ok {
            out.push((title, shares));
        }
    }
    if out.len() < 500 {
        return Err(derr(EP_PATH, format!("expected ~790 occupation rows, found {}", out.len())));
    }
    Ok(out)
}

/// What the occupation derivation produces.
pub struct OccupationTables {
    /// (sex, occupation, persons) from B24115/B24116.
    pub by_sex: Vec<Vec<String>>,
    /// (age_band, occupation, persons) — CPS 11b shares scaled to ACS occupation totals.
    pub by_age: Vec<Vec<String>>,
    /// (education_level, occupation, persons) for ages 25+ — EP 5.3 shares × ACS totals.
    pub by_education: Vec<Vec<String>>,
    /// (sex, age_occ, education_level, labor_force, occupation_group, occupation, weight).
    pub model: Vec<Vec<String>>,
    /// Notes for the manifest's choices.
    pub notes: Vec<String>,
}

/// Employed persons by (sex, age, education level), national, from the model's own tables.
pub type EmployedPopulation = BTreeMap<(String, i64, String), f64>;

/// The published occupation data, matched across publishers.
pub struct Occupations {
    titles: Vec<String>,
    by_sex_acs: HashMap<(String, String), f64>,
    /// Per occupation: shares of the seven CPS age groups, and of EP's seven attainment groups.
    age_shares: Vec<[f64; 7]>,
    edu_shares: Vec<[f64; 7]>,
    cps_matches: [usize; 5],
    ep_matches: [usize; 5],
}

/// EP attainment group (0..6, master's and doctoral merged) of each of our levels.
pub fn education_group(level: &str) -> usize {
    EP_GROUPS.iter().position(|(_, ls)| ls.contains(&level)).unwrap_or(0).min(EP_GROUPS.len() - 2)
}

impl Occupations {
    /// The detailed titles (B24115/B24116 order) with their male and female counts.
    pub fn titles_with_counts(&self) -> Vec<(String, [f64; 2])> {
        let of = |sex: &str, t: &String| *self.by_sex_acs.get(&(sex.to_string(), t.clone())).unwrap_or(&0.0);
        self.titles.iter().map(|t| (t.clone(), [of("Male", t), of("Female", t)])).collect()
    }

    fn total_of(&self, o: &str) -> f64 {
        self.by_sex_acs.get(&("Male".into(), o.into())).unwrap_or(&0.0)
            + self.by_sex_acs.get(&("Female".into(), o.into())).unwrap_or(&0.0)
    }

    /// Employed persons 25+ by EP attainment group (six groups, graduate merged), nationally:
    /// ACS occupation totals × CPS 25+ shares × EP attainment shares.
    pub fn workers_by_education(&self) -> [f64; 6] {
        let mut out = [0.0; 6];
        for (o, title) in self.titles.iter().enumerate() {
            let total_25 = self.total_of(title) * self.age_shares[o][2..].iter().sum::<f64>();
            for (g, share) in self.edu_shares[o].iter().enumerate() {
                out[g.min(5)] += total_25 * share;
            }
        }
        out
    }
}

/// Reads and matches the occupation tables.
pub fn load(raw_dir: &Path) -> Result<Occupations> {
    // ACS detailed occupation × sex, national.
    let mut occupations: Vec<String> = Vec::new();
    let mut by_sex_acs: HashMap<(String, String), f64> = HashMap::new();
    for (table, sex) in [("B24115", "Male"), ("B24116", "Female")] {
        for c in super::acs::leaf_cells(raw_dir, "national", table)? {
            let [title] = c.path.as_slice() else {
                return Err(derr(table, format!("unexpected label path {:?}", c.path)));
            };
            if !occupations.contains(title) {
                occupations.push(title.clone());
            }
            *by_sex_acs.entry((sex.to_string(), title.clone())).or_default() += c.estimate;
        }
    }
    // CPS age shares per occupation (exact title match, else closest title, else all employed).
    let cps = read_cps(raw_dir)?;
    let cps_total = cps
        .iter()
        .find(|(t, _)| t == "Total employed")
        .map(|(_, a)| *a)
        .ok_or_else(|| derr(CPS_PATH, "no `Total employed` row"))?;
    let cps_candidates: Vec<(String, Vec<String>)> = cps.iter().map(|(t, _)| (t.clone(), tokens(t))).collect();
    let cps_by_title: HashMap<&str, [f64; 7]> = cps.iter().map(|(t, a)| (t.as_str(), *a)).collect();
    // EP education shares per occupation.
    let ep = read_ep(raw_dir)?;
    let ep_total = ep
        .iter()
        .find(|(t, _)| t.starts_with("Total, all occupations"))
        .map(|(_, s)| *s)
        .ok_or_else(|| derr(EP_PATH, "no total row"))?;
    let ep_candidates: Vec<(String, Vec<String>)> = ep.iter().map(|(t, _)| (t.clone(), tokens(t))).collect();
    let ep_by_title: HashMap<&str, [f64; 7]> = ep.iter().map(|(t, s)| (t.as_str(), *s)).collect();
    // Counts of [exact, parts, closest, head, fallback] matches for CPS and EP.
    let mut cps_matches = [0usize; 5];
    let mut ep_matches = [0usize; 5];
    let mut age_shares: Vec<[f64; 7]> = Vec::new();
    let mut edu_shares: Vec<[f64; 7]> = Vec::new();
    let pick = |title: &str,
                candidates: &[(String, Vec<String>)],
                by_title: &HashMap<&str, [f64; 7]>,
                fallback: [f64; 7],
                counts: &mut [usize; 5]| {
        if let Some((names, how)) = best_match(title, candidates) {
            // The mean of the matched rows' shares (CPS counts are normalised first).
            let mut sum = [0.0f64; 7];
            for n in &names {
                let v = normalised(&by_title[n]);
                sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
            }
            if sum.iter().sum::<f64>() > 0.0 {
                counts[how as usize] += 1;
                return normalised(&sum);
            }
        }
        counts[4] += 1;
        normalised(&fallback)
    };
    for o in &occupations {
        age_shares.push(pick(o, &cps_candidates, &cps_by_title, cps_total, &mut cps_matches));
        edu_shares.push(pick(o, &ep_candidates, &ep_by_title, ep_total, &mut ep_matches));
    }

    Ok(Occupations { titles: occupations, by_sex_acs, age_shares, edu_shares, cps_matches, ep_matches })
}

impl Occupations {
    /// Fits P(occupation | sex, age band, education) to the margins (see the module docs).
    /// `group_of` gives each occupation's B24010 group code (same order as the titles).
    pub fn fit(&self, employed: &EmployedPopulation, group_of: &[String]) -> Result<OccupationTables> {
        if group_of.len() != self.titles.len() {
            return Err(derr("B24010", "one group per detailed occupation expected"));
        }
        let Occupations { titles: occupations, by_sex_acs, age_shares, edu_shares, cps_matches, ep_matches } = self;
        // EP's shares with the licensing floors applied: the groups below an occupation's floor
        // are zero and the rest carry its whole attainment margin.
        let edu_shares: Vec<[f64; 7]> = occupations
            .iter()
            .zip(edu_shares)
            .map(|(title, shares)| {
                let floor = licensing_floor(&occupation_code(title));
                let mut floored = *shares;
                floored.iter_mut().take(floor).for_each(|s| *s = 0.0);
                if floored.iter().sum::<f64>() > 0.0 {
                    normalised(&floored)
                } else {
                    *shares
                }
            })
            .collect();
        let edu_shares = &edu_shares;
        let n_occ = occupations.len();
        let total_of = |o: &str| self.total_of(o);
        // The fit: X[occ][sex][age band][education level].
        let sexes = ["Male", "Female"];
        let (n_sex, n_age, n_edu) = (sexes.len(), OCC_BANDS.len(), EDUCATION.len());
        let cells = n_occ * n_sex * n_age * n_edu;
        let idx = |o: usize, s: usize, a: usize, e: usize| ((o * n_sex + s) * n_age + a) * n_edu + e;
        let band_of = |age: i64| OCC_BANDS.iter().position(|(_, lo, hi)| *lo <= age && age <= *hi);
        let ep_group = |level: &str| -> Vec<usize> {
            EP_GROUPS.iter().enumerate().filter(|(_, (_, ls))| ls.contains(&level)).map(|(i, _)| i).collect()
        };
        // Employed population margin [sex][age][edu].
        let mut pop = vec![0.0f64; n_sex * n_age * n_edu];
        for ((sex, age, level), w) in employed {
            let (Some(s), Some(a), Some(e)) =
                (sexes.iter().position(|x| x == sex), band_of(*age), EDUCATION.iter().position(|x| x == level))
            else {
                continue;
            };
            pop[(s * n_age + a) * n_edu + e] += w;
        }
        let employed_total: f64 = pop.iter().sum();
        let acs_total: f64 = occupations.iter().map(|o| total_of(o)).sum();
        let scale = employed_total / acs_total;
        // Seed: zero where EP says nobody in the occupation has that attainment (e.g. surgeons
        // without a degree), at every age.
        let mut seed = vec![0.0f64; cells];
        for o in 0..n_occ {
            for e in 0..n_edu {
                let possible = ep_group(EDUCATION[e]).iter().any(|g| edu_shares[o][*g] > 0.0);
                if possible {
                    for s in 0..n_sex {
                        for a in 0..n_age {
                            seed[idx(o, s, a, e)] = 1.0;
                        }
                    }
                }
            }
        }
        let mut m_pop = GroupMargin { group_of: vec![0; cells], targets: pop.clone() };
        let mut m_sex = GroupMargin { group_of: vec![0; cells], targets: vec![0.0; n_occ * n_sex] };
        let mut m_age = GroupMargin { group_of: vec![0; cells], targets: vec![0.0; n_occ * n_age] };
        let n_groups = EP_GROUPS.len() - 1; // master's and doctoral both map to graduate
        let mut m_edu = GroupMargin { group_of: vec![u32::MAX; cells], targets: vec![0.0; n_occ * n_groups] };
        let group_of_level = |e: usize| -> usize { ep_group(EDUCATION[e])[0].min(n_groups - 1) };
        for o in 0..n_occ {
            let total = total_of(&occupations[o]) * scale;
            for (s, sex) in sexes.iter().enumerate() {
                m_sex.targets[o * n_sex + s] =
                    by_sex_acs.get(&(sex.to_string(), occupations[o].clone())).unwrap_or(&0.0) * scale;
            }
            for a in 0..n_age {
                m_age.targets[o * n_age + a] = total * age_shares[o][a];
            }
            let total_25: f64 = total * age_shares[o][2..].iter().sum::<f64>();
            for (g, share) in edu_shares[o].iter().enumerate() {
                m_edu.targets[o * n_groups + g.min(n_groups - 1)] += total_25 * share;
            }
            for s in 0..n_sex {
                for a in 0..n_age {
                    for e in 0..n_edu {
                        let i = idx(o, s, a, e);
                        m_pop.group_of[i] = ((s * n_age + a) * n_edu + e) as u32;
                        m_sex.group_of[i] = (o * n_sex + s) as u32;
                        m_age.group_of[i] = (o * n_age + a) as u32;
                        if a >= 2 {
                            m_edu.group_of[i] = (o * n_groups + group_of_level(e)) as u32;
                        }
                    }
                }
            }
        }
        // The 25+ education margin covers part of the population only: match its total to the
        // population margin's 25+ total.
        let pop_25: f64 = (0..n_sex)
            .flat_map(|s| (2..n_age).flat_map(move |a| (0..n_edu).map(move |e| (s, a, e))))
            .map(|(s, a, e)| pop[(s * n_age + a) * n_edu + e])
            .sum();
        let edu_sum: f64 = m_edu.targets.iter().sum();
        m_edu.targets.iter_mut().for_each(|t| *t *= pop_25 / edu_sum);
        let margins = [m_sex, m_age, m_edu, m_pop];
        let (fitted, _) = fit_groups(&seed, &margins, 300);
        // How far the fit is from each margin (they come from different surveys and years and
        // cannot all hold exactly): total variation distance.
        let fit_tvd: Vec<String> = [
            "B24115/6 occupation × sex",
            "CPS 11b occupation × age",
            "EP 5.3 occupation × education (25+)",
            "employed population sex × age × education",
        ]
        .iter()
        .zip(&margins)
        .map(|(name, m)| {
            let mut sums = vec![0.0f64; m.targets.len()];
            for (x, g) in fitted.iter().zip(&m.group_of) {
                if *g != u32::MAX {
                    sums[*g as usize] += x;
                }
            }
            let (ts, ss): (f64, f64) = (m.targets.iter().sum(), sums.iter().sum());
            let tvd: f64 = m.targets.iter().zip(&sums).map(|(t, s)| (t / ts - s / ss).abs()).sum::<f64>() / 2.0;
            format!("{name} {tvd:.4}")
        })
        .collect();

        let mut model = Vec::new();
        for (s, sex) in sexes.iter().enumerate() {
            for (a, (band, _, _)) in OCC_BANDS.iter().enumerate() {
                for (e, level) in EDUCATION.iter().enumerate() {
                    let total: f64 = (0..n_occ).map(|o| fitted[idx(o, s, a, e)]).sum();
                    // total is zero where no such persons exist (graduate degrees at 18-19).
                    for o in (0..n_occ).filter(|_| total > 0.0) {
                        let w = fitted[idx(o, s, a, e)] / total;
                        if w >= 1e-7 {
                            model.push(vec![
                                sex.to_string(),
                                band.to_string(),
                                level.to_string(),
                                "in".into(),
                                group_of[o].clone(),
                                occupation_code(&occupations[o]),
                                format!("{w:.4e}"),
                            ]);
                        }
                    }
                    model.push(vec![
                        sex.to_string(),
                        band.to_string(),
                        level.to_string(),
                        "out".into(),
                        NOT_IN_WORKFORCE.into(),
                        NOT_IN_WORKFORCE.into(),
                        "1".into(),
                    ]);
                }
            }
        }
        let mut by_sex = Vec::new();
        let mut by_age = Vec::new();
        let mut by_education = Vec::new();
        for (o, title) in occupations.iter().enumerate() {
            let code = occupation_code(title);
            for sex in sexes {
                by_sex.push(vec![
                    sex.to_string(),
                    code.clone(),
                    format!("{}", by_sex_acs.get(&(sex.to_string(), title.clone())).unwrap_or(&0.0)),
                ]);
            }
            let total = total_of(title);
            for (a, (band, _, _)) in OCC_BANDS.iter().enumerate() {
                by_age.push(vec![band.to_string(), code.clone(), format!("{:.1}", total * age_shares[o][a])]);
            }
            let total_25: f64 = total * age_shares[o][2..].iter().sum::<f64>();
            for level in EDUCATION {
                // Both less-than-high-school levels carry EP's one group (same conditional).
                let share: f64 = ep_group(level).iter().map(|g| edu_shares[o][*g]).sum();
                by_education.push(vec![level.to_string(), code.clone(), format!("{:.1}", total_25 * share)]);
            }
        }
        let notes = vec![
        format!(
            "Occupation: {n_occ} detailed Census occupations (ACS 2018 B24115/B24116, civilian employed 16+, national). \
             Titles are matched across publishers by their words (footnote marks and \
             'all', 'other', 'miscellaneous' ignored): the same words; else, for an aggregate title, the mean of every \
             title whose words it contains; else the closest title (token Jaccard >= 0.6); else the mean of the titles with \
             the same head noun ('... physicians'); else the all-occupations row. Age shares from BLS CPS 2025 table 11b ({} \
             same words, {} aggregates, {} closest, {} same head, {} all-employed); the 16-19 column stands for 18-19. \
             Education shares (25+) from BLS EP table 5.3, 2019 ({} same words, {} aggregates, {} closest, {} same head, {} \
             all-occupations); master's and doctoral degrees both count as graduate, and EP's one \
             less-than-high-school group covers less_than_9th and 9th_12th_no_diploma alike.",
            cps_matches[0], cps_matches[1], cps_matches[2], cps_matches[3], cps_matches[4], ep_matches[0], ep_matches[1], ep_matches[2], ep_matches[3], ep_matches[4]
        ),
        format!(
            "P(occupation | sex, age band, education) is one national table: IPF (300 sweeps) of occupation × sex × age band × education to four margins: B24115/B24116, CPS 11b age \
             shares × ACS totals, EP 5.3 shares × ACS totals for ages 25+, and the model's own employed population by sex \
             × age band × education. Where EP gives an occupation 0% in an attainment group the cell is a structural zero at \
             every age (no surgeons without a degree). No detailed table is published by state: occupation depends on state \
             through its B24010 group (next choice). \
             Conditionals below 1e-7 are dropped. Joint TVD of the fit against each margin: {}.",
            fit_tvd.join(", ")
        ),
        format!(
            "Occupation × education, licensing floors: EP 5.3 is self-reported (ACS), and gives small shares below what \
             the law or the licensing body requires to hold the job (0.6 % of lawyers with a high-school diploma, 1.4 % \
             of speech-language pathologists without one). For {} occupations the fit takes EP's shares with the \
             attainment groups below the floor set to zero and the rest scaled up (structural zeros, no estimate): {}. \
             `ep_5_3_occupation_education.csv` holds the shares so floored.",
            LICENSING_FLOORS.len(),
            LICENSING_FLOORS
                .iter()
                .map(|(code, floor, basis)| format!("{code} ≥ {} ({basis})", EP_GROUPS[*floor].0))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        "Labour force: employed and unemployed are `in` the labour force, the rest `out` (labor_force.csv). \
         Employment status: B23001 by state, sex and age, civilians only (armed forces left out, like the PEP civilian \
         universe); the 16-19 band stands for 18-19; education tilts it (next choice). The unemployed carry an occupation (their last one, drawn \
         like the employed); people not in the labour force have occupation = not_in_workforce."
            .into(),
    ];
        Ok(OccupationTables { by_sex, by_age, by_education, model, notes })
    }
}

fn normalised(v: &[f64; 7]) -> [f64; 7] {
    let t: f64 = v.iter().sum();
    let mut out = [0.0; 7];
    if t > 0.0 {
        for (o, x) in out.iter_mut().zip(v) {
            *o = x / t;
        }
    }
    out
}

/// B23001 rows (state, sex, age_band, employment_status, persons) for civilians 18+.
pub fn employment_rows(raw_dir: &Path) -> Result<Vec<Vec<String>>> {
    let mut agg: BTreeMap<(String, String, (i64, i64), &'static str), f64> = BTreeMap::new();
    for c in super::acs::leaf_cells(raw_dir, "state", "B23001")? {
        let (Some(sex), Some(age)) = (c.path.first(), c.path.get(1)) else { continue };
        let status = if c.path.iter().any(|p| p == "In Armed Forces") {
            continue;
        } else if c.path.iter().any(|p| p == "Employed") {
            "employed"
        } else if c.path.iter().any(|p| p == "Unemployed") {
            "unemployed"
        } else if c.path.iter().any(|p| p == "Not in labor force") {
            "not_in_labor_force"
        } else {
            return Err(derr("B23001", format!("unrecognised label path {:?}", c.path)));
        };
        let Some(mut range) = crate::derive::bands::age_range(age) else {
            return Err(derr("B23001", format!("unrecognised age `{age}`")));
        };
        if range.1 < 18 {
            continue;
        }
        range.0 = range.0.max(18);
        *agg.entry((c.geo.clone(), sex.clone(), range, status)).or_default() += c.estimate;
    }
    Ok(agg
        .into_iter()
        .map(|((state, sex, range, status), w)| {
            vec![state, sex, crate::derive::bands::band_label(range), status.to_string(), format!("{w}")]
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_tokens() {
        assert_eq!(
            occupation_code("Transportation, storage, and distribution managers"),
            "transportation_storage_and_distribution_managers"
        );
        assert_eq!(tokens("Chief executives(1)"), tokens("Chief executives"));
        let c = vec![("Managers, all other".to_string(), tokens("Managers, all other"))];
        assert_eq!(best_match("Miscellaneous managers", &c), Some((vec!["Managers, all other"], Match::Exact)));
        let c: Vec<(String, Vec<String>)> = ["Lawyers", "Judges, magistrates, and other judicial workers", "Dentists"]
            .iter()
            .map(|t| (t.to_string(), tokens(t)))
            .collect();
        let (parts, how) = best_match("Lawyers, and judges, magistrates, and other judicial workers", &c).unwrap();
        assert_eq!((parts.len(), how), (2, Match::Parts));
    }
}
