//! Hostile locale pack files: the network, its tables, the narrative templates and lexicons.

use super::*;

// ---------------------------------------------------------------------------------------------
// Locale pack files: the network, its tables, the narrative templates and lexicons.

fn mutate(r: &mut Rng, text: &str) -> Option<String> {
    let mut text = text.to_string();
    for _ in 0..1 + r.below(3) {
        let lines: Vec<&str> = text.split('\n').collect();
        let line = r.below(lines.len());
        text = match r.below(13) {
            0 => {
                let cut = r.below(text.chars().count() + 1);
                text.chars().take(cut).collect()
            }
            1 => lines.iter().enumerate().filter(|(i, _)| *i != line).map(|(_, l)| *l).collect::<Vec<_>>().join("\n"),
            2 => {
                let mut l = lines.clone();
                l.insert(line, lines[line]);
                l.join("\n")
            }
            3 => {
                let mut l = lines.clone();
                l.swap(line, 0);
                l.join("\n")
            }
            4 => {
                // One number becomes something that is not a usable number.
                let replacement = r.pick(&["NaN", "-1", "1e400", "", "abc", "-0", "inf", "99999999999999999999", "0"]);
                replace_nth_number(&text, r.below(200), replacement)
            }
            5 => {
                let at = r.below(text.chars().count().max(1));
                let c = *r.pick(&[',', '"', '\n', '\u{0}', '{', '}', '[', ']', ':', '\\']);
                text.chars().enumerate().map(|(i, x)| if i == at { c } else { x }).collect()
            }
            6 => return Some(String::new()),
            7 => return None,
            8 => {
                // A quoted word becomes another type.
                let replacement = r.pick(&["123", "null", "[]", "{}", "true", "\"\"", "\"x\""]);
                replace_nth_quoted(&text, r.below(100), replacement)
            }
            9 => {
                let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
                l[line] = l[line]
                    .split(',')
                    .map(|f| if f.parse::<f64>().is_ok() { "0" } else { f })
                    .collect::<Vec<_>>()
                    .join(",");
                l.join("\n")
            }
            10 => format!("\u{feff}{text}"),
            11 => format!("{text}\n{text}"),
            _ => {
                let mut l = lines.clone();
                let extra = format!("{},{}", lines[line], lines[line]);
                l[line] = &extra;
                l.join("\n")
            }
        };
    }
    Some(text)
}

fn replace_nth_number(text: &str, n: usize, replacement: &str) -> String {
    let spans: Vec<(usize, usize)> = {
        let b = text.as_bytes();
        let mut spans = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_digit() {
                let start = i;
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'e' || b[i] == b'-') {
                    i += 1;
                }
                spans.push((start, i));
            } else {
                i += 1;
            }
        }
        spans
    };
    match spans.get(n % spans.len().max(1)) {
        Some(&(s, e)) => format!("{}{}{}", &text[..s], replacement, &text[e..]),
        None => text.to_string(),
    }
}

fn replace_nth_quoted(text: &str, n: usize, replacement: &str) -> String {
    let quotes: Vec<usize> = text.match_indices('"').map(|(i, _)| i).collect();
    let pairs: Vec<(usize, usize)> = quotes.chunks(2).filter(|c| c.len() == 2).map(|c| (c[0], c[1] + 1)).collect();
    match pairs.get(n % pairs.len().max(1)) {
        Some(&(s, e)) => format!("{}{}{}", &text[..s], replacement, &text[e..]),
        None => text.to_string(),
    }
}

#[test]
fn hostile_pack_files() {
    count_panics();
    let watchdog = Watchdog::start();
    let mut r = Rng::new(4);
    let mut tally = Tally::default();
    for locale in ["sg", "br", "us"] {
        let pack = personadb::locale::pack(locale).expect("pack");
        let model = personadb::locale::model(locale).expect("model");
        let columns: Vec<String> = model.columns.iter().map(|c| c.name().to_string()).collect();
        let spec = model.persona.language(locale, None).expect("language");
        let language = personadb::narrate::Language::from_code(&spec.code).expect("code");
        let narrative = format!("narrative/{}/", spec.code);
        let files: Vec<String> = pack
            .file_names()
            .expect("files")
            .into_iter()
            .filter(|f| {
                (f.ends_with(".csv") || f.ends_with(".json")) && *f != "manifest.json" && !f.starts_with("sources/")
            })
            .filter(|f| !f.starts_with("narrative/") || f.starts_with(&narrative))
            .map(str::to_string)
            .collect();
        let personas = model.sample_batch(5, 0, 32, None, Encoding::Plain, 1).expect("sample");
        let cases = if locale == "us" { 40 } else { 90 };
        for _ in 0..cases * scale() {
            let file = r.pick(&files).clone();
            let original = pack.file(&file).expect("file");
            let mutated = mutate(&mut r, original);
            let read = |name: &str| -> personadb::Result<String> {
                if name == file {
                    mutated.clone().ok_or_else(|| {
                        personadb::Error::io(
                            format!("reading {name}"),
                            std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory"),
                        )
                    })
                } else {
                    pack.file(name).map(str::to_string)
                }
            };
            let input = format!("{locale}/{file}: {}", mutated.as_deref().map(shorten).unwrap_or("(missing)".into()));
            watchdog.watch(&input);
            let started = Instant::now();
            let outcome = if file.starts_with("narrative/") {
                personadb::narrate::PackNarrator::load(locale, language, &model.persona, &columns, &read)
                    .and_then(|n| n.narrate_batch(&personas, r.next()))
                    .map(|_| ())
                    .map_err(|e| message(&e))
            } else {
                read("network.json")
                    .and_then(|text| {
                        serde_json::from_str::<personadb::model::NetworkSpec>(&text).map_err(|e| {
                            personadb::Error::InvalidLocalePack {
                                locale: locale.into(),
                                reason: format!("network.json: {e}"),
                            }
                        })
                    })
                    .and_then(|spec| personadb::model::LocaleModel::from_spec(spec, &read))
                    .and_then(|m| {
                        m.sample_batch(r.next(), 0, 64, None, Encoding::Plain, 1)?;
                        m.sample_batch(r.next(), 0, 64, None, Encoding::Dictionary, 2)
                    })
                    .map(|_| ())
                    .map_err(|e| message(&e))
            };
            tally.record(&input, started.elapsed(), outcome);
            watchdog.done();
        }
    }
    tally.finish("locale pack files", 220);
}
