"""The contract probe's section for ING's Payment Request API (`Payment-Request-API.json`).

`ing_contract_probe.py` calls `run(probe, specs_folder)` once, as one of its sections. This module
adds the spec's nine operations to what the probe looks operations up in, and drives them the way
a merchant would, as the Open Banking premium application: its HTTP-signature token (keyId =
client_id, no certificate header), a `Signature` beside it over `(request-target) date digest
x-ing-reqid` with the `X-ING-ReqID` the spec requires, the premium TLS certificate. Each operation
is called with its success and the refusals the spec documents for it (400, 401, 403, 404, 409);
the payer pays on the sandbox's payer page like a browser. Every answer is validated by the main
probe's own `call` (documented status, content type, response schema, headers), and so is every
request, with one exception the spec forces: `CreatePaymentRequest.description`'s pattern matches
no string at all (a `^` stands in the middle of it), so the body of `POST /payment-requests` is
validated here against the schema without that one pattern.

The helpers are the main probe's own objects (the module that defines the `Probe` it is given),
so it works whether the main probe runs as a script or is imported.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import sys
import urllib.parse
import uuid
from pathlib import Path
from typing import Any, Iterable

SPEC_FILE = "Payment-Request-API.json"
PREMIUM_SIGNED = ("(request-target)", "date", "digest", "x-ing-reqid")
JSON = "application/json"
UNKNOWN_ID = "xrgq1coyp1pnnfigiaaa6pqn1o9lc0gh"
PAYER_IBAN = "NL69INGB0123456789"
RETURN_URL = "https://www.example.com/return?purchaseId=probe1"
REGISTRATION = {
    "merchantId": "001234567",
    "merchantName": "Company BV",
    "merchantIBAN": "NL26INGB0003275339",
    "dailyReceivableLimit": {"value": 25000.0, "currency": "EUR"},
}


class _Operations:
    """The probe's specs plus the Payment Request spec, for `Probe.call`'s operation lookup."""

    def __init__(self, base: Any, spec: Any):
        self.base = base
        self.spec = spec

    def find(self, method: str, path: str) -> Any:
        found = [op for op in self.spec.operations if op.method == method and op.regex.match(path)]
        return max(found, key=lambda op: op.literal) if found else self.base.find(method, path)


def run(probe: Any, specs_folder: Path) -> None:
    """Calls the nine operations of the Payment Request API on the probe's sandbox."""
    main = sys.modules[type(probe).__module__]
    path = Path(specs_folder) / SPEC_FILE
    if not path.is_file():
        raise main.SetupError(f"{path} not found")
    spec = main.Spec(path)
    saved = probe.specs
    probe.specs = _Operations(saved, spec)
    try:
        _Flow(main, probe, spec).run()
    finally:
        probe.specs = saved
    probe.notes.append(
        f"Payment Request: {len(spec.operations)} operations in {SPEC_FILE}; the body of POST "
        "/payment-requests is checked without the description pattern (it matches no string)")


class _Flow:
    def __init__(self, main: Any, probe: Any, spec: Any):
        self.m = main
        self.p = probe
        self.spec = spec
        self.premium = probe.premium
        self.bank = probe.premium_bank

    # ---- requests

    def sign(self, key_id: str | None = None, tamper: bool = False, identity: Any = None):
        return self.m.http_signature(identity or self.premium, key_id or self.m.PREMIUM_CLIENT_ID,
                                     PREMIUM_SIGNED, tamper=tamper)

    def call(self, method: str, path: str, token: str | None, why: str, expect: Iterable[int], *,
             body: Any = None, sign: Any = None, req_id: bool = True, deliberate: Iterable[str] = (),
             check: Any = None, bank: Any = None) -> Any:
        headers: dict[str, str] = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if req_id:
            headers["X-ING-ReqID"] = str(uuid.uuid4())
        data = None
        if body is not None:
            headers["Content-Type"] = JSON
            data = json.dumps(body)
        return self.p.call(method, path, why=why, expect=expect, bank=bank or self.bank, headers=headers,
                           body=data, sign=sign if sign is not None else self.sign(), deliberate=deliberate,
                           check=check)

    def token(self, why: str, scope: str | None = None) -> str:
        fields = {"grant_type": "client_credentials"}
        if scope:
            fields["scope"] = scope
        out = self.p.call("POST", "/oauth2/token", why=why, expect=[200], bank=self.bank,
                          headers={"Content-Type": self.m.FORM}, body=self.m.form(**fields),
                          sign=self.m.http_signature(self.premium, self.m.PREMIUM_CLIENT_ID, in_authorization=True))
        return self.m.token_of(out)

    def check_create_body(self, body: dict) -> None:
        """The request body of POST /payment-requests against its schema, the description's
        pattern left out (see the module's docstring)."""
        schema = copy.deepcopy(self.spec.doc["definitions"]["CreatePaymentRequest"])
        schema["properties"]["description"].pop("pattern", None)
        for pointer, expected, actual in self.m.schema_violations(self.spec.validator(schema), body):
            self.p.report_line(self.p.violation(self.m.Violation(
                "POST /payment-requests", SPEC_FILE, "request", f"(request body){pointer}", expected,
                actual + " (probe bug)", "request")))

    def create(self, token: str, body: dict, why: str, expect: Iterable[int], **kw: Any) -> Any:
        self.check_create_body(body)
        return self.call("POST", "/payment-requests", token, why, expect, body=body,
                         deliberate={"paymentRequest"}, **kw)

    # ---- the payer (a browser on the consent host)

    def pay(self, url: str, amount: str | None = None) -> str:
        page = self.p.browser_get(url)
        if page.status_code != 200:
            raise self.m.ProbeError(f"the payer page answered {page.status_code}: {self.m.excerpt(page)}")
        action, fields = self.m.fill_form(page.text, {"account": PAYER_IBAN}, "pay")
        if amount is not None:
            fields = [(k, amount if k == "amount" else v) for k, v in fields]
        answer = self.p.browser_post(urllib.parse.urljoin(url, action), fields)
        location = answer.headers.get("Location", "")
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        if answer.status_code != 302 or not {"prid", "trxid", "ec"} <= set(query):
            raise self.m.ProbeError(f"paying answered {answer.status_code} Location {location!r}")
        return query["trxid"]

    # ---- the flow

    def run(self) -> None:
        m = self.m
        token = self.token("premium application token with the Payment Request scopes")
        greetings = self.token("premium token with the showcase scope only", scope="greetings:view")
        mtls = m.token_of(self.p.call(
            "POST", "/oauth2/token", why="premium application token, mTLS only", expect=[200], bank=self.bank,
            headers={"Content-Type": m.FORM},
            body=m.form(grant_type="client_credentials", client_id=m.PREMIUM_CLIENT_ID)))
        psd2 = m.Flows(self.p).app_token_signed(why="PSD2 application token (not subscribed to the API)")
        self.registration(token, greetings, mtls, psd2)
        self.payment_requests(token, greetings)

    def registration(self, token: str, greetings: str, mtls: str, psd2: str) -> None:
        reg = "/payment-requests/registrations"
        first = self.call("GET", reg, token, "registration before registering", [200, 404])
        if first.response.status_code == 404:
            self.call("PATCH", reg, token, "update before registering", [400], body={"merchantName": "Company BV"})
            self.call("POST", f"{reg}/generate-certificates", token, "certificates before registering", [400])
            self.call("POST", "/payment-requests", token, "payment request before registering", [403],
                      body={"fixedAmount": {"value": 1, "currency": "EUR"}, "purchaseId": "early1",
                            "validUntil": in_days(1), "description": "Too early"},
                      deliberate={"paymentRequest"})
        else:
            self.p.notes.append("Payment Request: the premium application was registered already; the "
                                "refusals before a registration were not probed")
        self.call("POST", reg, token, "register the merchant", [202], body=REGISTRATION)
        bad_iban = dict(REGISTRATION, merchantIBAN="NL27INGB0003275339")
        self.call("POST", reg, token, "IBAN with wrong check digits", [400], body=bad_iban)
        self.call("POST", reg, token, "another merchantId than the registered one", [400],
                  body=dict(REGISTRATION, merchantId="005034567"))
        self.call("POST", reg, None, "no access token", [401], body=REGISTRATION, deliberate={"Authorization"})
        self.call("POST", reg, greetings, "token without payment-requests:register", [403], body=REGISTRATION)

        self.call("GET", reg, token, "the registration", [200])
        self.call("GET", reg, token, "signature does not verify", [401], sign=self.sign(tamper=True))
        self.call("GET", reg, mtls, "mTLS-only token", [401])
        self.call("GET", reg, greetings, "token without payment-requests:register", [403])
        self.call("GET", reg, psd2, "PSD2 application's token", [403], bank=self.p.bank,
                  sign=self.sign(key_id=self.m.PSD2_CLIENT_ID, identity=self.p.psd2))

        self.call("PATCH", reg, token, "change the merchant name", [204], body={"merchantName": "Another Company BV"})
        self.call("PATCH", reg, token, "merchantId not nine digits", [400], body={"merchantId": "12345"})
        self.call("PATCH", reg, token, "X-ING-ReqID missing (required header)", [401],
                  body={"merchantName": "Company BV"}, req_id=False,
                  sign=self.m.http_signature(self.premium, self.m.PREMIUM_CLIENT_ID), deliberate={"X-ING-ReqID"})
        self.call("PATCH", reg, greetings, "token without payment-requests:register", [403],
                  body={"merchantName": "Company BV"})
        self.call("PATCH", reg, token, "change the merchant name back", [204], body={"merchantName": "Company BV"})

        generated = self.call("POST", f"{reg}/generate-certificates", token, "generate the iDEAL 2.0 certificates", [202])
        self.call("POST", f"{reg}/generate-certificates", None, "no access token", [401], deliberate={"Authorization"})
        self.call("POST", f"{reg}/generate-certificates", greetings, "token without payment-requests:register", [403])

        answer = generated.json() if generated.ok else None
        if not isinstance(answer, dict):
            raise self.m.ProbeError("generate-certificates gave no certificates to upload")
        pems = [answer.get("acquiringMtlsCertificate"), answer.get("acquiringSigningCertificate")]
        if not all(isinstance(p, str) for p in pems):
            raise self.m.ProbeError("generate-certificates answered no acquiring certificates")
        certs = {f"cert{i + 1}": b64(pems[i % 2]) for i in range(4)}
        put = f"{reg}/certificates"
        self.call("PUT", put, token, "cert2 is not a PEM certificate", [400], body=dict(certs, cert2=b64("hello")))
        self.call("PUT", put, token, "signature does not verify", [401], body=certs, sign=self.sign(tamper=True))
        self.call("PUT", put, greetings, "token without payment-requests:register", [403], body=certs)
        self.call("PUT", put, token, "upload four certificates", [204], body=certs)
        self.call("GET", reg, token, "the registration after the upload", [200],
                  check=self.m.field_is("/status", "status", "Active", "after the upload"))

    def payment_requests(self, token: str, greetings: str) -> None:
        m = self.m
        fixed = {"fixedAmount": {"value": 99.95, "currency": "EUR"}, "validUntil": in_days(7),
                 "maximumAllowedPayments": 2, "purchaseId": "probe1",
                 "description": "Your purchase reference probe1", "returnUrl": RETURN_URL}
        created = self.create(token, fixed, "a payment request of a fixed amount", [201])
        self.create(token, dict(fixed, validUntil=in_days(-1)), "validUntil in the past", [400])
        self.create(token, dict(fixed, variableAmount={"suggestedValue": 5, "currency": "EUR"}),
                    "both a fixed and a variable amount", [400])
        self.create(token, fixed, "signature does not verify", [401], sign=self.sign(tamper=True))
        self.create(greetings, fixed, "token without payment-requests:create", [403])
        body = created.json() if created.ok else None
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            raise m.ProbeError("no payment request was created")
        rid, url = body["id"], body.get("paymentInitiationUrl", "")
        if not created.response.headers.get("Location", "").endswith(f"/payment-requests/{rid}"):
            self.p.report_line(self.p.violation(m.Violation(
                "POST /payment-requests", SPEC_FILE, "201", "(header Location)", "the new payment request's URL",
                created.response.headers.get("Location", "absent"), "behaviour")))

        one = f"/payment-requests/{rid}"
        self.call("GET", one, token, "the payment request", [200], check=m.field_is("/status", "status", "open", "when new"))
        self.call("GET", f"/payment-requests/{UNKNOWN_ID}", token, "unknown payment request", [404])
        self.call("GET", one, None, "no access token", [401], deliberate={"Authorization"})
        self.call("GET", one, greetings, "token without payment-requests:view", [403])

        self.pay(url)
        self.call("GET", f"{one}/payments", token, "the payment received", [200],
                  check=payments_are(m, 1))
        self.call("GET", f"/payment-requests/{UNKNOWN_ID}/payments", token, "unknown payment request", [404])
        self.call("GET", f"{one}/payments", token, "signature does not verify", [401], sign=self.sign(tamper=True))
        self.call("GET", f"{one}/payments", greetings, "token without payment-requests:view", [403])

        self.call("POST", f"{one}/close", greetings, "token without payment-requests:close", [403])
        self.call("POST", f"{one}/close", None, "no access token", [401], deliberate={"Authorization"})
        self.call("POST", f"/payment-requests/{UNKNOWN_ID}/close", token, "unknown payment request", [404])
        self.call("POST", f"{one}/close", token, "close the payment request", [204])
        self.call("POST", f"{one}/close", token, "close it again", [409])
        self.call("GET", one, token, "the closed payment request", [200],
                  check=m.field_is("/status", "status", "closed", "after close"))

        variable = {"variableAmount": {"minimumValue": 10, "maximumValue": 100, "suggestedValue": 25,
                                       "currency": "EUR"},
                    "validUntil": in_days(1), "maximumAllowedPayments": 1, "purchaseId": "probe2",
                    "description": "Any amount from 10 to 100"}
        created = self.create(token, variable, "a payment request of a variable amount", [201])
        body = created.json() if created.ok else {}
        if isinstance(body, dict) and isinstance(body.get("id"), str):
            self.pay(body.get("paymentInitiationUrl", ""), amount="15.00")
            other = f"/payment-requests/{body['id']}"
            self.call("GET", other, token, "one payment of one allowed", [200],
                      check=m.field_is("/status", "status", "fulfilled", "after its one payment"))
            self.call("POST", f"{other}/close", token, "close a fulfilled payment request", [409])


def payments_are(m: Any, count: int):
    def check(response: Any, op: Any) -> list:
        body = response.json()
        payments = body.get("payments") if isinstance(body, dict) else None
        if isinstance(payments, list) and len(payments) == count:
            return []
        return [m.Violation(op.label, op.spec.name, str(response.status_code), "/payments",
                            f"{count} payment(s)", m.short(payments), "behaviour")]

    return check


def in_days(days: int) -> str:
    at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
