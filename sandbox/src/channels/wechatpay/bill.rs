//! The trade bill (交易账单) of type ALL, as WeChat Pay publishes its format
//! (<https://pay.weixin.qq.com/docs/merchant/products/bill-download/format-trade.html>):
//! a header line of 27 column names, one line per payment or accepted refund with each
//! field prefixed by a backtick, then a summary header (总交易单数,…) and one summary
//! line. Amounts are yuan with two decimals. Columns are found by name, not position,
//! since WeChat Pay's older and newer bills differ in their columns.

use examfee_shared::Fen;

/// The ALL bill's detail columns, in WeChat Pay's order.
pub const ALL_COLUMNS: [&str; 27] = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
];

pub const SUMMARY_COLUMNS: [&str; 7] = [
    "总交易单数",
    "应结订单总金额",
    "退款总金额",
    "充值券退款总金额",
    "手续费总金额",
    "订单总金额",
    "申请退款总金额",
];

/// One line of the bill: a payment (`交易状态` SUCCESS) or a refund (REFUND).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillLine {
    /// `yyyy-MM-dd HH:mm:ss`, Beijing time.
    pub time: String,
    pub appid: String,
    pub mchid: String,
    pub transaction_id: String,
    pub out_trade_no: String,
    pub trade_state: String,
    /// `订单金额`.
    pub order_amount: Fen,
    pub refund_id: Option<String>,
    pub out_refund_no: Option<String>,
    /// `申请退款金额`, zero on a payment line.
    pub refund_amount: Fen,
    pub refund_status: Option<String>,
    pub description: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BillError {
    #[error("the bill has no header line")]
    NoHeader,
    #[error("the bill lacks the column {0}")]
    MissingColumn(&'static str),
    #[error("bill line {line}: {reason}")]
    Line { line: usize, reason: String },
}

fn yuan(fen: Fen) -> String {
    fen.to_yuan_decimal().unwrap_or_else(|| "0.00".into())
}

/// Writes the ALL bill of `lines` as WeChat Pay does.
pub fn render(lines: &[BillLine]) -> String {
    let mut out = ALL_COLUMNS.join(",");
    out.push_str("\r\n");
    let mut settled = Fen::ZERO;
    let mut refunded = Fen::ZERO;
    for l in lines {
        let is_refund = l.out_refund_no.is_some();
        if is_refund {
            refunded = refunded.checked_add(l.refund_amount).unwrap_or(refunded);
        } else {
            settled = settled.checked_add(l.order_amount).unwrap_or(settled);
        }
        let zero_or = |v: &Option<String>| v.clone().unwrap_or_else(|| "0".into());
        let fields: [String; 27] = [
            l.time.clone(),
            l.appid.clone(),
            l.mchid.clone(),
            "0".into(),
            String::new(),
            l.transaction_id.clone(),
            l.out_trade_no.clone(),
            "o-fake-payer".into(),
            "NATIVE".into(),
            l.trade_state.clone(),
            "OTHERS".into(),
            "CNY".into(),
            yuan(l.order_amount),
            "0.00".into(),
            zero_or(&l.refund_id),
            zero_or(&l.out_refund_no),
            yuan(l.refund_amount),
            "0.00".into(),
            if is_refund {
                "ORIGINAL".into()
            } else {
                String::new()
            },
            l.refund_status.clone().unwrap_or_default(),
            l.description.replace(',', " "),
            String::new(),
            "0.00000".into(),
            "0.60%".into(),
            yuan(l.order_amount),
            yuan(l.refund_amount),
            String::new(),
        ];
        let line: Vec<String> = fields.iter().map(|f| format!("`{f}")).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out.push_str(&SUMMARY_COLUMNS.join(","));
    out.push_str("\r\n");
    let summary = [
        lines.len().to_string(),
        yuan(settled),
        yuan(refunded),
        "0.00".into(),
        "0.00000".into(),
        yuan(settled),
        yuan(refunded),
    ];
    let summary: Vec<String> = summary.iter().map(|f| format!("`{f}")).collect();
    out.push_str(&summary.join(","));
    out.push_str("\r\n");
    out
}

/// Reads a trade bill: its detail lines, up to the summary header.
pub fn parse(text: &str) -> Result<Vec<BillLine>, BillError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let header: Vec<&str> = lines
        .by_ref()
        .find(|l| !l.trim().is_empty())
        .ok_or(BillError::NoHeader)?
        .split(',')
        .map(str::trim)
        .collect();
    let column = |name: &'static str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or(BillError::MissingColumn(name))
    };
    let time = column("交易时间")?;
    let appid = column("公众账号ID")?;
    let mchid = column("商户号")?;
    let transaction_id = column("微信订单号")?;
    let out_trade_no = column("商户订单号")?;
    let trade_state = column("交易状态")?;
    let refund_id = column("微信退款单号")?;
    let out_refund_no = column("商户退款单号")?;
    let refund_status = column("退款状态")?;
    let description = column("商品名称")?;
    // Bills of merchants still on the early format have 总金额 instead of 订单金额.
    let order_amount = column("订单金额").or_else(|_| column("总金额"))?;
    let refund_amount = column("申请退款金额").or_else(|_| column("退款金额"))?;

    let mut out = Vec::new();
    for (index, line) in lines.enumerate() {
        let number = index + 2;
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with(SUMMARY_COLUMNS[0]) {
            break;
        }
        let fields: Vec<&str> = line
            .split(',')
            .map(|f| f.trim().strip_prefix('`').unwrap_or(f.trim()))
            .collect();
        let field = |i: usize| -> Result<String, BillError> {
            fields
                .get(i)
                .map(|f| (*f).to_owned())
                .ok_or(BillError::Line {
                    line: number,
                    reason: format!("{} fields, header has {}", fields.len(), header.len()),
                })
        };
        let amount = |i: usize| -> Result<Fen, BillError> {
            let text = field(i)?;
            Fen::parse_yuan_decimal(&text).map_err(|e| BillError::Line {
                line: number,
                reason: e.to_string(),
            })
        };
        // A payment line has `0` (or nothing) for the refund numbers.
        let refund_field = |i: usize| -> Result<Option<String>, BillError> {
            let value = field(i)?;
            Ok((!value.is_empty() && value != "0").then_some(value))
        };
        out.push(BillLine {
            time: field(time)?,
            appid: field(appid)?,
            mchid: field(mchid)?,
            transaction_id: field(transaction_id)?,
            out_trade_no: field(out_trade_no)?,
            trade_state: field(trade_state)?,
            order_amount: amount(order_amount)?,
            refund_id: refund_field(refund_id)?,
            out_refund_no: refund_field(out_refund_no)?,
            refund_amount: amount(refund_amount)?,
            refund_status: refund_field(refund_status)?,
            description: field(description)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample response of WeChat Pay's bill download as published for Cloud
    /// Hosting (云托管) payments:
    /// <https://developers.weixin.qq.com/minigame/dev/wxcloudrun/src/development/pay/order/bill.html>
    /// (the `respdata` of 下载对账单), data only.
    const PUBLISHED_SAMPLE: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注
`2022-03-21 13:51:31,`wxfdc955f7104ad557,`180023671,`176531292,`,`420000612032130748613220688,`2021WERUN1647840687637,`oZWaCKXip5njeEiloC4oeOV1TTsk,`JSAPI,`SUCCESS,`OTHERS,`CNY,`0.01,`0.00,`0,`0,`0.00,`0.00,`,`,`微信云托管支付测试,`,`0.00000,`0.90%,`0.01,`0.00,`
总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额
`12,`0.06,`0.06,`0.00,`0.00000,`0.06,`0.06";

    #[test]
    fn the_published_sample_bill_parses() {
        let lines = parse(PUBLISHED_SAMPLE).unwrap();
        assert_eq!(lines.len(), 1);
        let l = &lines[0];
        assert_eq!(l.out_trade_no, "2021WERUN1647840687637");
        assert_eq!(l.transaction_id, "420000612032130748613220688");
        assert_eq!(l.trade_state, "SUCCESS");
        assert_eq!(l.order_amount, Fen(1));
        assert_eq!(l.refund_amount, Fen(0));
        assert_eq!(l.out_refund_no, None);
        assert_eq!(l.mchid, "180023671");
        assert_eq!(l.time, "2022-03-21 13:51:31");
    }

    #[test]
    fn our_bill_has_the_published_columns_and_reads_back() {
        // The header of the published sample is the documented ALL header.
        assert_eq!(
            PUBLISHED_SAMPLE.lines().next().unwrap(),
            ALL_COLUMNS.join(",")
        );
        let lines = vec![
            BillLine {
                time: "2026-12-02 19:52:00".into(),
                appid: "wx1".into(),
                mchid: "1900000109".into(),
                transaction_id: "4200000001".into(),
                out_trade_no: "EF1".into(),
                trade_state: "SUCCESS".into(),
                order_amount: Fen(12_345),
                refund_id: None,
                out_refund_no: None,
                refund_amount: Fen::ZERO,
                refund_status: None,
                description: "报名费, 2026".into(),
            },
            BillLine {
                time: "2026-12-02 20:00:00".into(),
                appid: "wx1".into(),
                mchid: "1900000109".into(),
                transaction_id: "4200000001".into(),
                out_trade_no: "EF1".into(),
                trade_state: "REFUND".into(),
                order_amount: Fen(12_345),
                refund_id: Some("5030000001".into()),
                out_refund_no: Some("RF1".into()),
                refund_amount: Fen(5),
                refund_status: Some("SUCCESS".into()),
                description: "报名费  2026".into(),
            },
        ];
        let text = render(&lines);
        assert!(text.contains("`123.45"));
        assert!(text.lines().any(|l| l.starts_with("总交易单数")));
        assert_eq!(parse(&text).unwrap(), {
            let mut expected = lines.clone();
            expected[0].description = "报名费  2026".into();
            expected
        });
    }

    #[test]
    fn a_bill_without_the_order_column_or_with_a_bad_amount_is_refused() {
        assert_eq!(
            parse("交易时间,商户订单号\n`x,`y\n"),
            Err(BillError::MissingColumn("公众账号ID"))
        );
        let bad = PUBLISHED_SAMPLE.replace("`0.90%,`0.01,", "`0.90%,`1e2,");
        assert!(matches!(parse(&bad), Err(BillError::Line { line: 2, .. })));
    }
}
