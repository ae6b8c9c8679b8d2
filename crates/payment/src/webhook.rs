//! The PG's webhooks, checked the Standard Webhooks way (PortOne V2): the
//! `webhook-id`, `webhook-timestamp` and `webhook-signature` headers sign the
//! raw body with the shared secret, and a timestamp more than 5 minutes away
//! is refused, so a forged or replayed-late notification never gets in. A
//! genuine one is still only a hint of which payment to verify with the PG.

use standardwebhooks::Webhook;
use staymesh_platform::rpc::Error;
use tonic::metadata::MetadataMap;

/// The headers that carry the signature, as gRPC metadata.
const SIGNATURE_HEADERS: [&str; 3] = ["webhook-id", "webhook-timestamp", "webhook-signature"];

/// Verifies webhooks with the PG's secret.
pub(crate) struct Verifier(Webhook);

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier(..)")
    }
}

/// The part of a notification the service reads.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Notification {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) data: NotificationData,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NotificationData {
    pub(crate) payment_key: String,
    pub(crate) order_id: String,
}

impl Verifier {
    /// A verifier for `secret` (`whsec_` and base64).
    pub(crate) fn new(secret: &str) -> Result<Self, String> {
        Webhook::new(secret)
            .map(Self)
            .map_err(|e| format!("STAYMESH_PAYMENT_PG_WEBHOOK_SECRET: {e}"))
    }

    /// The notification in `body` if `metadata` signs it; UNAUTHENTICATED
    /// when not, INVALID_ARGUMENT when it is signed but not a notification.
    pub(crate) fn verify(
        &self,
        metadata: &MetadataMap,
        body: &[u8],
    ) -> Result<Notification, Error> {
        let mut headers = http::HeaderMap::new();
        for name in SIGNATURE_HEADERS {
            if let Some(value) = metadata.get(name)
                && let Ok(value) = http::HeaderValue::from_bytes(value.as_bytes())
            {
                headers.insert(name, value);
            }
        }
        self.0.verify(body, &headers).map_err(|e| {
            metrics::counter!("payment_webhook_refused_total").increment(1);
            Error::Unauthenticated(format!("webhook refused: {e}"))
        })?;
        serde_json::from_slice(body)
            .map_err(|e| Error::invalid("raw_body", format!("is not a PG notification: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_c3RheW1lc2gtc2FuZGJveC13ZWJob29rLXNlY3JldA==";

    fn signed(id: &str, at: i64, body: &[u8], secret: &str) -> MetadataMap {
        let signature = Webhook::new(secret).unwrap().sign(id, at, body).unwrap();
        let mut metadata = MetadataMap::new();
        metadata.insert("webhook-id", id.parse().unwrap());
        metadata.insert("webhook-timestamp", at.to_string().parse().unwrap());
        metadata.insert("webhook-signature", signature.parse().unwrap());
        metadata
    }

    #[test]
    fn only_a_fresh_signature_over_the_exact_body_passes() {
        let verifier = Verifier::new(SECRET).unwrap();
        let body = br#"{"type":"Transaction.Paid","timestamp":"x","data":{"paymentKey":"k","orderId":"o","status":"PAID"}}"#;
        let now = chrono::Utc::now().timestamp();
        let good = verifier
            .verify(&signed("msg_1", now, body, SECRET), body)
            .unwrap();
        assert_eq!(good.data.order_id, "o");
        assert_eq!(good.kind, "Transaction.Paid");

        let other_secret = "whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==";
        let forged = signed("msg_1", now, body, other_secret);
        let stale = signed("msg_1", now - 301, body, SECRET);
        let mut tampered = body.to_vec();
        tampered[10] = b'X';
        for (metadata, body) in [
            (forged, body.as_slice()),
            (stale, body.as_slice()),
            (signed("msg_1", now, body, SECRET), tampered.as_slice()),
            (MetadataMap::new(), body.as_slice()),
        ] {
            let refused = verifier.verify(&metadata, body).unwrap_err();
            assert!(matches!(refused, Error::Unauthenticated(_)), "{refused:?}");
        }
    }
}
