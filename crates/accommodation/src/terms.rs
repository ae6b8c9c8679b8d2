//! How a guest's words become search terms. Koreans type places the way
//! they say them: with or without the administrative suffix (제주도, 제주;
//! 해운대구, 해운대; 역삼동, 역삼), romanized (Jeju, Haeundae, Gangnam-gu),
//! several words in any order. A term is one word of the query with the
//! spellings any of which may match; a property matches a query when every
//! term matches its name, region, address or description (lower-cased
//! substrings, so Korean needs no tokenizer).
//!
//! The same terms drive the in-memory index and the tests' SQL reference,
//! so both mean the same thing by "matches".

/// One word of a query: the spellings, any of which matches (lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub spellings: Vec<String>,
}

/// Administrative suffixes, longest first: a word ending in one also matches
/// without it, as long as two characters remain (명동 stays 명동).
const SUFFIXES: &[&str] = &[
    "특별자치도",
    "특별자치시",
    "특별시",
    "광역시",
    "자치구",
    "도",
    "시",
    "군",
    "구",
    "동",
    "읍",
    "면",
    "리",
];

/// Romanized suffixes (Jeju-do, Gangnam-gu, Seoul-si, Myeong-dong).
const ROMAN_SUFFIXES: &[&str] = &[
    "-do", "-si", "-gun", "-gu", "-dong", "-eup", "-myeon", "-ri",
];

/// Romanized names of the regions and well-known districts, with their
/// Korean spelling, so "haeundae" finds 해운대구 in an address.
const ROMANIZED: &[(&str, &str)] = &[
    ("seoul", "서울"),
    ("busan", "부산"),
    ("jeju", "제주"),
    ("gangneung", "강릉"),
    ("sokcho", "속초"),
    ("gyeongju", "경주"),
    ("jeonju", "전주"),
    ("yeosu", "여수"),
    ("incheon", "인천"),
    ("daegu", "대구"),
    ("gapyeong", "가평"),
    ("yangyang", "양양"),
    ("tongyeong", "통영"),
    ("namhae", "남해"),
    ("pohang", "포항"),
    ("chuncheon", "춘천"),
    ("gangwon", "강원"),
    ("gyeonggi", "경기"),
    ("gangnam", "강남"),
    ("jongno", "종로"),
    ("mapo", "마포"),
    ("hongdae", "홍대"),
    ("myeongdong", "명동"),
    ("myeong", "명동"),
    ("itaewon", "이태원"),
    ("yongsan", "용산"),
    ("jamsil", "잠실"),
    ("songpa", "송파"),
    ("yeouido", "여의도"),
    ("haeundae", "해운대"),
    ("gwangalli", "광안리"),
    ("gwangan", "광안"),
    ("suyeong", "수영"),
    ("seomyeon", "서면"),
    ("nampo", "남포"),
    ("gijang", "기장"),
    ("seogwipo", "서귀포"),
    ("aewol", "애월"),
    ("jungmun", "중문"),
    ("hamdeok", "함덕"),
    ("seongsan", "성산"),
    ("hallim", "한림"),
    ("gyo", "교동"),
    ("gangmun", "강문"),
    ("jumunjin", "주문진"),
    ("yeongnang", "영랑"),
    ("bomun", "보문"),
    ("hwangnam", "황남"),
    ("pungnam", "풍남"),
    ("dolsan", "돌산"),
    ("songdo", "송도"),
    ("wolmido", "월미도"),
    ("suseong", "수성"),
    ("dongseong", "동성로"),
    ("cheongpyeong", "청평"),
    ("naksan", "낙산"),
    ("jukdo", "죽도"),
    ("mireuk", "미륵"),
    ("sangju", "상주"),
    ("guryongpo", "구룡포"),
    ("homigot", "호미곶"),
    ("nami", "남이섬"),
    ("soyang", "소양"),
];

/// The terms of `text`: one per whitespace- or comma-separated word, in
/// order, duplicates dropped. An empty list means no keyword.
pub fn terms(text: &str) -> Vec<Term> {
    let mut out: Vec<Term> = Vec::new();
    for word in text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
    {
        let term = term(word);
        if !out.contains(&term) {
            out.push(term);
        }
    }
    out
}

/// The spellings of one word: the word itself, without its administrative
/// suffix, and the Korean of a romanized name.
pub fn term(word: &str) -> Term {
    let word = word.to_lowercase();
    let mut spellings = vec![strip_suffix(&word).to_owned()];
    if let Some((_, korean)) = ROMANIZED.iter().find(|(roman, _)| *roman == spellings[0]) {
        spellings.push((*korean).to_owned());
    }
    Term { spellings }
}

/// `word` without its administrative suffix, Korean or romanized, when at
/// least two characters remain; otherwise `word` itself.
fn strip_suffix(word: &str) -> &str {
    for suffix in SUFFIXES.iter().chain(ROMAN_SUFFIXES) {
        if let Some(stem) = word.strip_suffix(suffix)
            && stem.chars().count() >= 2
        {
            return stem;
        }
    }
    word
}

impl Term {
    /// Whether any spelling occurs in `text` (already lower case).
    pub fn matches(&self, text: &str) -> bool {
        self.spellings.iter().any(|s| text.contains(s.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spellings(word: &str) -> Vec<String> {
        term(word).spellings
    }

    #[test]
    fn administrative_suffixes_are_optional() {
        assert_eq!(spellings("제주도"), ["제주"]);
        assert_eq!(spellings("서울특별시"), ["서울"]);
        assert_eq!(spellings("해운대구"), ["해운대"]);
        assert_eq!(spellings("역삼동"), ["역삼"]);
        assert_eq!(spellings("가평군"), ["가평"]);
        // Two characters must remain: 명동 is a name, not 명 + 동.
        assert_eq!(spellings("명동"), ["명동"]);
        assert_eq!(spellings("중구"), ["중구"]);
    }

    #[test]
    fn romanized_names_find_their_korean_spelling() {
        assert_eq!(spellings("Jeju-do"), ["jeju", "제주"]);
        assert_eq!(spellings("HAEUNDAE"), ["haeundae", "해운대"]);
        assert_eq!(spellings("Gangnam-gu"), ["gangnam", "강남"]);
        assert_eq!(spellings("ocean"), ["ocean"]);
    }

    #[test]
    fn a_query_is_its_words_in_order_without_repeats() {
        let t = terms("  부산  해운대구, ocean  부산 ");
        let words: Vec<&str> = t.iter().map(|t| t.spellings[0].as_str()).collect();
        assert_eq!(words, ["부산", "해운대", "ocean"]);
        assert!(terms(" , ").is_empty());
    }

    #[test]
    fn a_term_matches_any_spelling() {
        let t = term("Haeundae-gu");
        assert!(t.matches("부산광역시 해운대구 우동 1"));
        assert!(t.matches("a hotel in haeundae"));
        assert!(!t.matches("부산광역시 수영구 광안동"));
    }
}
