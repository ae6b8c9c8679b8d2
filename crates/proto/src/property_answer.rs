//! `staymesh.accommodation.v1.GetPropertyResponse`, written by hand: the build
//! maps the message here (`extern_path`) so that a server can answer with a
//! property it encoded once. GetProperty is the most called read after search;
//! cloning, encoding and dropping a kilobyte of strings on every call was a
//! tenth of the service's work for it. On the wire it is the generated
//! message's exact encoding, so clients and the HTTP edge see no difference.

use prost::bytes::{Buf, BufMut, Bytes};
use prost::encoding::{DecodeContext, WireType, message, skip_field};
use prost::{DecodeError, Message};

use crate::staymesh::accommodation::v1::Property;

/// The `property` field's number in the contract.
const PROPERTY_TAG: u32 = 1;

/// The answer to GetProperty.
#[derive(Clone, PartialEq, Default, Debug)]
pub struct GetPropertyResponse {
    /// The property; what a client reads after decoding. `None` in an answer
    /// built [`from_encoded`](Self::from_encoded), which carries it encoded.
    pub property: Option<Property>,
    encoded: Option<EncodedProperty>,
}

impl GetPropertyResponse {
    /// An answer carrying `property`.
    pub fn from_property(property: Property) -> Self {
        Self {
            property: Some(property),
            encoded: None,
        }
    }

    /// An answer whose property goes on the wire as encoded before.
    pub fn from_encoded(encoded: EncodedProperty) -> Self {
        Self {
            property: None,
            encoded: Some(encoded),
        }
    }
}

/// A property encoded once as the `property` field of a GetPropertyResponse
/// (key, length and message), cheap to clone and to send many times.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EncodedProperty(Bytes);

impl EncodedProperty {
    /// Encodes `property` as the answer's field.
    pub fn new(property: &Property) -> Self {
        let mut buf = Vec::with_capacity(message::encoded_len(PROPERTY_TAG, property));
        message::encode(PROPERTY_TAG, property, &mut buf);
        Self(buf.into())
    }

    /// Bytes held, for a memory estimate.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true: an encoded field has at least its key and length.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Message for GetPropertyResponse {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        if let Some(encoded) = &self.encoded {
            buf.put_slice(&encoded.0);
        } else if let Some(property) = &self.property {
            message::encode(PROPERTY_TAG, property, buf);
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        if tag != PROPERTY_TAG {
            return skip_field(wire_type, tag, buf, ctx);
        }
        let property = self.property.get_or_insert_with(Property::default);
        message::merge(wire_type, property, buf, ctx).map_err(|mut error| {
            error.push(<Self as prost::Name>::NAME, "property");
            error
        })
    }

    fn encoded_len(&self) -> usize {
        match (&self.encoded, &self.property) {
            (Some(encoded), _) => encoded.len(),
            (None, Some(property)) => message::encoded_len(PROPERTY_TAG, property),
            (None, None) => 0,
        }
    }

    fn clear(&mut self) {
        self.property = None;
        self.encoded = None;
    }
}

crate::hand_written_name!(GetPropertyResponse, "staymesh.accommodation.v1");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::staymesh::accommodation::v1::RoomType;

    fn property() -> Property {
        Property {
            property_id: "01906b97-5c01-7c10-9ed7-93b59e5bf1ec".into(),
            name: "부산 선셋 한옥스테이".into(),
            amenities: vec!["wifi".into(), "pool".into()],
            room_types: vec![RoomType {
                name: "온돌룸".into(),
                total_rooms: 9,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    /// The message as prost would generate it from the contract.
    #[derive(Clone, PartialEq, prost::Message)]
    struct Generated {
        #[prost(message, optional, tag = "1")]
        property: Option<Property>,
    }

    #[test]
    fn an_encoded_answer_is_the_same_bytes_as_an_owned_one_and_decodes_back() {
        let owned = GetPropertyResponse::from_property(property()).encode_to_vec();
        let generated = Generated {
            property: Some(property()),
        };
        assert_eq!(owned, generated.encode_to_vec());
        let encoded = GetPropertyResponse::from_encoded(EncodedProperty::new(&property()));
        assert_eq!(encoded.encoded_len(), owned.len());
        assert_eq!(encoded.encode_to_vec(), owned);
        let decoded = GetPropertyResponse::decode(owned.as_slice()).expect("decodes");
        assert_eq!(decoded, GetPropertyResponse::from_property(property()));
        assert_eq!(
            GetPropertyResponse::default().encode_to_vec(),
            Vec::<u8>::new()
        );
    }

    #[test]
    fn unknown_fields_are_skipped_and_a_broken_property_names_its_field() {
        let mut bytes = GetPropertyResponse::from_property(property()).encode_to_vec();
        // Field 9, varint 7: a field a newer contract might add.
        bytes.extend_from_slice(&[9 << 3, 7]);
        let decoded = GetPropertyResponse::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(decoded.property, Some(property()));

        let broken = [PROPERTY_TAG as u8 * 8 + 2, 5, 0x0a, 9, b'x'];
        let error = GetPropertyResponse::decode(broken.as_slice()).expect_err("truncated");
        assert!(error.to_string().contains("property"), "{error}");
    }
}
