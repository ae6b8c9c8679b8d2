//! `staymesh.accommodation.v1.SearchAvailabilityResponse`, written by hand:
//! the build maps the message here (`extern_path`) so that a server can answer
//! with results assembled from parts encoded once. What a result shows of its
//! property (id, name, region, address, thumbnail, rating, reviews) and of
//! each room type (id, name, occupancy) changes only when the host edits it,
//! while search is the most called API: building, encoding and dropping a
//! page of twenty results' strings, UUIDs and nested messages was a tenth of
//! the service's work for it. Only the stay's prices and rooms left are
//! encoded per search. On the wire it is the generated message's exact
//! encoding, so clients and the HTTP edge see no difference.

use prost::bytes::{Buf, BufMut, Bytes};
use prost::encoding::{
    DecodeContext, WireType, encode_key, encode_varint, encoded_len_varint, key_len, message,
    skip_field, string,
};
use prost::{DecodeError, Message};

use crate::staymesh::accommodation::v1::{AvailableRoom, SearchResult};

/// Field numbers in the contract.
const RESULTS_TAG: u32 = 1;
const NEXT_PAGE_TOKEN_TAG: u32 = 2;
/// `SearchResult.lowest_total_price`, `SearchResult.rooms`.
const LOWEST_TOTAL_PRICE_TAG: u32 = 8;
const ROOMS_TAG: u32 = 9;
/// `AvailableRoom.rooms_left`, `AvailableRoom.total_price`.
const ROOMS_LEFT_TAG: u32 = 4;
const TOTAL_PRICE_TAG: u32 = 5;
/// `Money.amount`, `Money.currency`.
const AMOUNT_TAG: u32 = 1;
const CURRENCY_TAG: u32 = 2;

/// The answer to SearchAvailability. Equality compares how it was built, not
/// its bytes: a decoded answer holds `results`, an assembled one does not.
#[derive(Clone, PartialEq, Default, Debug)]
pub struct SearchAvailabilityResponse {
    /// The results; what a client reads after decoding. Empty in an answer
    /// built [`from_encoded`](Self::from_encoded), which carries them encoded.
    pub results: Vec<SearchResult>,
    pub next_page_token: String,
    encoded: EncodedResults,
}

impl SearchAvailabilityResponse {
    /// An answer carrying `results`.
    pub fn from_results(results: Vec<SearchResult>, next_page_token: String) -> Self {
        Self {
            results,
            next_page_token,
            encoded: EncodedResults::default(),
        }
    }

    /// An answer whose results go on the wire as assembled.
    pub fn from_encoded(encoded: EncodedResults, next_page_token: String) -> Self {
        Self {
            results: Vec::new(),
            next_page_token,
            encoded,
        }
    }
}

/// What a result shows of its property (fields 1-7 of `SearchResult`),
/// encoded once.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct SearchResultHead(Bytes);

impl SearchResultHead {
    /// Encodes `result` without its price and rooms, which depend on the stay.
    pub fn new(result: &SearchResult) -> Self {
        let head = SearchResult {
            lowest_total_price: None,
            rooms: Vec::new(),
            ..result.clone()
        };
        Self(head.encode_to_vec().into())
    }
}

/// What a result shows of a room type (fields 1-3 of `AvailableRoom`),
/// encoded once.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct AvailableRoomHead(Bytes);

impl AvailableRoomHead {
    /// Encodes `room` without its rooms left and total, which depend on the stay.
    pub fn new(room: &AvailableRoom) -> Self {
        let head = AvailableRoom {
            rooms_left: 0,
            total_price: None,
            ..room.clone()
        };
        Self(head.encode_to_vec().into())
    }
}

/// One fitting room type of a result: its head, rooms left and total price.
#[derive(Clone, Copy, Debug)]
pub struct RoomOffer<'a> {
    pub head: &'a AvailableRoomHead,
    pub rooms_left: i32,
    pub total_price: i64,
}

/// Results encoded as the answer's repeated field, one after another.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct EncodedResults(Vec<u8>);

impl EncodedResults {
    /// Room for about `results` results.
    pub fn with_capacity(results: usize) -> Self {
        Self(Vec::with_capacity(results.saturating_mul(320)))
    }

    /// Appends a result: `head`, then the lowest total and `rooms` in that
    /// order, every amount in `currency`.
    pub fn push(
        &mut self,
        head: &SearchResultHead,
        lowest: i64,
        rooms: &[RoomOffer<'_>],
        currency: &str,
    ) {
        let room_len = |room: &RoomOffer<'_>| {
            let left = if room.rooms_left == 0 {
                0
            } else {
                key_len(ROOMS_LEFT_TAG) + encoded_len_varint(varint(room.rooms_left.into()))
            };
            room.head.0.len() + left + money_len(TOTAL_PRICE_TAG, room.total_price, currency)
        };
        let len = head.0.len()
            + money_len(LOWEST_TOTAL_PRICE_TAG, lowest, currency)
            + rooms
                .iter()
                .map(|room| {
                    let len = room_len(room);
                    key_len(ROOMS_TAG) + encoded_len_varint(len as u64) + len
                })
                .sum::<usize>();
        let buf = &mut self.0;
        encode_key(RESULTS_TAG, WireType::LengthDelimited, buf);
        encode_varint(len as u64, buf);
        buf.put_slice(&head.0);
        put_money(LOWEST_TOTAL_PRICE_TAG, lowest, currency, buf);
        for room in rooms {
            encode_key(ROOMS_TAG, WireType::LengthDelimited, buf);
            encode_varint(room_len(room) as u64, buf);
            buf.put_slice(&room.head.0);
            if room.rooms_left != 0 {
                encode_key(ROOMS_LEFT_TAG, WireType::Varint, buf);
                encode_varint(varint(room.rooms_left.into()), buf);
            }
            put_money(TOTAL_PRICE_TAG, room.total_price, currency, buf);
        }
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// An int32 or int64 as protobuf writes it: two's complement in ten bytes
/// when negative.
fn varint(value: i64) -> u64 {
    value as u64
}

/// The length of a `Money` field: key, length, and the fields that are not empty.
fn money_len(tag: u32, amount: i64, currency: &str) -> usize {
    let body = money_body_len(amount, currency);
    key_len(tag) + encoded_len_varint(body as u64) + body
}

fn money_body_len(amount: i64, currency: &str) -> usize {
    let amount = if amount == 0 {
        0
    } else {
        key_len(AMOUNT_TAG) + encoded_len_varint(varint(amount))
    };
    let currency = if currency.is_empty() {
        0
    } else {
        key_len(CURRENCY_TAG) + encoded_len_varint(currency.len() as u64) + currency.len()
    };
    amount + currency
}

fn put_money(tag: u32, amount: i64, currency: &str, buf: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(money_body_len(amount, currency) as u64, buf);
    if amount != 0 {
        encode_key(AMOUNT_TAG, WireType::Varint, buf);
        encode_varint(varint(amount), buf);
    }
    if !currency.is_empty() {
        encode_key(CURRENCY_TAG, WireType::LengthDelimited, buf);
        encode_varint(currency.len() as u64, buf);
        buf.put_slice(currency.as_bytes());
    }
}

impl Message for SearchAvailabilityResponse {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.encoded.0);
        for result in &self.results {
            message::encode(RESULTS_TAG, result, buf);
        }
        if !self.next_page_token.is_empty() {
            string::encode(NEXT_PAGE_TOKEN_TAG, &self.next_page_token, buf);
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        let (field, merged) = match tag {
            RESULTS_TAG => (
                "results",
                message::merge_repeated(wire_type, &mut self.results, buf, ctx),
            ),
            NEXT_PAGE_TOKEN_TAG => (
                "next_page_token",
                string::merge(wire_type, &mut self.next_page_token, buf, ctx),
            ),
            _ => return skip_field(wire_type, tag, buf, ctx),
        };
        merged.map_err(|mut error| {
            error.push(<Self as prost::Name>::NAME, field);
            error
        })
    }

    fn encoded_len(&self) -> usize {
        let token = if self.next_page_token.is_empty() {
            0
        } else {
            string::encoded_len(NEXT_PAGE_TOKEN_TAG, &self.next_page_token)
        };
        self.encoded.len() + message::encoded_len_repeated(RESULTS_TAG, &self.results) + token
    }

    fn clear(&mut self) {
        self.results.clear();
        self.next_page_token.clear();
        self.encoded = EncodedResults::default();
    }
}

crate::hand_written_name!(SearchAvailabilityResponse, "staymesh.accommodation.v1");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::staymesh::common::v1::Money;

    fn money(amount: i64, currency: &str) -> Option<Money> {
        Some(Money {
            amount,
            currency: currency.into(),
        })
    }

    fn room(id: &str, name: &str, left: i32, total: i64, currency: &str) -> AvailableRoom {
        AvailableRoom {
            room_type_id: id.into(),
            name: name.into(),
            max_occupancy: 4,
            rooms_left: left,
            total_price: money(total, currency),
        }
    }

    /// Two results: one with every field set (a negative amount among them,
    /// ten bytes on the wire), one with the empty values prost leaves out.
    fn results(currency: &str) -> Vec<SearchResult> {
        vec![
            SearchResult {
                property_id: "01906b97-5c01-7c10-9ed7-93b59e5bf1ec".into(),
                name: "부산 선셋 한옥스테이".into(),
                region: "부산".into(),
                address: "부산광역시 해운대구 우동".into(),
                thumbnail_url: "https://img.example/1.jpg".into(),
                rating: 4.7,
                review_count: 1234,
                lowest_total_price: money(189_000, currency),
                rooms: vec![
                    room("a", "온돌룸", 3, 189_000, currency),
                    room(
                        "b",
                        "디럭스 더블 with a long name".repeat(9).as_str(),
                        300,
                        -5,
                        currency,
                    ),
                ],
            },
            SearchResult {
                property_id: "x".into(),
                lowest_total_price: money(0, currency),
                rooms: vec![room("", "", 0, 0, currency)],
                ..Default::default()
            },
        ]
    }

    /// The message as prost would generate it from the contract.
    #[derive(Clone, PartialEq, prost::Message)]
    struct Generated {
        #[prost(message, repeated, tag = "1")]
        results: Vec<SearchResult>,
        #[prost(string, tag = "2")]
        next_page_token: String,
    }

    fn assembled(results: &[SearchResult], currency: &str) -> EncodedResults {
        let mut encoded = EncodedResults::with_capacity(results.len());
        for result in results {
            let heads: Vec<AvailableRoomHead> =
                result.rooms.iter().map(AvailableRoomHead::new).collect();
            let offers: Vec<RoomOffer<'_>> = result
                .rooms
                .iter()
                .zip(&heads)
                .map(|(room, head)| RoomOffer {
                    head,
                    rooms_left: room.rooms_left,
                    total_price: room.total_price.as_ref().map_or(0, |m| m.amount),
                })
                .collect();
            let lowest = result.lowest_total_price.as_ref().map_or(0, |m| m.amount);
            encoded.push(&SearchResultHead::new(result), lowest, &offers, currency);
        }
        encoded
    }

    #[test]
    fn an_assembled_answer_is_the_same_bytes_as_an_owned_one_and_decodes_back() {
        for (currency, token) in [("KRW", "20"), ("", "")] {
            let results = results(currency);
            let generated = Generated {
                results: results.clone(),
                next_page_token: token.into(),
            }
            .encode_to_vec();
            let owned = SearchAvailabilityResponse::from_results(results.clone(), token.into());
            assert_eq!(owned.encode_to_vec(), generated);
            assert_eq!(owned.encoded_len(), generated.len());

            let answer = SearchAvailabilityResponse::from_encoded(
                assembled(&results, currency),
                token.into(),
            );
            assert_eq!(answer.encoded_len(), generated.len());
            assert_eq!(answer.encode_to_vec(), generated, "currency {currency:?}");

            let decoded =
                SearchAvailabilityResponse::decode(generated.as_slice()).expect("decodes");
            assert_eq!(decoded, owned);
        }
        assert!(
            SearchAvailabilityResponse::default()
                .encode_to_vec()
                .is_empty()
        );
    }

    #[test]
    fn unknown_fields_are_skipped_and_a_broken_result_names_its_field() {
        let mut bytes =
            SearchAvailabilityResponse::from_results(results("KRW"), "20".into()).encode_to_vec();
        // Field 9, varint 7: a field a newer contract might add.
        bytes.extend_from_slice(&[9 << 3, 7]);
        let decoded = SearchAvailabilityResponse::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(decoded.results, results("KRW"));
        assert_eq!(decoded.next_page_token, "20");

        let broken = [RESULTS_TAG as u8 * 8 + 2, 5, 0x0a, 9, b'x'];
        let error = SearchAvailabilityResponse::decode(broken.as_slice()).expect_err("truncated");
        assert!(error.to_string().contains("results"), "{error}");
    }
}
