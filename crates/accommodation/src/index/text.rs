//! Which listings may contain a spelling: postings of every character pair
//! (and every single non-ASCII character) of a listing's lower-cased text.
//! A spelling's candidates are the intersection of its pairs' postings; the
//! caller confirms each candidate with a substring test, so the postings only
//! have to never miss. Korean needs no tokenizer this way: 해운대 is 해운 and
//! 운대, found in 부산광역시 해운대구.

use std::collections::HashMap;
use std::sync::Arc;

use super::memo::Memo;

/// Postings over the listings of one snapshot, by position.
#[derive(Debug, Default)]
pub(crate) struct TextIndex {
    pairs: HashMap<(char, char), Vec<u32>>,
    singles: HashMap<char, Vec<u32>>,
    /// What recent queries matched, as (position, relevance): guests ask
    /// the same places and words over and over, and a match depends only
    /// on the text these postings were built from.
    matched: Memo<(String, String), Matched>,
}

/// The listings a query's region and keyword match, with their relevance.
pub(crate) type Matched = Arc<Vec<(u32, u32)>>;

impl TextIndex {
    /// Indexes `texts`, the searchable text of each listing by position.
    pub(crate) fn build<'a>(texts: impl Iterator<Item = &'a str>) -> Self {
        let mut index = TextIndex::default();
        for (position, text) in texts.enumerate() {
            let position = u32::try_from(position).unwrap_or(u32::MAX);
            let mut previous: Option<char> = None;
            for c in text.chars() {
                if c.is_whitespace() {
                    previous = None;
                    continue;
                }
                if !c.is_ascii() {
                    push(index.singles.entry(c).or_default(), position);
                }
                if let Some(p) = previous {
                    push(index.pairs.entry((p, c)).or_default(), position);
                }
                previous = Some(c);
            }
        }
        index
    }

    /// Positions of the listings whose text may contain `spelling`, sorted;
    /// `None` when the index cannot narrow it (a single ASCII character).
    pub(crate) fn candidates(&self, spelling: &str) -> Option<Vec<u32>> {
        let chars: Vec<char> = spelling.chars().collect();
        match chars.as_slice() {
            [] => None,
            [c] if c.is_ascii() => None,
            [c] => Some(self.singles.get(c).cloned().unwrap_or_default()),
            _ => {
                let mut lists: Vec<&Vec<u32>> = Vec::with_capacity(chars.len());
                for pair in chars.windows(2) {
                    match self.pairs.get(&(pair[0], pair[1])) {
                        Some(list) => lists.push(list),
                        None => return Some(Vec::new()),
                    }
                }
                lists.sort_by_key(|l| l.len());
                let mut result = lists[0].clone();
                for list in &lists[1..] {
                    result = intersect(&result, list);
                    if result.is_empty() {
                        break;
                    }
                }
                Some(result)
            }
        }
    }
}

impl TextIndex {
    /// What `region` and `keyword` match, from the cache or `compute`.
    pub(crate) fn matched(
        &self,
        region: &str,
        keyword: &str,
        compute: impl FnOnce() -> Vec<(u32, u32)>,
    ) -> Matched {
        let key = (region.to_owned(), keyword.to_owned());
        self.matched.get_or(key, || Arc::new(compute()))
    }
}

/// Appends `position` unless it is already the last (positions arrive in order).
fn push(list: &mut Vec<u32>, position: u32) {
    if list.last() != Some(&position) {
        list.push(position);
    }
}

/// The intersection of two sorted lists.
pub(crate) fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// The union of two sorted lists.
pub(crate) fn union(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out: Vec<u32> = a.iter().chain(b).copied().collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_never_miss_a_substring() {
        let texts = [
            "부산 오션 호텔\u{1}부산광역시 해운대구 우동 12",
            "a sea view hotel in busan",
            "서울 시티 펜션\u{1}서울특별시 강남구 역삼동 1",
        ];
        let index = TextIndex::build(texts.iter().copied());
        assert_eq!(index.candidates("해운대"), Some(vec![0]));
        assert_eq!(index.candidates("busan"), Some(vec![1]));
        assert_eq!(index.candidates("호텔"), Some(vec![0]));
        assert_eq!(index.candidates("hotel"), Some(vec![1]));
        assert_eq!(index.candidates("서"), Some(vec![2]));
        assert_eq!(index.candidates("e"), None);
        assert_eq!(index.candidates("zzz"), Some(vec![]));
        for (spelling, expected) in [("동", vec![0, 2]), ("시", vec![0, 2])] {
            assert_eq!(index.candidates(spelling), Some(expected));
        }
    }

    #[test]
    fn sorted_lists_intersect_and_unite() {
        assert_eq!(intersect(&[1, 3, 5, 7], &[3, 4, 5]), [3, 5]);
        assert_eq!(union(&[1, 5], &[2, 5, 9]), [1, 2, 5, 9]);
    }
}
