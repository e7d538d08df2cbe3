//! The JSON body of every operation whose document shows an object. actix's `Json`
//! gives the body to serde, which also reads a struct from an array of its fields in
//! order (`["GK2026", "name"]`): a body the document does not allow. This reads an
//! object first, with actix's own checks (content type, size, the problem answers of
//! `JsonConfig`), then the struct from it.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ApiError;

pub struct JsonObject<T>(pub T);

impl<T> JsonObject<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for JsonObject<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonObject<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let object = web::Json::<Map<String, Value>>::from_request(req, payload);
        Box::pin(async move {
            let web::Json(object) = object.await?;
            serde_json::from_value(Value::Object(object))
                .map(JsonObject)
                .map_err(|e| ApiError::Malformed(e.to_string()).into())
        })
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Exam {
        code: String,
        name: String,
    }

    async fn read(body: &str) -> Result<Exam, String> {
        let (req, mut payload) = TestRequest::post()
            .insert_header(("content-type", "application/json"))
            .set_payload(body.to_owned())
            .to_http_parts();
        JsonObject::<Exam>::from_request(&req, &mut payload)
            .await
            .map(JsonObject::into_inner)
            .map_err(|e| e.to_string())
    }

    #[actix_web::test]
    async fn an_object_is_read_and_an_array_of_the_fields_is_refused() {
        let exam = read(r#"{"code": "GK", "name": "高考"}"#).await.unwrap();
        assert_eq!(
            exam,
            Exam {
                code: "GK".into(),
                name: "高考".into()
            }
        );
        assert!(read(r#"["GK", "高考"]"#).await.is_err());
        assert!(
            read(r#"{"code": "GK"}"#)
                .await
                .unwrap_err()
                .contains("name")
        );
    }
}
