//! The two real payment channels (and the SMS provider) at the protocol level: what ExamFee's clients and the
//! in-process fakes of the channels both need (wire types, the signing schemes), and
//! the fakes themselves. Known-answer tests from the providers' published material
//! keep both sides honest: a fake that only agrees with its client proves nothing.

pub mod alipay;
pub mod rsa;
pub mod tencent_sms;
pub mod wechatpay;
