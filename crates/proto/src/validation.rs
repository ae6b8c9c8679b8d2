//! The one place where the rules a contract states are enforced.
//!
//! Every generated server (and client) decodes through [`ValidatingCodec`]. When the
//! decoded message is the request of some RPC and its contract carries
//! `buf.validate` rules (on it or on a message it holds), the codec checks them
//! ([`crate::rules`]) before the handler runs. A request that breaks one is answered
//! INVALID_ARGUMENT with a google.rpc.BadRequest naming every bad field, the same
//! shape as the checks the services make themselves ([`invalid_argument`]).
//!
//! The services still check what one field cannot say alone: rules relating two
//! fields, rules about today's date, and stored state.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::LazyLock;

use prost::bytes::Buf;
use prost::{Message, Name};
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic::{Code, Status};
use tonic_prost::ProstEncoder;
use tonic_types::{ErrorDetails, StatusExt};

use crate::FILE_DESCRIPTOR_SET;
use crate::rules::Rules;

/// INVALID_ARGUMENT naming each bad `(field, description)`, with
/// google.rpc.BadRequest details a client can read field by field.
pub fn invalid_argument<'a>(violations: impl IntoIterator<Item = (&'a str, &'a str)>) -> Status {
    let mut details = ErrorDetails::new();
    let mut summary = Vec::new();
    for (field, description) in violations {
        details.add_bad_request_violation(field, description);
        summary.push(format!("{field}: {description}"));
    }
    Status::with_error_details(
        Code::InvalidArgument,
        format!("invalid request: {}", summary.join("; ")),
        details,
    )
}

/// The contracts' descriptors and rules, read once per process.
struct Contracts {
    pool: DescriptorPool,
    rules: Rules,
    /// RPC request messages whose rules can find something, by full name.
    requests: HashMap<String, MessageDescriptor>,
}

static CONTRACTS: LazyLock<Result<Contracts, String>> = LazyLock::new(Contracts::load);

impl Contracts {
    fn load() -> Result<Self, String> {
        let pool = DescriptorPool::decode(FILE_DESCRIPTOR_SET).map_err(|e| e.to_string())?;
        let rules = Rules::load(&pool)?;
        let requests = pool
            .services()
            .flat_map(|service| service.methods().map(|m| m.input()).collect::<Vec<_>>())
            .filter(|input| rules.has_rules(input))
            .map(|input| (input.full_name().to_owned(), input))
            .collect();
        Ok(Self {
            pool,
            rules,
            requests,
        })
    }
}

/// The descriptors of every staymesh contract and the rules they state; an error
/// when a contract states a rule staymesh does not read (a test proves none does).
pub fn contracts() -> Result<(&'static DescriptorPool, &'static Rules), &'static str> {
    match &*CONTRACTS {
        Ok(c) => Ok((&c.pool, &c.rules)),
        Err(e) => Err(e),
    }
}

/// Checks an encoded message of type `full_name` against its contract's rules.
/// Messages without rules, and those no RPC takes, pass unread.
pub fn check(full_name: &str, encoded: prost::bytes::Bytes) -> Result<(), Status> {
    let contracts = match &*CONTRACTS {
        Ok(contracts) => contracts,
        Err(error) => {
            tracing::error!(%error, "the contracts' rules do not load");
            return Err(Status::internal("internal error"));
        }
    };
    let Some(descriptor) = contracts.requests.get(full_name) else {
        return Ok(());
    };
    let message = DynamicMessage::decode(descriptor.clone(), encoded)
        .map_err(|e| Status::internal(e.to_string()))?;
    let violations = contracts.rules.check(&message);
    if violations.is_empty() {
        return Ok(());
    }
    Err(invalid_argument(
        violations.iter().map(|(f, d)| (f.as_str(), d.as_str())),
    ))
}

/// tonic's prost codec, with [`check`] on every message it decodes.
#[derive(Debug, Clone)]
pub struct ValidatingCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for ValidatingCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> Codec for ValidatingCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Name + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ValidatingDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::new(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        ValidatingDecoder(PhantomData)
    }
}

/// Decodes a `U` and checks it; see [`ValidatingCodec`].
#[derive(Debug)]
pub struct ValidatingDecoder<U>(PhantomData<U>);

impl<U: Message + Name + Default> Decoder for ValidatingDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        let encoded = buf.copy_to_bytes(buf.remaining());
        // As tonic's prost codec: a message that does not parse is INTERNAL (gRPC's rule).
        let item = U::decode(encoded.clone()).map_err(|e| Status::internal(e.to_string()))?;
        check(&U::full_name(), encoded)?;
        Ok(Some(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{accommodation, common, user};
    use tonic_types::StatusExt;

    /// The fields `message` breaks, with their descriptions.
    fn broken<M: Message + Name>(message: &M) -> Vec<(String, String)> {
        match check(&M::full_name(), message.encode_to_vec().into()) {
            Ok(()) => Vec::new(),
            Err(status) => {
                assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
                status
                    .get_details_bad_request()
                    .expect("field violations")
                    .field_violations
                    .into_iter()
                    .map(|v| (v.field, v.description))
                    .collect()
            }
        }
    }

    fn fields<M: Message + Name>(message: &M) -> Vec<String> {
        broken(message).into_iter().map(|(f, _)| f).collect()
    }

    fn sign_up(email: &str, password: &str, name: &str, phone: &str) -> user::SignUpRequest {
        user::SignUpRequest {
            email: email.into(),
            password: password.into(),
            name: name.into(),
            phone: phone.into(),
        }
    }

    const PASSWORD: &str = "sunny-busan-77";

    #[test]
    fn every_rule_in_the_contracts_is_read() {
        let contracts = CONTRACTS.as_ref().expect("the contracts' rules load");
        assert!(
            contracts
                .requests
                .contains_key("staymesh.user.v1.SignUpRequest")
        );
        // Date's fields carry rules; a request holding one is checked.
        assert!(
            contracts
                .requests
                .contains_key("staymesh.accommodation.v1.GetCalendarRequest")
        );
    }

    #[test]
    fn emails_are_trimmed_then_checked() {
        for ok in ["kim@example.com", "  Kim@Example.COM ", "ß@example.co.kr"] {
            assert!(
                fields(&sign_up(ok, PASSWORD, "Kim", "")).is_empty(),
                "{ok:?}"
            );
        }
        for bad in [
            "",
            "kim",
            "kim@",
            "@example.com",
            "kim@example",
            "kim@localhost",
            "kim@@example.com",
            "kim lee@example.com",
            "kim@.example.com",
            "kim@example.com.",
            "kim@example..com",
        ] {
            assert_eq!(
                fields(&sign_up(bad, PASSWORD, "Kim", "")),
                ["email"],
                "{bad:?}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(
            broken(&sign_up(&long, PASSWORD, "Kim", "")),
            [(
                "email".to_owned(),
                "must be at most 254 characters".to_owned()
            )]
        );
    }

    #[test]
    fn passwords_need_length_and_two_classes() {
        for ok in [
            "correcthorse9",
            "Correcthorsebattery",
            "비밀번호는열글자이상1",
            "aaaaaaaaa!",
        ] {
            assert!(
                fields(&sign_up("kim@example.com", ok, "Kim", "")).is_empty(),
                "{ok}"
            );
        }
        let described = |password: &str| broken(&sign_up("kim@example.com", password, "Kim", ""));
        assert_eq!(described("Short1")[0].1, "must be at least 10 characters");
        assert_eq!(
            described(&"aB".repeat(65))[0].1,
            "must be at most 128 characters"
        );
        for one_class in ["alllowercase", "ALLUPPERCASE", "0123456789", "!@#$%^&*()_+"] {
            assert_eq!(described(one_class).len(), 1, "{one_class}");
        }
    }

    #[test]
    fn names_and_phones() {
        let check =
            |name: &str, phone: &str| fields(&sign_up("kim@example.com", PASSWORD, name, phone));
        assert!(check("  김민수 ", "").is_empty());
        assert!(check(&"가".repeat(50), " +821012345678 ").is_empty());
        for bad in ["", "   ", "\u{3000}", "a\u{7}b"] {
            assert_eq!(check(bad, ""), ["name"], "{bad:?}");
        }
        assert_eq!(check(&"가".repeat(51), ""), ["name"]);
        for bad in ["01012345678", "+82-10-1234", "+0123456789", "+1234567"] {
            assert_eq!(check("Kim", bad), ["phone"], "{bad}");
        }
        // Every bad field at once, in field order.
        assert_eq!(
            fields(&sign_up("nope", "short", "", "12")),
            ["email", "password", "name", "phone"]
        );
    }

    #[test]
    fn no_request_string_holds_nul() {
        let request = user::LogInRequest {
            email: "kim\0@example.com".into(),
            password: "x".into(),
        };
        assert_eq!(
            broken(&request),
            [("email".to_owned(), crate::rules::NO_NUL.to_owned())]
        );
    }

    #[test]
    fn nested_fields_are_named_by_their_path() {
        let date = |year, month, day| Some(common::Date { year, month, day });
        let request = accommodation::GetCalendarRequest {
            room_type_id: "0190c0de-0000-7000-8000-000000000001".into(),
            range: Some(common::DateRange {
                start: date(2030, 13, 1),
                end: None,
            }),
        };
        assert_eq!(
            broken(&request),
            [
                (
                    "range.start.month".to_owned(),
                    "must be at most 12".to_owned()
                ),
                ("range.end".to_owned(), "is required".to_owned()),
            ]
        );
        let request = accommodation::GetCalendarRequest {
            room_type_id: "0190C0DE00007000800000000000000".into(),
            range: None,
        };
        assert_eq!(
            broken(&request),
            [
                ("room_type_id".to_owned(), "must be a UUID".to_owned()),
                ("range".to_owned(), "is required".to_owned()),
            ]
        );
    }

    #[test]
    fn lists_enums_and_optional_ids() {
        let mut input = accommodation::PropertyInput {
            image_urls: vec!["https://img.example/1.jpg".into(), "ftp://x".into()],
            amenities: vec!["wifi".into(); 51],
            check_in_time: "25:00".into(),
            check_out_time: "+1:+5".into(),
            ..Default::default()
        };
        let request = accommodation::UpdatePropertyRequest {
            property_id: "0190c0de-0000-7000-8000-000000000001".into(),
            property: Some(input.clone()),
        };
        assert_eq!(
            fields(&request),
            [
                "property.amenities",
                "property.image_urls[1]",
                "property.check_in_time",
                "property.check_out_time"
            ]
        );
        input.amenities.clear();
        input.image_urls.clear();
        let search = accommodation::SearchAvailabilityRequest {
            check_in: Some(common::Date {
                year: 2030,
                month: 1,
                day: 1,
            }),
            check_out: Some(common::Date {
                year: 2030,
                month: 1,
                day: 2,
            }),
            guests: 2,
            sort: 99,
            page_size: 101,
            ..Default::default()
        };
        assert_eq!(fields(&search), ["sort", "page_size"]);
        // An optional id may be empty, but not malformed.
        let sale = |room_type_id: &str| accommodation::CreateTimeSaleRequest {
            property_id: "0190c0de-0000-7000-8000-000000000001".into(),
            room_type_id: room_type_id.into(),
            discount_percent: 10,
            starts_at: Some(prost_types::Timestamp::default()),
            ends_at: Some(prost_types::Timestamp::default()),
            waiting_room: false,
        };
        assert!(fields(&sale("")).is_empty());
        assert_eq!(fields(&sale("rt-1")), ["room_type_id"]);
    }
}
