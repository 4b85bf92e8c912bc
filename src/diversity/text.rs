//! Template-likeness of texts, as `../shared/tools/narrative_stats.py` measures it (sentences
//! split after `.!?。！？।`), and distinct-n-gram ratios.

use std::collections::{HashMap, HashSet};

/// The sentences of a text: split after `.`, `!`, `?`, `。`, `！`, `？` or `।` (and the spaces
/// after it), trimmed, empty ones dropped.
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '।') {
            let end = i + c.len_utf8();
            let s = text[start..end].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = end;
        }
    }
    let s = text[start..].trim();
    if !s.is_empty() {
        out.push(s);
    }
    out
}

/// Whether a character is written without spaces between words (CJK, kana, Thai): each such
/// character is a token of its own.
fn unspaced(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF   // hiragana, katakana
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xF900..=0xFAFF // CJK compatibility
        | 0xAC00..=0xD7AF // Hangul syllables
        | 0x0E00..=0x0E7F // Thai
    )
}

/// Lower-cased word tokens, hashed: runs of letters, digits and combining marks; every
/// CJK/kana character alone. Punctuation and spaces separate tokens.
pub fn tokens(text: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<u64>| {
        if !word.is_empty() {
            out.push(hash_str(word));
            word.clear();
        }
    };
    for c in text.chars() {
        if unspaced(c) {
            flush(&mut word, &mut out);
            let mut buf = [0u8; 4];
            out.push(hash_str(c.encode_utf8(&mut buf)));
        } else if c.is_alphanumeric() || is_mark(c) {
            word.extend(c.to_lowercase());
        } else {
            flush(&mut word, &mut out);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Combining marks of Indic scripts (matras, virama, anusvara) that belong inside a word.
fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0900..=0x0903 | 0x093A..=0x094F | 0x0951..=0x0957 | 0x0962..=0x0963 | 0x0300..=0x036F)
}

fn hash_str(s: &str) -> u64 {
    // FNV-1a then a mixer: stable across runs and platforms.
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in s.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    crate::hash::mix64(h)
}

/// Distinct n-gram ratios for n = 1, 2, 3 over `texts` (n-grams inside each text): distinct
/// n-grams / all n-grams; 0 where there are none.
pub fn distinct_ngrams<'a>(texts: impl IntoIterator<Item = &'a str>) -> [f64; 3] {
    let mut sets: [HashSet<u64>; 3] = Default::default();
    let mut totals = [0usize; 3];
    for text in texts {
        let t = tokens(text);
        for n in 1..=3 {
            if t.len() < n {
                continue;
            }
            for w in t.windows(n) {
                let h = w.iter().fold(n as u64, |acc, x| crate::hash::mix64(acc ^ x));
                sets[n - 1].insert(h);
                totals[n - 1] += 1;
            }
        }
    }
    let mut out = [0.0; 3];
    for n in 0..3 {
        if totals[n] > 0 {
            out[n] = sets[n].len() as f64 / totals[n] as f64;
        }
    }
    out
}

/// The share of sentence tokens whose exact sentence occurs in two or more of `personas`
/// (each a list of texts): `narrative_stats.py`'s "repeated".
pub fn repeated_share(personas: &[Vec<&str>]) -> f64 {
    let mut seen_in: HashMap<&str, (usize, usize)> = HashMap::new(); // sentence -> (personas, last persona + 1)
    let mut all = Vec::new();
    for (p, texts) in personas.iter().enumerate() {
        for text in texts {
            for s in sentences(text) {
                let e = seen_in.entry(s).or_insert((0, 0));
                if e.1 != p + 1 {
                    e.0 += 1;
                    e.1 = p + 1;
                }
                all.push(s);
            }
        }
    }
    if all.is_empty() {
        return 0.0;
    }
    all.iter().filter(|s| seen_in.get(*s).is_some_and(|e| e.0 >= 2)).count() as f64 / all.len() as f64
}

/// The `k` sentences found in most of `texts` (one text a persona), with the number of texts
/// that hold each; ties in order of first appearance.
pub fn top_sentences<'a>(texts: impl IntoIterator<Item = &'a str>, k: usize) -> Vec<(usize, String)> {
    let mut counts: HashMap<&str, (usize, usize, usize)> = HashMap::new(); // (texts, first, last text + 1)
    for (i, text) in texts.into_iter().enumerate() {
        for s in sentences(text) {
            let next = counts.len();
            let e = counts.entry(s).or_insert((0, next, 0));
            if e.2 != i + 1 {
                e.0 += 1;
                e.2 = i + 1;
            }
        }
    }
    let mut v: Vec<(&str, (usize, usize, usize))> = counts.into_iter().filter(|(_, c)| c.0 >= 2).collect();
    v.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.1 .1.cmp(&b.1 .1)));
    v.into_iter().take(k).map(|(s, c)| (c.0, s.to_string())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sentences_like_narrative_stats() {
        assert_eq!(
            sentences("She cooks. He reads!  Why? 東京に住む。趣味は釣り。"),
            vec!["She cooks.", "He reads!", "Why?", "東京に住む。", "趣味は釣り。"]
        );
        assert_eq!(sentences("वह पढ़ती है। no end"), vec!["वह पढ़ती है।", "no end"]);
        assert!(sentences("  ").is_empty());
    }

    #[test]
    fn tokens_lowercase_words_and_cjk_characters() {
        assert_eq!(tokens("The the, THE"), vec![hash_str("the"); 3]);
        assert_eq!(tokens("東京 tokyo").len(), 3);
        // A Devanagari word with its vowel signs stays one token.
        assert_eq!(tokens("किताबें पढ़ती").len(), 2);
    }

    #[test]
    fn distinct_ratios() {
        // "a b a b": unigrams {a, b} of 4, bigrams {ab, ba} of 3, trigrams {aba, bab} of 2.
        let r = distinct_ngrams(["a b a b"]);
        assert_eq!(r, [0.5, 2.0 / 3.0, 1.0]);
        // The same text twice halves every ratio.
        let twice = distinct_ngrams(["x y z", "x y z"]);
        assert_eq!(twice, [0.5, 0.5, 0.5]);
        assert_eq!(distinct_ngrams(Vec::<&str>::new()), [0.0; 3]);
    }

    #[test]
    fn repeated_and_top_sentences() {
        let a = vec!["He likes tea. He was born in Ohio."];
        let b = vec!["He likes tea. She runs."];
        let c = vec!["Quiet."];
        // Of 5 sentence tokens, the two "He likes tea." are repeated.
        assert!((repeated_share(&[a, b, c]) - 0.4).abs() < 1e-12);
        // A sentence twice in one persona counts that persona once.
        assert_eq!(repeated_share(&[vec!["Same. Same."]]), 0.0);
        let top = top_sentences(["A. B.", "A. C.", "A. B."], 5);
        assert_eq!(top, vec![(3, "A.".to_string()), (2, "B.".to_string())]);
    }
}
