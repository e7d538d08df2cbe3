//! A QR code drawn as inline SVG, made in the browser so the receipt needs no
//! further request.

use leptos::prelude::*;
use qrcode::QrCode;
use qrcode::render::svg;

#[component]
pub fn QrImage(text: String, label: String) -> impl IntoView {
    let svg = QrCode::new(text.as_bytes())
        .map(|code| {
            code.render::<svg::Color<'_>>()
                .min_dimensions(140, 140)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default();
    view! { <div class="qr" role="img" aria-label=label inner_html=svg></div> }
}
