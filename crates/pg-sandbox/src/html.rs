//! The checkout's HTML: plain pages and one form, no JavaScript, every
//! interpolated string escaped (order names are the merchant's guests' data).

use crate::model::{Payment, Status};

/// The cards the checkout treats specially, and what they do.
pub(crate) const TEST_CARDS: &[(&str, &str)] = &[
    ("4242 4242 4242 4242", "approved"),
    ("4000 0000 0000 0002", "declined by the card issuer"),
    (
        "4000 0000 0000 0077",
        "approved, but for half the amount (a tampered amount)",
    ),
    (
        "4000 0000 0000 0119",
        "approved, but the return to the shop is lost (a time-out)",
    ),
    ("any other 16 digits", "approved"),
];

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// `120000` and `KRW` as `120,000 KRW`.
pub(crate) fn money(amount: i64, currency: &str) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}{grouped} {}", escape(currency))
}

/// A whole page around `body` (already HTML).
fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · staymesh sandbox PG</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 32rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
.amount {{ font-size: 1.6rem; font-weight: 600; }}
input {{ font-size: 1.1rem; padding: .4rem; width: 100%; box-sizing: border-box; }}
button {{ font-size: 1rem; padding: .5rem 1.2rem; margin: .8rem .4rem 0 0; }}
table {{ border-collapse: collapse; margin-top: 1.5rem; font-size: .9rem; }}
td, th {{ border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; }}
.note {{ color: #666; font-size: .9rem; }}
</style>
</head>
<body>
<p class="note">staymesh sandbox PG: no real money moves.</p>
<h1>{title}</h1>
{body}
</body>
</html>
"#,
        title = escape(title),
    )
}

fn order_summary(payment: &Payment) -> String {
    format!(
        r#"<p>{name}</p>
<p class="amount">{amount}</p>
<p class="note">order {order} · payment {key}</p>"#,
        name = escape(&payment.order_name),
        amount = money(payment.amount, &payment.currency),
        order = escape(&payment.order_id),
        key = escape(&payment.payment_key),
    )
}

/// The checkout page: the order and the card form when READY, its status
/// otherwise. The form has no action, so it posts back to the page's own URL
/// whatever host or prefix the browser reached it by.
pub(crate) fn checkout(payment: &Payment) -> String {
    if payment.status != Status::Ready {
        return page(
            "Payment closed",
            &format!(
                "{}\n<p>This payment is <strong>{}</strong>; it can no longer be paid.</p>",
                order_summary(payment),
                payment.status.as_str()
            ),
        );
    }
    let mut cards = String::new();
    for (number, outcome) in TEST_CARDS {
        cards.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td></tr>\n",
            escape(number),
            escape(outcome)
        ));
    }
    let body = format!(
        r#"{summary}
<form method="post">
<label for="cardNumber">Card number</label>
<input id="cardNumber" name="cardNumber" value="4242 4242 4242 4242" inputmode="numeric" autocomplete="off">
<button type="submit" name="action" value="pay">Pay {amount}</button>
<button type="submit" name="action" value="decline">Decline</button>
</form>
<table>
<tr><th>test card</th><th>outcome</th></tr>
{cards}</table>
<p class="note">Pays until {expires}.</p>"#,
        summary = order_summary(payment),
        amount = money(payment.amount, &payment.currency),
        expires = payment.expires_at.to_rfc3339(),
    );
    page("Pay for your stay", &body)
}

/// The result page shown when the payment has no redirect URL.
pub(crate) fn result(payment: &Payment) -> String {
    let (title, text) = match payment.status {
        Status::Paid => ("Payment approved", "The payment was approved.".to_owned()),
        _ => (
            "Payment failed",
            format!(
                "The payment failed: {}.",
                escape(payment.fail_reason.as_deref().unwrap_or("unknown reason"))
            ),
        ),
    };
    page(title, &format!("{}\n<p>{text}</p>", order_summary(payment)))
}

/// The time-out card's page: paid, but the guest is never sent back.
pub(crate) fn pending(payment: &Payment) -> String {
    page(
        "Processing",
        &format!(
            "{}\n<p>The payment is taking longer than expected. You may close this window; \
             the shop will be told the outcome.</p>",
            order_summary(payment)
        ),
    )
}

/// A page with a title and one paragraph of plain text.
pub(crate) fn message(title: &str, text: &str) -> String {
    page(title, &format!("<p>{}</p>", escape(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape(r#"<script>"x" & 'y'</script>"#),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
        assert!(!message("<b>", "<i>").contains("<i>"));
    }

    #[test]
    fn amounts_are_grouped_by_thousands() {
        assert_eq!(money(120_000, "KRW"), "120,000 KRW");
        assert_eq!(money(999, "KRW"), "999 KRW");
        assert_eq!(money(1_000, "USD"), "1,000 USD");
        assert_eq!(money(1_234_567, "KRW"), "1,234,567 KRW");
    }
}
