//! The checkout request model (`request_model::check_request`, what `POST /checkouts` and API Gateway
//! check before a checkout starts) on arbitrary bytes read as JSON: it must answer `Ok` or a message,
//! never panic. A body it accepts must also be readable by the saga (`CheckoutRequest::from_value`),
//! or the API would start checkouts that fail on their very first step with a parser's message; the
//! catalog-free cart rules (`cart::check_request`) run on it too, for panics only (they are allowed to
//! refuse more, e.g. a SKU that appears twice).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use stepcart_domain::cart::{self, CheckoutRequest};
use stepcart_domain::request_model::check_request;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    match check_request(&body) {
        Ok(()) => {
            let request = match CheckoutRequest::from_value(&body) {
                Ok(request) => request,
                Err(e) => panic!("the request model accepts {body} but the saga cannot read it: {e}"),
            };
            let _ = cart::check_request(&request);
        }
        Err(problem) => {
            // Every refusal names a field: a JSON pointer first.
            assert!(problem.starts_with('/'), "a message without a field: {problem:?}");
        }
    }
});
