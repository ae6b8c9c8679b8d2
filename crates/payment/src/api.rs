//! The PaymentService (guests, hosts, admins, the browser's return and the
//! PG's webhook, on the edge) and the internal PaymentBookingService (the
//! booking saga) on the wire: each method hands its request to the domain
//! function of the same name in `handlers`.

use std::sync::Arc;

use staymesh_platform::rpc::{Reply, reply};
use staymesh_proto::payment as pb;
use staymesh_proto::payment::payment_booking_service_server::PaymentBookingService;
use staymesh_proto::payment::payment_service_server::PaymentService;
use tonic::Request;

use crate::payments::Payments;
use crate::webhook::Verifier;

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct PaymentsApi {
    pub(crate) payments: Payments,
    pub(crate) webhooks: Arc<Verifier>,
    pub(crate) fee_percent: u8,
}

#[tonic::async_trait]
impl PaymentService for PaymentsApi {
    async fn get_payment(
        &self,
        request: Request<pb::GetPaymentRequest>,
    ) -> Reply<pb::GetPaymentResponse> {
        reply(PaymentsApi::get_payment(self, request).await)
    }

    async fn list_payments(
        &self,
        request: Request<pb::ListPaymentsRequest>,
    ) -> Reply<pb::ListPaymentsResponse> {
        reply(PaymentsApi::list_payments(self, request).await)
    }

    async fn approve_payment(
        &self,
        request: Request<pb::ApprovePaymentRequest>,
    ) -> Reply<pb::ApprovePaymentResponse> {
        reply(PaymentsApi::approve_payment(self, request).await)
    }

    async fn handle_webhook(
        &self,
        request: Request<pb::HandleWebhookRequest>,
    ) -> Reply<pb::HandleWebhookResponse> {
        reply(PaymentsApi::handle_webhook(self, request).await)
    }

    async fn get_settlement_report(
        &self,
        request: Request<pb::GetSettlementReportRequest>,
    ) -> Reply<pb::GetSettlementReportResponse> {
        reply(PaymentsApi::get_settlement_report(self, request).await)
    }
}

#[tonic::async_trait]
impl PaymentBookingService for PaymentsApi {
    async fn create_payment(
        &self,
        request: Request<pb::CreatePaymentRequest>,
    ) -> Reply<pb::CreatePaymentResponse> {
        reply(PaymentsApi::create_payment(self, request).await)
    }

    async fn cancel_payment(
        &self,
        request: Request<pb::CancelPaymentRequest>,
    ) -> Reply<pb::CancelPaymentResponse> {
        reply(PaymentsApi::cancel_payment(self, request).await)
    }

    async fn refund_payment(
        &self,
        request: Request<pb::RefundPaymentRequest>,
    ) -> Reply<pb::RefundPaymentResponse> {
        reply(PaymentsApi::refund_payment(self, request).await)
    }
}
