//! ISO 20022 XML for the pain.001 operations of ING's PIS spec: reading a pain.001.001.03
//! credit transfer initiation into the JSON fields of `PaymentInstruction` (checked by the same
//! rules, `validate.rs`), writing the pain.002 status reports (`pain.002.001.03` on `/v1`,
//! `pain.002.001.11` on `/v2`), and ING's `TPPMessages` as XML for the operations that produce
//! XML.
//!
//! The document (quick-xml, namespaces resolved): one `Document` in the namespace
//! `urn:iso:std:iso:20022:tech:xsd:pain.001.001.03`, every element in it, UTF-8, no DOCTYPE, no
//! entities but XML's own and character references. What the pain.001.001.03 schema requires
//! is required — `GrpHdr` with `MsgId`, `CreDtTm`, `NbOfTxs`, `InitgPty`; `PmtInf` with
//! `PmtInfId`, `PmtMtd` (`TRF`: a credit transfer), `ReqdExctnDt`, `Dbtr`, `DbtrAcct` (its
//! `Id/IBAN`), `DbtrAgt` (`FinInstnId`) and `CdtTrfTxInf` with `PmtId/EndToEndId` and
//! `Amt/InstdAmt` (and its `Ccy`) — and what a payment of ING's needs besides: `Cdtr/Nm` and
//! `CdtrAcct` (`Id/IBAN`, or `Id/Othr/Id` outside SEPA). ING's spec: the document "can only
//! contain one payment initiation request": one `PmtInf` with one `CdtTrfTxInf`, `NbOfTxs` 1
//! and `CtrlSum`, when given, the amount. Elements the sandbox does not read are ignored, as
//! undeclared JSON fields are.
//!
//! Elements and the JSON fields they are checked as: `Amt/InstdAmt` → `instructedAmount`
//! (`@Ccy` its currency), `CdtrAcct/Id/IBAN` (`Othr/Id`, `Ccy`) → `creditorAccount`, `Cdtr/Nm` →
//! `creditorName`, `Cdtr/PstlAdr` (`StrtNm`, `BldgNb`, `PstCd`, `TwnNm`, `Ctry`) →
//! `creditorAddress`, `CdtrAgt/FinInstnId/BIC` → `creditorAgent`, `…/ClrSysMmbId` →
//! `clearingSystemMemberIdentification`, `PmtId/EndToEndId` → `endToEndIdentification`,
//! `RmtInf/Ustrd` (one) → `remittanceInformationUnstructured`, `ChrgBr` → `chargeBearer`,
//! `Dbtr/Nm` → `debtorName`, `DbtrAcct` → `debtorAccount`, `DbtrAgt/FinInstnId/BIC` →
//! `debtorAgent`, `PmtTpInf` (`InstrPrty`, `SvcLvl/Cd`, `LclInstrm/Cd`, `CtgyPurp/Cd`) → the
//! codes, `ReqdExctnDt` → `requestedExecutionDate`. A refusal names the element
//! (`Document/CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf/Amt/InstdAmt`, an attribute as `…/@Ccy`).

use std::io::Write as _;
use std::time::SystemTime;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use quick_xml::XmlVersion;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use quick_xml::writer::Writer;
use serde_json::{Map, Value, json};

use super::lifecycle::TransactionStatus;
use super::validate::{self, PaymentOrder, Product, Schema, is_swift_text, parse_date};
use crate::kernel::errors::{DIAGNOSIS_HEADER, ErrorBody, IngError};
use crate::psd2::resource::format_error;

pub const PAIN_001_NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03";
pub const XML_CONTENT_TYPE: &str = "application/xml";
/// Elements nested deeper than this are refused (pain.001 needs about 8).
const MAX_DEPTH: usize = 32;

const ROOT: &str = "Document/CstmrCdtTrfInitn";
const GROUP: &str = "Document/CstmrCdtTrfInitn/GrpHdr";
const INFO: &str = "Document/CstmrCdtTrfInitn/PmtInf";
const TX: &str = "Document/CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf";

/// What the sandbox keeps of a pain.001 besides the order: the document as received and what
/// its status reports refer to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pain001 {
    pub document: Vec<u8>,
    pub msg_id: String,
    pub pmt_inf_id: String,
    pub ctrl_sum: Option<String>,
}

/// A checked pain.001 document: the order its fields make and what is kept of it.
#[derive(Debug, Clone)]
pub struct Initiation {
    pub order: PaymentOrder,
    pub pain001: Pain001,
}

/// Reads and checks a pain.001.001.03 document; `extra` adds JSON fields checked with it (a
/// standing order's schedule, from the form), `schema` says which.
pub fn read(
    document: &[u8],
    schema: Schema,
    extra: &Map<String, Value>,
    product: Product,
    today: NaiveDate,
) -> Result<Initiation, IngError> {
    let root = parse(document)?;
    let mut reading = Reading::default();
    let pain001 = reading.document(&root)?;
    let mut fields = std::mem::take(&mut reading.fields);
    for (name, value) in extra {
        fields.insert(name.clone(), value.clone());
    }
    let order = validate::order_of(&fields, schema, product, today)
        .map_err(|error| reading.in_xml_terms(error))?;
    Ok(Initiation {
        order,
        pain001: Pain001 {
            document: document.to_vec(),
            ..pain001
        },
    })
}

// ---------------------------------------------------------------------------------------------
// The document as a tree
// ---------------------------------------------------------------------------------------------

/// An element of the document (namespace checked): its local name, attributes without the
/// namespace declarations, its text (trimmed) and its child elements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    fn count(&self, name: &str) -> usize {
        self.children.iter().filter(|c| c.name == name).count()
    }

    fn first(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn not_xml(detail: impl std::fmt::Display) -> IngError {
    IngError::tpp(
        StatusCode::BAD_REQUEST,
        "FORMAT_ERROR",
        format!("The request body is not a well-formed pain.001 XML document: {detail}"),
    )
}

/// Parses `bytes` into the `Document` element; every element must be in the pain.001.001.03
/// namespace.
pub fn parse(bytes: &[u8]) -> Result<Element, IngError> {
    let text = std::str::from_utf8(bytes).map_err(|_| not_xml("it is not UTF-8"))?;
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let (namespace, event) = reader
            .read_resolved_event()
            .map(|(ns, event)| (namespace_of(ns), event))
            .map_err(|e| not_xml(format!("{e} (at byte {})", reader.buffer_position())))?;
        match event {
            Event::Decl(decl) => {
                if let Some(Ok(encoding)) = decl.encoding()
                    && !encoding.eq_ignore_ascii_case(b"utf-8")
                {
                    return Err(not_xml(format!(
                        "encoding {} is not supported; send UTF-8",
                        String::from_utf8_lossy(&encoding)
                    )));
                }
            }
            Event::DocType(_) => return Err(not_xml("a DOCTYPE is not allowed")),
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                return Err(not_xml(format!("<{name}> after the document element")));
            }
            Event::Start(ref start) | Event::Empty(ref start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                if namespace.as_deref() != Some(PAIN_001_NAMESPACE) {
                    return Err(wrong_namespace(&name, namespace.as_deref(), &stack));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(not_xml(format!("elements nested deeper than {MAX_DEPTH}")));
                }
                let mut element = Element {
                    name,
                    ..Element::default()
                };
                for attribute in start.attributes() {
                    let attribute = attribute.map_err(not_xml)?;
                    if attribute.key.as_namespace_binding().is_some()
                        || attribute.key.prefix().is_some()
                    {
                        continue;
                    }
                    let value = attribute
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(not_xml)?;
                    element.attributes.push((
                        String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned(),
                        value.into_owned(),
                    ));
                }
                if matches!(event, Event::Empty(_)) {
                    close(element, &mut stack, &mut root)?;
                } else {
                    stack.push(element);
                }
            }
            Event::End(_) => {
                let element = stack.pop().ok_or_else(|| not_xml("an unmatched end tag"))?;
                close(element, &mut stack, &mut root)?;
            }
            Event::Text(text) => {
                let content = text.xml10_content().map_err(not_xml)?;
                append_text(&mut stack, &content)?;
            }
            Event::CData(data) => {
                let content = data.decode().map_err(not_xml)?;
                append_text(&mut stack, &content)?;
            }
            Event::GeneralRef(reference) => {
                let resolved = if reference.is_char_ref() {
                    reference
                        .resolve_char_ref()
                        .map_err(not_xml)?
                        .map(String::from)
                } else {
                    let name = reference.decode().map_err(not_xml)?;
                    quick_xml::escape::resolve_predefined_entity(&name).map(str::to_owned)
                };
                let resolved = resolved.ok_or_else(|| {
                    not_xml(format!(
                        "the entity &{}; is not one of XML's own",
                        String::from_utf8_lossy(&reference)
                    ))
                })?;
                append_text(&mut stack, &resolved)?;
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(not_xml(format!("<{}> is not closed", open.name)));
    }
    let root = root.ok_or_else(|| not_xml("there is no element"))?;
    if root.name != "Document" {
        return Err(format_error(
            format!(
                "The document element is <{}>; a pain.001 is a <Document> holding \
                 <CstmrCdtTrfInitn>",
                root.name
            ),
            &root.name,
        ));
    }
    Ok(root)
}

fn namespace_of(result: ResolveResult<'_>) -> Option<String> {
    match result {
        ResolveResult::Bound(ns) => Some(String::from_utf8_lossy(ns.as_ref()).into_owned()),
        ResolveResult::Unbound | ResolveResult::Unknown(_) => None,
    }
}

fn wrong_namespace(name: &str, namespace: Option<&str>, stack: &[Element]) -> IngError {
    let mut path: Vec<&str> = stack.iter().map(|e| e.name.as_str()).collect();
    path.push(name);
    let found = match namespace {
        Some(ns) => format!("is in the namespace {ns}"),
        None => "is in no namespace".to_owned(),
    };
    let hint = if namespace.is_some_and(|ns| ns.contains("pain.001")) {
        " (the sandbox reads pain.001.001.03, the version ING's PIS spec names)"
    } else {
        ""
    };
    format_error(
        format!("<{name}> {found}; pain.001 elements are in {PAIN_001_NAMESPACE}{hint}"),
        &path.join("/"),
    )
}

fn close(
    element: Element,
    stack: &mut [Element],
    root: &mut Option<Element>,
) -> Result<(), IngError> {
    if !element.children.is_empty() && !element.text.is_empty() {
        return Err(not_xml(format!(
            "<{}> holds both text and elements",
            element.name
        )));
    }
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
    Ok(())
}

fn append_text(stack: &mut [Element], content: &str) -> Result<(), IngError> {
    match stack.last_mut() {
        Some(element) => {
            // Whitespace between child elements is layout, not text.
            if !(element.text.is_empty() && content.trim().is_empty()) {
                element.text.push_str(content);
            }
            Ok(())
        }
        None if content.trim().is_empty() => Ok(()),
        None => Err(not_xml("text outside the document element")),
    }
}

// ---------------------------------------------------------------------------------------------
// pain.001 → the JSON fields
// ---------------------------------------------------------------------------------------------

/// The JSON fields read so far and, for each, the element it came from.
#[derive(Default)]
struct Reading {
    fields: Map<String, Value>,
    /// (JSON path, element path), for refusals.
    sources: Vec<(String, String)>,
}

impl Reading {
    fn document(&mut self, document: &Element) -> Result<Pain001, IngError> {
        let initiation = one(document, "CstmrCdtTrfInitn", "Document")?;
        let group = one(initiation, "GrpHdr", ROOT)?;
        let msg_id = max35(one(group, "MsgId", GROUP)?, &format!("{GROUP}/MsgId"))?;
        let created = text_of(one(group, "CreDtTm", GROUP)?);
        if !is_iso_date_time(created) {
            return Err(format_error(
                format!(
                    "{GROUP}/CreDtTm '{created}' is not an ISO date-time like 2025-01-31T09:30:00"
                ),
                &format!("{GROUP}/CreDtTm"),
            ));
        }
        count_is_one(one(group, "NbOfTxs", GROUP)?, &format!("{GROUP}/NbOfTxs"))?;
        one(group, "InitgPty", GROUP)?;
        let info = only_one(initiation, "PmtInf", ROOT)?;
        let pmt_inf_id = max35(one(info, "PmtInfId", INFO)?, &format!("{INFO}/PmtInfId"))?;
        let method = text_of(one(info, "PmtMtd", INFO)?);
        if method != "TRF" {
            return Err(format_error(
                format!(
                    "{INFO}/PmtMtd '{method}' is not TRF: ING's PIS initiates credit transfers"
                ),
                &format!("{INFO}/PmtMtd"),
            ));
        }
        if let Some(batch) = optional(info, "BtchBookg", INFO)? {
            let value = text_of(batch);
            if value != "true" && value != "false" {
                return Err(format_error(
                    format!("{INFO}/BtchBookg '{value}' is not true or false"),
                    &format!("{INFO}/BtchBookg"),
                ));
            }
        }
        if let Some(count) = optional(info, "NbOfTxs", INFO)? {
            count_is_one(count, &format!("{INFO}/NbOfTxs"))?;
        }
        let tx = only_one(info, "CdtTrfTxInf", INFO)?;
        let amount = one(one(tx, "Amt", TX)?, "InstdAmt", &format!("{TX}/Amt"))?;
        let amount_path = format!("{TX}/Amt/InstdAmt");
        let currency = amount.attribute("Ccy").ok_or_else(|| {
            format_error(
                format!("{amount_path}/@Ccy is required: the currency, like Ccy=\"EUR\""),
                &format!("{amount_path}/@Ccy"),
            )
        })?;
        // The amount's own rule before the control sums that must equal it.
        validate::check_amount_at(text_of(amount), &amount_path)?;
        let ctrl_sum = match optional(group, "CtrlSum", GROUP)? {
            Some(sum) => Some(control_sum(
                sum,
                text_of(amount),
                &format!("{GROUP}/CtrlSum"),
            )?),
            None => None,
        };
        if let Some(sum) = optional(info, "CtrlSum", INFO)? {
            control_sum(sum, text_of(amount), &format!("{INFO}/CtrlSum"))?;
        }

        // The fields, in the order PaymentInstruction checks them.
        self.put(
            "instructedAmount",
            json!({"amount": text_of(amount), "currency": currency}),
            &amount_path,
        );
        self.source("instructedAmount.amount", &amount_path);
        self.source("instructedAmount.currency", &format!("{amount_path}/@Ccy"));
        self.account(info, "DbtrAcct", INFO, "debtorAccount", true)?;
        self.account(tx, "CdtrAcct", TX, "creditorAccount", false)?;
        let creditor = one(tx, "Cdtr", TX)?;
        self.text(creditor, "Nm", &format!("{TX}/Cdtr"), "creditorName", true)?;
        self.source("creditorAddress", &format!("{TX}/Cdtr/PstlAdr"));
        if let Some(address) = optional(creditor, "PstlAdr", &format!("{TX}/Cdtr"))? {
            self.address(address, &format!("{TX}/Cdtr/PstlAdr"))?;
        }
        self.text(
            one(tx, "PmtId", TX)?,
            "EndToEndId",
            &format!("{TX}/PmtId"),
            "endToEndIdentification",
            true,
        )?;
        if let Some(agent) = optional(tx, "CdtrAgt", TX)? {
            let at = format!("{TX}/CdtrAgt/FinInstnId");
            let institution = one(agent, "FinInstnId", &format!("{TX}/CdtrAgt"))?;
            self.text(institution, "BIC", &at, "creditorAgent", false)?;
            if let Some(member) = optional(institution, "ClrSysMmbId", &at)? {
                let member_at = format!("{at}/ClrSysMmbId");
                let system = one(member, "ClrSysId", &member_at)?;
                let code = one(system, "Cd", &format!("{member_at}/ClrSysId"))?;
                let id = one(member, "MmbId", &member_at)?;
                self.put(
                    "clearingSystemMemberIdentification",
                    json!({"clearingSystemIdentificationCode": text_of(code),
                           "memberIdentification": text_of(id)}),
                    &member_at,
                );
                self.source(
                    "clearingSystemMemberIdentification.clearingSystemIdentificationCode",
                    &format!("{member_at}/ClrSysId/Cd"),
                );
                self.source(
                    "clearingSystemMemberIdentification.memberIdentification",
                    &format!("{member_at}/MmbId"),
                );
            }
        }
        if let Some(remittance) = optional(tx, "RmtInf", TX)? {
            let at = format!("{TX}/RmtInf");
            if remittance.count("Ustrd") > 1 {
                return Err(format_error(
                    format!(
                        "{at} holds more than one Ustrd; ING's PIS takes one line of 140 characters"
                    ),
                    &format!("{at}/Ustrd"),
                ));
            }
            self.text(
                remittance,
                "Ustrd",
                &at,
                "remittanceInformationUnstructured",
                false,
            )?;
        }
        // ChrgBr and PmtTpInf may be given for the PmtInf or the transaction; the
        // transaction's wins.
        for (owner, at) in [(info, INFO), (tx, TX)] {
            self.text(owner, "ChrgBr", at, "chargeBearer", false)?;
            if let Some(kind) = optional(owner, "PmtTpInf", at)? {
                let kind_at = format!("{at}/PmtTpInf");
                self.text(kind, "InstrPrty", &kind_at, "instructionPriority", false)?;
                for (element, field) in [
                    ("SvcLvl", "serviceLevelCode"),
                    ("LclInstrm", "localInstrumentCode"),
                    ("CtgyPurp", "categoryPurposeCode"),
                ] {
                    if let Some(code) = optional(kind, element, &kind_at)? {
                        self.text(code, "Cd", &format!("{kind_at}/{element}"), field, false)?;
                    }
                }
            }
        }
        let debtor = one(info, "Dbtr", INFO)?;
        self.text(debtor, "Nm", &format!("{INFO}/Dbtr"), "debtorName", false)?;
        let agent = one(info, "DbtrAgt", INFO)?;
        let institution = one(agent, "FinInstnId", &format!("{INFO}/DbtrAgt"))?;
        self.text(
            institution,
            "BIC",
            &format!("{INFO}/DbtrAgt/FinInstnId"),
            "debtorAgent",
            false,
        )?;
        self.text(info, "ReqdExctnDt", INFO, "requestedExecutionDate", true)?;

        Ok(Pain001 {
            document: Vec::new(),
            msg_id: msg_id.to_owned(),
            pmt_inf_id: pmt_inf_id.to_owned(),
            ctrl_sum,
        })
    }

    fn put(&mut self, field: &str, value: Value, from: &str) {
        self.fields.insert(field.to_owned(), value);
        self.source(field, from);
    }

    fn source(&mut self, field: &str, from: &str) {
        self.sources.retain(|(f, _)| f != field);
        self.sources.push((field.to_owned(), from.to_owned()));
    }

    /// The text of `parent/name` as the JSON `field` (required or not).
    fn text(
        &mut self,
        parent: &Element,
        name: &str,
        at: &str,
        field: &str,
        required: bool,
    ) -> Result<(), IngError> {
        let element = if required {
            Some(one(parent, name, at)?)
        } else {
            optional(parent, name, at)?
        };
        if let Some(element) = element {
            self.put(
                field,
                Value::from(text_of(element)),
                &format!("{at}/{name}"),
            );
        }
        Ok(())
    }

    /// `DbtrAcct` / `CdtrAcct`: `Id/IBAN` (or, for the creditor, `Id/Othr/Id`), `Ccy`.
    fn account(
        &mut self,
        parent: &Element,
        name: &str,
        at: &str,
        field: &str,
        debtor: bool,
    ) -> Result<(), IngError> {
        let account_at = format!("{at}/{name}");
        let account = one(parent, name, at)?;
        let id = one(account, "Id", &account_at)?;
        let id_at = format!("{account_at}/Id");
        let mut value = Map::new();
        match (optional(id, "IBAN", &id_at)?, optional(id, "Othr", &id_at)?) {
            (Some(iban), _) => {
                value.insert("iban".into(), Value::from(text_of(iban)));
                self.source(&format!("{field}.iban"), &format!("{id_at}/IBAN"));
            }
            (None, Some(other)) if !debtor => {
                let other_id = one(other, "Id", &format!("{id_at}/Othr"))?;
                value.insert("bban".into(), Value::from(text_of(other_id)));
                self.source(&format!("{field}.bban"), &format!("{id_at}/Othr/Id"));
                self.source(&format!("{field}.iban"), &format!("{id_at}/IBAN"));
            }
            _ => {
                return Err(format_error(
                    format!("{id_at}/IBAN is required: the account's IBAN"),
                    &format!("{id_at}/IBAN"),
                ));
            }
        }
        if let Some(currency) = optional(account, "Ccy", &account_at)? {
            value.insert("currency".into(), Value::from(text_of(currency)));
            self.source(&format!("{field}.currency"), &format!("{account_at}/Ccy"));
        }
        self.put(field, Value::Object(value), &account_at);
        Ok(())
    }

    /// `Cdtr/PstlAdr` as `creditorAddress`; `Ctry` required when the address is given.
    fn address(&mut self, address: &Element, at: &str) -> Result<(), IngError> {
        let mut value = Map::new();
        for (element, field) in [
            ("StrtNm", "street"),
            ("BldgNb", "buildingNumber"),
            ("TwnNm", "city"),
            ("PstCd", "postalCode"),
            ("Ctry", "country"),
        ] {
            if let Some(found) = optional(address, element, at)? {
                value.insert(field.into(), Value::from(text_of(found)));
            }
            self.source(
                &format!("creditorAddress.{field}"),
                &format!("{at}/{element}"),
            );
        }
        if !value.contains_key("country") {
            return Err(format_error(
                format!("{at}/Ctry is required in a postal address: two upper-case letters"),
                &format!("{at}/Ctry"),
            ));
        }
        self.put("creditorAddress", Value::Object(value), at);
        Ok(())
    }

    /// A refusal of the JSON rules, naming the element instead of the JSON field.
    fn in_xml_terms(&self, mut error: IngError) -> IngError {
        if let ErrorBody::Tpp { tpp_messages } = &mut error.body {
            for message in tpp_messages {
                let Some(path) = &message.path else { continue };
                if let Some((_, element)) = self.sources.iter().find(|(f, _)| f == path) {
                    message.text = message.text.replace(path.as_str(), element);
                    message.path = Some(element.clone());
                }
            }
        }
        error
    }
}

fn text_of(element: &Element) -> &str {
    element.text.trim()
}

/// The single child `name` of `parent` (at `at`): required, and not repeated.
fn one<'a>(parent: &'a Element, name: &str, at: &str) -> Result<&'a Element, IngError> {
    optional(parent, name, at)?.ok_or_else(|| {
        format_error(
            format!("<{name}> is required in {at}"),
            &format!("{at}/{name}"),
        )
    })
}

/// The child `name` of `parent` if there is one; refused when repeated.
fn optional<'a>(
    parent: &'a Element,
    name: &str,
    at: &str,
) -> Result<Option<&'a Element>, IngError> {
    let first = parent.first(name);
    if parent.count(name) > 1 {
        return Err(format_error(
            format!("{at} holds more than one <{name}>"),
            &format!("{at}/{name}"),
        ));
    }
    Ok(first)
}

/// `PmtInf` and `CdtTrfTxInf`: exactly one (ING's spec: one payment initiation per document).
fn only_one<'a>(parent: &'a Element, name: &str, at: &str) -> Result<&'a Element, IngError> {
    let count = parent.count(name);
    if count > 1 {
        return Err(format_error(
            format!(
                "{at} holds {count} <{name}>; a pain.001 to ING's PIS can only contain one \
                 payment initiation (one PmtInf with one CdtTrfTxInf)"
            ),
            &format!("{at}/{name}"),
        ));
    }
    one(parent, name, at)
}

/// `MsgId`, `PmtInfId`: the schema's Max35Text, in the PIS character set.
fn max35<'a>(element: &'a Element, path: &str) -> Result<&'a str, IngError> {
    let text = text_of(element);
    if text.chars().count() > 35 || !is_swift_text(text) {
        return Err(format_error(
            format!(
                "{path} '{text}' must be 1 to 35 characters: letters a-z and A-Z, digits, \
                 spaces and ? : ( ) . / , ' + -"
            ),
            path,
        ));
    }
    Ok(text)
}

fn count_is_one(element: &Element, path: &str) -> Result<(), IngError> {
    let text = text_of(element);
    if text == "1" {
        return Ok(());
    }
    Err(format_error(
        format!("{path} is '{text}'; a pain.001 to ING's PIS carries exactly 1 transaction"),
        path,
    ))
}

/// `CtrlSum`: a decimal equal to the one transaction's amount.
fn control_sum(element: &Element, amount: &str, path: &str) -> Result<String, IngError> {
    let text = text_of(element);
    match (decimal(text), decimal(amount)) {
        (Some(sum), Some(amount)) if sum == amount => Ok(text.to_owned()),
        (Some(_), Some(_)) => Err(format_error(
            format!("{path} {text} is not the amount of the transaction ({amount})"),
            path,
        )),
        (None, _) => Err(format_error(
            format!("{path} '{text}' is not a decimal number"),
            path,
        )),
        // The amount is refused by its own rule.
        (Some(_), None) => Ok(text.to_owned()),
    }
}

/// A non-negative decimal as (whole digits, fraction digits) without insignificant zeros.
fn decimal(text: &str) -> Option<(String, String)> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits(whole)
        || !digits(fraction)
        || (text.contains('.') && fraction.is_empty())
    {
        return None;
    }
    let whole = whole.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    Some((whole.to_owned(), fraction.to_owned()))
}

/// ISODateTime: `YYYY-MM-DDThh:mm:ss`, fractions and a zone (`Z`, `±hh:mm`) optional.
fn is_iso_date_time(text: &str) -> bool {
    let Some((date, time)) = text.split_once('T') else {
        return false;
    };
    if parse_date(date, "").is_err() {
        return false;
    }
    let time = time
        .strip_suffix('Z')
        .or_else(|| {
            let cut = time.len().checked_sub(6)?;
            let (head, zone) = time.split_at(cut);
            let zone = zone.as_bytes();
            (matches!(zone[0], b'+' | b'-')
                && zone[1..3].iter().all(u8::is_ascii_digit)
                && zone[3] == b':'
                && zone[4..].iter().all(u8::is_ascii_digit))
            .then_some(head)
        })
        .unwrap_or(time);
    let (clock, fraction) = time.split_once('.').unwrap_or((time, "0"));
    !fraction.is_empty()
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && chrono::NaiveTime::parse_from_str(clock, "%H:%M:%S").is_ok()
        && clock.len() == 8
}

// ---------------------------------------------------------------------------------------------
// Writing XML
// ---------------------------------------------------------------------------------------------

/// Which pain.002 a status report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// `GET /v1/payments/pain.001-{product}/{paymentId}/status`: pain.002.001.03, whose codes
    /// have no CANC: a cancelled payment is RJCT there (the spec's RJCT: "rejected, or …
    /// cancelled either by your application or by the customer").
    V1,
    /// `GET /v2/…/status`: pain.002.001.11, with CANC.
    V2,
}

impl Report {
    fn namespace(self) -> &'static str {
        match self {
            Report::V1 => "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03",
            Report::V2 => "urn:iso:std:iso:20022:tech:xsd:pain.002.001.11",
        }
    }

    /// The status code the report carries.
    pub fn code(self, status: TransactionStatus) -> &'static str {
        match (self, status) {
            (Report::V1, TransactionStatus::Cancelled) => "RJCT",
            _ => status.code(),
        }
    }
}

type XmlWriter = Writer<Vec<u8>>;

fn element(writer: &mut XmlWriter, name: &str, text: &str) -> std::io::Result<()> {
    writer
        .create_element(name)
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

fn document(
    namespace: Option<&str>,
    root: &str,
    content: impl FnOnce(&mut XmlWriter) -> std::io::Result<()>,
) -> Vec<u8> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    let written = (|| -> std::io::Result<()> {
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        let start = writer.create_element(root);
        let start = match namespace {
            Some(ns) => start.with_attribute(("xmlns", ns)),
            None => start,
        };
        start.write_inner_content(|w| content(w))?;
        Ok(())
    })();
    let mut bytes = writer.into_inner();
    if written.is_ok() {
        let _ = bytes.write_all(b"\n");
    }
    bytes
}

/// The pain.002 customer payment status report of a pain.001 payment.
pub fn status_report(
    pain001: &Pain001,
    status: TransactionStatus,
    report: Report,
    now: SystemTime,
) -> Vec<u8> {
    let code = report.code(status);
    let created = DateTime::<Utc>::from(now)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let message_id = uuid::Uuid::new_v4().simple().to_string();
    document(Some(report.namespace()), "Document", |w| {
        w.create_element("CstmrPmtStsRpt")
            .write_inner_content(|w| {
                w.create_element("GrpHdr").write_inner_content(|w| {
                    element(w, "MsgId", &message_id)?;
                    element(w, "CreDtTm", &created)
                })?;
                w.create_element("OrgnlGrpInfAndSts")
                    .write_inner_content(|w| {
                        element(w, "OrgnlMsgId", &pain001.msg_id)?;
                        element(w, "OrgnlMsgNmId", "pain.001.001.03")?;
                        element(w, "OrgnlNbOfTxs", "1")?;
                        if let Some(sum) = &pain001.ctrl_sum {
                            element(w, "OrgnlCtrlSum", sum)?;
                        }
                        element(w, "GrpSts", code)
                    })?;
                w.create_element("OrgnlPmtInfAndSts")
                    .write_inner_content(|w| {
                        element(w, "OrgnlPmtInfId", &pain001.pmt_inf_id)?;
                        element(w, "PmtInfSts", code)
                    })?;
                Ok(())
            })?;
        Ok(())
    })
}

/// ING's `TPPMessages` as XML (the Swagger 2 XML form of the schema: the definition's name as
/// the root, each `tppMessages` item an element of that name, its properties as elements).
pub fn tpp_messages_xml(error: &ErrorBody) -> Vec<u8> {
    let messages = match error {
        ErrorBody::Tpp { tpp_messages } => tpp_messages.clone(),
        ErrorBody::Message { message } => vec![crate::kernel::errors::TppMessage {
            category: "ERROR",
            code: "ING_ERROR".into(),
            text: message.clone(),
            path: None,
        }],
    };
    document(None, "TPPMessages", |w| {
        for message in &messages {
            w.create_element("tppMessages").write_inner_content(|w| {
                element(w, "category", message.category)?;
                element(w, "code", &message.code)?;
                element(w, "text", &message.text)?;
                if let Some(path) = &message.path {
                    element(w, "path", path)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    })
}

/// A response with an XML body.
pub fn xml_response(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(XML_CONTENT_TYPE),
        )],
        body,
    )
        .into_response()
}

/// A refusal of an operation that produces XML: the same status, headers and messages, the
/// body as XML.
pub fn xml_error(error: IngError) -> Response {
    let mut response = xml_response(error.status, tpp_messages_xml(&error.body));
    let headers = response.headers_mut();
    if let Some(value) = error.www_authenticate {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
    }
    if !error.diagnosis.is_empty()
        && let Ok(value) = HeaderValue::from_str(&error.diagnosis.join(", "))
    {
        headers.insert(DIAGNOSIS_HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 15).unwrap_or_default()
    }

    pub(crate) const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">
  <CstmrCdtTrfInitn>
    <GrpHdr>
      <MsgId>MSG-1</MsgId>
      <CreDtTm>2025-06-15T09:00:00</CreDtTm>
      <NbOfTxs>1</NbOfTxs>
      <CtrlSum>12.50</CtrlSum>
      <InitgPty><Nm>Hr A van Dijk</Nm></InitgPty>
    </GrpHdr>
    <PmtInf>
      <PmtInfId>PMT-1</PmtInfId>
      <PmtMtd>TRF</PmtMtd>
      <PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf>
      <ReqdExctnDt>2025-06-16</ReqdExctnDt>
      <Dbtr><Nm>Hr A van Dijk</Nm></Dbtr>
      <DbtrAcct><Id><IBAN>NL69INGB0123456789</IBAN></Id></DbtrAcct>
      <DbtrAgt><FinInstnId><BIC>INGBNL2A</BIC></FinInstnId></DbtrAgt>
      <CdtTrfTxInf>
        <PmtId><EndToEndId>E2E-1</EndToEndId></PmtId>
        <Amt><InstdAmt Ccy="EUR">12.50</InstdAmt></Amt>
        <CdtrAgt><FinInstnId><BIC>BKAUATWW</BIC></FinInstnId></CdtrAgt>
        <Cdtr><Nm>Laura Musterfrau</Nm><PstlAdr><TwnNm>Wien</TwnNm><Ctry>AT</Ctry></PstlAdr></Cdtr>
        <CdtrAcct><Id><IBAN>AT861921125678901234</IBAN></Id></CdtrAcct>
        <RmtInf><Ustrd>Invoice 42 &#43; O&apos;Brien</Ustrd></RmtInf>
      </CdtTrfTxInf>
    </PmtInf>
  </CstmrCdtTrfInitn>
</Document>
"#;

    fn read_sample(document: &str, product: Product) -> Result<Initiation, IngError> {
        read(
            document.as_bytes(),
            Schema::Payment,
            &Map::new(),
            product,
            today(),
        )
    }

    fn refusal(document: &str) -> Option<(String, Option<String>)> {
        read_sample(document, Product::Sepa)
            .err()
            .and_then(|e| match e.body {
                ErrorBody::Tpp { tpp_messages } => tpp_messages
                    .first()
                    .map(|m| (m.code.clone(), m.path.clone())),
                ErrorBody::Message { .. } => None,
            })
    }

    fn path_of(document: &str) -> Option<String> {
        refusal(document).and_then(|(_, path)| path)
    }

    #[test]
    fn a_pain001_reads_into_the_json_fields() {
        let read = read_sample(SAMPLE, Product::Sepa).unwrap_or_else(|e| panic!("{:?}", e.body));
        assert_eq!(
            Value::Object(read.order.declared.clone()),
            json!({
                "endToEndIdentification": "E2E-1",
                "debtorAccount": {"iban": "NL69INGB0123456789"},
                "instructedAmount": {"amount": "12.50", "currency": "EUR"},
                "creditorAccount": {"iban": "AT861921125678901234"},
                "creditorAgent": "BKAUATWW",
                "creditorName": "Laura Musterfrau",
                "creditorAddress": {"city": "Wien", "country": "AT"},
                "remittanceInformationUnstructured": "Invoice 42 + O'Brien",
                "debtorName": "Hr A van Dijk",
                "debtorAgent": "INGBNL2A",
                "serviceLevelCode": "SEPA",
                "requestedExecutionDate": "2025-06-16",
            })
        );
        assert_eq!(
            read.order.debtor_iban.as_deref(),
            Some("NL69INGB0123456789")
        );
        assert_eq!(read.pain001.msg_id, "MSG-1");
        assert_eq!(read.pain001.pmt_inf_id, "PMT-1");
        assert_eq!(read.pain001.ctrl_sum.as_deref(), Some("12.50"));
        assert_eq!(read.pain001.document, SAMPLE.as_bytes());
    }

    #[test]
    fn refusals_name_the_element() {
        for (from, to, path) in [
            (
                "12.50</InstdAmt>",
                "12,50</InstdAmt>",
                format!("{TX}/Amt/InstdAmt"),
            ),
            (
                "Ccy=\"EUR\"",
                "Ccy=\"eur\"",
                format!("{TX}/Amt/InstdAmt/@Ccy"),
            ),
            ("Ccy=\"EUR\"", "", format!("{TX}/Amt/InstdAmt/@Ccy")),
            (
                "<IBAN>AT861921125678901234</IBAN>",
                "<IBAN>AT86 1921</IBAN>",
                format!("{TX}/CdtrAcct/Id/IBAN"),
            ),
            (
                "<Nm>Laura Musterfrau</Nm>",
                "<Nm>Zoë</Nm>",
                format!("{TX}/Cdtr/Nm"),
            ),
            ("<Nm>Laura Musterfrau</Nm>", "", format!("{TX}/Cdtr/Nm")),
            (
                "<EndToEndId>E2E-1</EndToEndId>",
                "",
                format!("{TX}/PmtId/EndToEndId"),
            ),
            (
                "<BIC>BKAUATWW</BIC>",
                "<BIC>BKAUATW</BIC>",
                format!("{TX}/CdtrAgt/FinInstnId/BIC"),
            ),
            (
                "<Ctry>AT</Ctry>",
                "<Ctry>at</Ctry>",
                format!("{TX}/Cdtr/PstlAdr/Ctry"),
            ),
            ("<Ctry>AT</Ctry>", "", format!("{TX}/Cdtr/PstlAdr/Ctry")),
            (
                "<ReqdExctnDt>2025-06-16</ReqdExctnDt>",
                "<ReqdExctnDt>2025-06-14</ReqdExctnDt>",
                format!("{INFO}/ReqdExctnDt"),
            ),
            (
                "<ReqdExctnDt>2025-06-16</ReqdExctnDt>",
                "",
                format!("{INFO}/ReqdExctnDt"),
            ),
            (
                "<PmtMtd>TRF</PmtMtd>",
                "<PmtMtd>CHK</PmtMtd>",
                format!("{INFO}/PmtMtd"),
            ),
            ("<MsgId>MSG-1</MsgId>", "", format!("{GROUP}/MsgId")),
            (
                "<NbOfTxs>1</NbOfTxs>",
                "<NbOfTxs>2</NbOfTxs>",
                format!("{GROUP}/NbOfTxs"),
            ),
            (
                "<CtrlSum>12.50</CtrlSum>",
                "<CtrlSum>13</CtrlSum>",
                format!("{GROUP}/CtrlSum"),
            ),
            (
                "<CreDtTm>2025-06-15T09:00:00</CreDtTm>",
                "<CreDtTm>yesterday</CreDtTm>",
                format!("{GROUP}/CreDtTm"),
            ),
            (
                "<DbtrAcct><Id><IBAN>NL69INGB0123456789</IBAN></Id></DbtrAcct>",
                "",
                format!("{INFO}/DbtrAcct"),
            ),
            (
                "<Ustrd>Invoice 42 &#43; O&apos;Brien</Ustrd>",
                "<Ustrd>a</Ustrd><Ustrd>b</Ustrd>",
                format!("{TX}/RmtInf/Ustrd"),
            ),
            ("&apos;Brien", "&amp;Brien", format!("{TX}/RmtInf/Ustrd")),
        ] {
            assert!(SAMPLE.contains(from), "{from}");
            let document = SAMPLE.replace(from, to);
            assert_eq!(
                path_of(&document).as_deref(),
                Some(path.as_str()),
                "{from} -> {to}"
            );
        }
        // The text speaks of the element too.
        let err = read_sample(
            &SAMPLE.replace("12.50</InstdAmt>", "0</InstdAmt>"),
            Product::Sepa,
        )
        .err();
        let text = err.and_then(|e| match e.body {
            ErrorBody::Tpp { tpp_messages } => tpp_messages.first().map(|m| m.text.clone()),
            ErrorBody::Message { .. } => None,
        });
        assert!(
            text.as_deref()
                .is_some_and(|t| t.starts_with(&format!("{TX}/Amt/InstdAmt"))),
            "{text:?}"
        );
        // A control sum of the same value is the amount.
        assert_eq!(
            path_of(&SAMPLE.replace("CtrlSum>12.50", "CtrlSum>12.5")),
            None
        );
    }

    #[test]
    fn one_payment_per_document() {
        let two = SAMPLE.replace("</CdtTrfTxInf>", "</CdtTrfTxInf><CdtTrfTxInf/>");
        assert_eq!(path_of(&two), Some(format!("{INFO}/CdtTrfTxInf")));
        let two = SAMPLE.replace("</PmtInf>", "</PmtInf><PmtInf/>");
        assert_eq!(path_of(&two), Some(format!("{ROOT}/PmtInf")));
    }

    #[test]
    fn only_well_formed_pain001_03() {
        for bad in [
            "",
            "not xml",
            "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\"><CstmrCdtTrfInitn>",
            "<!DOCTYPE x [<!ENTITY a \"b\">]><Document/>",
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Document/>",
        ] {
            assert_eq!(
                refusal(bad).map(|(code, _)| code).as_deref(),
                Some("FORMAT_ERROR"),
                "{bad}"
            );
        }
        let unbound = SAMPLE.replace(
            " xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\"",
            "",
        );
        assert_eq!(path_of(&unbound).as_deref(), Some("Document"));
        let newer = SAMPLE.replace("pain.001.001.03", "pain.001.001.09");
        assert_eq!(path_of(&newer).as_deref(), Some("Document"));
        let entity = SAMPLE.replace("&apos;", "&nbsp;");
        assert_eq!(
            refusal(&entity).map(|(code, _)| code).as_deref(),
            Some("FORMAT_ERROR")
        );
        // A prefixed Document with unprefixed children: those are in no namespace.
        let prefixed = SAMPLE
            .replace("<Document xmlns=", "<p:Document xmlns:p=")
            .replace("</Document>", "</p:Document>");
        assert_eq!(
            path_of(&prefixed).as_deref(),
            Some("Document/CstmrCdtTrfInitn")
        );
        // Every element prefixed is the same document.
        let all = prefix_every_element(SAMPLE);
        assert!(read_sample(&all, Product::Sepa).is_ok(), "{all}");
    }

    /// Every element of `document` with the prefix `p:`.
    fn prefix_every_element(document: &str) -> String {
        let mut out = String::new();
        let mut rest = document;
        while let Some(i) = rest.find('<') {
            out.push_str(&rest[..=i]);
            rest = &rest[i + 1..];
            if rest.starts_with('?') || rest.starts_with('!') {
                continue;
            }
            if let Some(stripped) = rest.strip_prefix('/') {
                out.push_str("/p:");
                rest = stripped;
            } else {
                out.push_str("p:");
            }
        }
        out.push_str(rest);
        out.replace("p:Document xmlns=", "p:Document xmlns:p=")
    }

    #[test]
    fn outside_sepa_a_bban_and_other_currencies() {
        let domestic = SAMPLE
            .replace(
                "<Id><IBAN>AT861921125678901234</IBAN></Id>",
                "<Id><Othr><Id>123456789</Id></Othr></Id>",
            )
            .replace("Ccy=\"EUR\"", "Ccy=\"USD\"");
        let read =
            read_sample(&domestic, Product::Domestic).unwrap_or_else(|e| panic!("{:?}", e.body));
        assert_eq!(
            read.order.declared["creditorAccount"],
            json!({"bban": "123456789"})
        );
        assert_eq!(path_of(&domestic), Some(format!("{TX}/Amt/InstdAmt/@Ccy")));
        let no_address =
            SAMPLE.replace("<PstlAdr><TwnNm>Wien</TwnNm><Ctry>AT</Ctry></PstlAdr>", "");
        let err = read_sample(&no_address, Product::CrossBorder)
            .err()
            .and_then(|e| match e.body {
                ErrorBody::Tpp { tpp_messages } => {
                    tpp_messages.first().and_then(|m| m.path.clone())
                }
                ErrorBody::Message { .. } => None,
            });
        assert_eq!(err, Some(format!("{TX}/Cdtr/PstlAdr")));
    }

    #[test]
    fn iso_date_times() {
        for good in [
            "2025-06-15T09:00:00",
            "2025-06-15T09:00:00.123",
            "2025-06-15T09:00:00Z",
            "2025-06-15T09:00:00+02:00",
        ] {
            assert!(is_iso_date_time(good), "{good}");
        }
        for bad in [
            "2025-06-15",
            "2025-06-15T9:00:00",
            "2025-06-15T09:00",
            "2025-13-15T09:00:00",
            "2025-06-15T09:00:00+0200",
        ] {
            assert!(!is_iso_date_time(bad), "{bad}");
        }
    }

    #[test]
    fn status_reports_and_errors_are_well_formed_xml() {
        let pain001 = Pain001 {
            document: Vec::new(),
            msg_id: "MSG & 1".into(),
            pmt_inf_id: "PMT-1".into(),
            ctrl_sum: Some("12.50".into()),
        };
        let now = SystemTime::UNIX_EPOCH;
        let v1 = String::from_utf8(status_report(
            &pain001,
            TransactionStatus::Cancelled,
            Report::V1,
            now,
        ))
        .unwrap_or_default();
        assert!(
            v1.contains("pain.002.001.03") && v1.contains("<GrpSts>RJCT</GrpSts>"),
            "{v1}"
        );
        assert!(v1.contains("<OrgnlMsgId>MSG &amp; 1</OrgnlMsgId>"), "{v1}");
        assert!(
            v1.contains("<PmtInfSts>RJCT</PmtInfSts>")
                && v1.contains("<CreDtTm>1970-01-01T00:00:00Z</CreDtTm>"),
            "{v1}"
        );
        let v2 = String::from_utf8(status_report(
            &pain001,
            TransactionStatus::Cancelled,
            Report::V2,
            now,
        ))
        .unwrap_or_default();
        assert!(
            v2.contains("pain.002.001.11") && v2.contains("<PmtInfSts>CANC</PmtInfSts>"),
            "{v2}"
        );
        for text in [&v1, &v2] {
            let mut reader = NsReader::from_str(text);
            loop {
                match reader.read_event() {
                    Ok(Event::Eof) => break,
                    Ok(_) => {}
                    Err(e) => panic!("{e}: {text}"),
                }
            }
        }
        let error = IngError::tpp(
            StatusCode::NOT_FOUND,
            "RESOURCE_UNKNOWN",
            "No <payment> here",
        )
        .with_path("paymentId");
        let xml = String::from_utf8(tpp_messages_xml(&error.body)).unwrap_or_default();
        assert!(
            xml.contains("<TPPMessages>") && xml.contains("<code>RESOURCE_UNKNOWN</code>"),
            "{xml}"
        );
        assert!(
            xml.contains("<text>No &lt;payment&gt; here</text>")
                && xml.contains("<path>paymentId</path>"),
            "{xml}"
        );
    }
}
