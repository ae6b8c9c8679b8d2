//! The protobuf envelope every staymesh Kafka message travels in: a UUIDv7 id
//! that consumers dedupe on, the payload's full protobuf name, the partition
//! key, when it happened, and the encoded payload.

use prost::{Message, Name};
use staymesh_proto::common::Envelope;
use uuid::Uuid;

/// Why an envelope could not be read as the message a handler expected.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("envelope is not protobuf: {0}")]
    Envelope(#[source] prost::DecodeError),
    #[error("envelope id `{0}` is not a UUID")]
    Id(String),
    #[error("envelope holds `{actual}`, expected `{expected}`")]
    WrongType { expected: String, actual: String },
    #[error("payload of `{message_type}` does not decode: {source}")]
    Payload {
        message_type: String,
        #[source]
        source: prost::DecodeError,
    },
}

/// Building and reading [`Envelope`]s.
pub trait EnvelopeExt: Sized {
    /// Wraps `message` with a fresh UUIDv7 id, its full protobuf name and now as `occurred_at`.
    fn wrap<M: Name>(key: &str, message: &M) -> Self {
        Self::wrap_with_id(Uuid::now_v7(), key, message)
    }

    /// Wraps `message` under a given id (the outbox uses the row id).
    fn wrap_with_id<M: Name>(id: Uuid, key: &str, message: &M) -> Self;

    /// Decodes an envelope from the bytes of a Kafka payload.
    fn from_bytes(bytes: &[u8]) -> Result<Self, EnvelopeError>;

    /// The message id, parsed.
    fn message_id(&self) -> Result<Uuid, EnvelopeError>;

    /// Whether the payload is an `M`.
    fn is<M: Name>(&self) -> bool;

    /// Decodes the payload as an `M`, checking the type name first.
    fn decode<M: Name + Default>(&self) -> Result<M, EnvelopeError>;
}

impl EnvelopeExt for Envelope {
    fn wrap_with_id<M: Name>(id: Uuid, key: &str, message: &M) -> Self {
        let now = std::time::SystemTime::now();
        Envelope {
            id: id.to_string(),
            r#type: M::full_name(),
            key: key.to_owned(),
            occurred_at: Some(now.into()),
            payload: message.encode_to_vec(),
        }
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        <Envelope as Message>::decode(bytes).map_err(EnvelopeError::Envelope)
    }

    fn message_id(&self) -> Result<Uuid, EnvelopeError> {
        Uuid::parse_str(&self.id).map_err(|_| EnvelopeError::Id(self.id.clone()))
    }

    fn is<M: Name>(&self) -> bool {
        self.r#type == M::full_name()
    }

    fn decode<M: Name + Default>(&self) -> Result<M, EnvelopeError> {
        if !self.is::<M>() {
            return Err(EnvelopeError::WrongType {
                expected: M::full_name(),
                actual: self.r#type.clone(),
            });
        }
        M::decode(self.payload.as_slice()).map_err(|source| EnvelopeError::Payload {
            message_type: self.r#type.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, PartialEq, prost::Message)]
    struct Ping {
        #[prost(string, tag = "1")]
        text: String,
    }

    impl Name for Ping {
        const NAME: &'static str = "Ping";
        const PACKAGE: &'static str = "staymesh.test.v1";
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct Pong {}

    impl Name for Pong {
        const NAME: &'static str = "Pong";
        const PACKAGE: &'static str = "staymesh.test.v1";
    }

    #[test]
    fn wrapped_messages_decode_and_check_their_type() {
        let ping = Ping { text: "hi".into() };
        let envelope = Envelope::wrap("k1", &ping);
        assert_eq!(envelope.r#type, "staymesh.test.v1.Ping");
        assert_eq!(envelope.key, "k1");
        assert_eq!(envelope.message_id().unwrap().get_version_num(), 7);
        let bytes = envelope.encode_to_vec();
        let back = Envelope::from_bytes(&bytes).unwrap();
        assert_eq!(back.decode::<Ping>().unwrap(), ping);
        assert!(matches!(
            back.decode::<Pong>(),
            Err(EnvelopeError::WrongType { .. })
        ));
    }
}
