#!/usr/bin/env python3
"""An independent client for obconform's embedded bank sandbox that checks every answer against
ING's published API specs.

It drives each operation of the OAuth 2.0, Account Information, Payment Initiation and Showcase
specs that the sandbox serves, the way a third party would: its own HTTP signatures (draft-cavage,
RSA PKCS#1 v1.5 SHA-256, with Digest and an IMF-fixdate Date) and detached JWS, made with the
`cryptography` package; consent obtained by filling in the sandbox's HTML consent screen and SCA
page; mutual TLS with the example certificates the sandbox wrote into its PKI folder. Every answer
is checked against the spec: the status must be documented, the content type listed, the body
valid against the response schema (jsonschema, Draft 4, with format checks for date, date-time and
uuid; `format: uri` is read as a URI reference because the specs' own examples are relative
paths). XML answers (the pain.001 and pain.002 documents, refusals of the operations that produce
XML) must be well-formed, and a refusal read the Swagger 2 way (the definition's properties as
child elements) must validate against TPPMessages; multipart/form-data answers must be
well-formed forms, their XML parts well-formed, a refusal's parts valid as TPPMessages. The
probe's own requests are checked too: every header and parameter the spec marks
required must be present and valid, so that a refusal is the sandbox's and not the probe's.

Usage:
    ing_contract_probe.py --api URL --consent URL --pki DIR --specs DIR

Prints one line per call (`PASS|FAIL METHOD path -> status`), each violation under its call, and
`probe: N calls, M operations, K violations` at the end. Exit status 0 when K is 0, 1 when not,
2 for a usage or setup error (missing spec or PKI files, a sandbox that does not answer).
Only the two given origins are ever contacted; links pointing elsewhere are refused.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import email.parser
import email.policy
import email.utils
import hashlib
import html.parser
import ipaddress
import json
import re
import sys
import traceback
import urllib.parse
import uuid
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

try:
    import jsonschema
    import requests
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
except ImportError as missing:  # pragma: no cover - setup error
    print(f"probe: setup error: {missing} (needs requests, cryptography, jsonschema)", file=sys.stderr)
    sys.exit(2)

# ING's pre-registered applications of the sandbox (README, "The embedded sandbox" and "The other
# systems"): the PSD2 example app bound to the example certificates, and the Open Banking premium
# app bound to the pair in DIR/premium/.
PSD2_CLIENT_ID = "5ca1ab1e-c0ca-c01a-cafe-154deadbea75"
PREMIUM_CLIENT_ID = "e77d776b-90af-4684-bebc-521e5b2614dd"
REDIRECT_URI = "https://www.example.com/"
AIS_SCOPE = "payment-accounts:balances:view payment-accounts:transactions:view card-accounts:transactions:view"
PSU_IP = "127.0.0.1"

SPEC_FILES = {
    "oauth": "OAuth-2.0-API.json",
    "ais": "Account-Information-API.json",
    "pis": "Payment-Initiation-API.json",
    "showcase": "Showcase-API.json",
}
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Keys of a Swagger 2 non-body parameter that are JSON Schema.
PARAM_SCHEMA_KEYS = (
    "type", "format", "items", "enum", "pattern", "maxLength", "minLength", "maximum", "minimum",
    "exclusiveMaximum", "exclusiveMinimum", "maxItems", "minItems", "uniqueItems", "multipleOf",
)
APP_SIGNED = ("(request-target)", "date", "digest")
RESOURCE_SIGNED = ("(request-target)", "date", "digest", "x-request-id")


class SetupError(Exception):
    """Cannot probe at all: exit 2."""


# --------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE_TIME_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# RFC 3986 URI-reference: only its characters and well-formed percent-escapes; a scheme, when
# present, well formed.
URI_CHARS_RE = re.compile(r"^(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")
SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("date")
    def _date(value: Any) -> bool:
        if not isinstance(value, str):
            return True
        if not DATE_RE.match(value):
            return False
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return False
        return True

    @checker.checks("date-time")
    def _date_time(value: Any) -> bool:
        if not isinstance(value, str):
            return True
        match = DATE_TIME_RE.match(value)
        if not match:
            return False
        try:
            dt.date.fromisoformat(match.group(1))
        except ValueError:
            return False
        hour, minute, second = (int(match.group(i)) for i in (2, 3, 4))
        return hour < 24 and minute < 60 and second < 61

    @checker.checks("uuid")
    def _uuid(value: Any) -> bool:
        return not isinstance(value, str) or bool(UUID_RE.match(value))

    @checker.checks("uri")
    def _uri_reference(value: Any) -> bool:
        if not isinstance(value, str):
            return True
        if not URI_CHARS_RE.match(value):
            return False
        head = value.split("/", 1)[0]
        return ":" not in head or bool(SCHEME_RE.match(value))

    return checker


FORMATS = format_checker()


# --------------------------------------------------------------------------------------------
# Specs
# --------------------------------------------------------------------------------------------


class Spec:
    """One spec file: its operations and `$ref` resolution."""

    def __init__(self, path: Path):
        try:
            self.doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise SetupError(f"cannot read spec {path}: {e}") from e
        self.name = path.name
        self.oas3 = "openapi" in self.doc
        if not self.oas3 and self.doc.get("swagger") != "2.0":
            raise SetupError(f"{path}: neither Swagger 2.0 nor OpenAPI 3")
        self.operations: list[Operation] = []
        for template, item in self.doc.get("paths", {}).items():
            item = self.resolve(item)
            shared = item.get("parameters", [])
            for method, op in item.items():
                if method in HTTP_METHODS:
                    self.operations.append(Operation(self, method.upper(), template, op, shared))

    def resolve(self, node: Any) -> Any:
        """Follows local `$ref`s until a node without one."""
        seen = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/") or ref in seen:
                raise SetupError(f"{self.name}: unsupported $ref {ref}")
            seen.add(ref)
            target: Any = self.doc
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def validator(self, schema: dict) -> jsonschema.Draft4Validator:
        """A Draft 4 validator for `schema`, whose `$ref`s resolve in this spec's document."""
        root = dict(schema)
        # The document's definitions ride along so that "#/definitions/…" and
        # "#/components/schemas/…" resolve against the schema's root.
        if "definitions" in self.doc and "definitions" not in root:
            root["definitions"] = self.doc["definitions"]
        if "components" in self.doc and "components" not in root:
            root["components"] = self.doc["components"]
        if "$ref" in root:
            # Draft 4 ignores a $ref's siblings: keep the $ref one level down.
            root = {"allOf": [{"$ref": root.pop("$ref")}], **root}
        return jsonschema.Draft4Validator(root, format_checker=FORMATS)


class Operation:
    def __init__(self, spec: Spec, method: str, template: str, op: dict, shared: list):
        self.spec = spec
        self.method = method
        self.template = template
        self.op = op
        self.shared = shared
        pattern, literal = "", 0
        for piece in re.split(r"(\{[^}]+\})", template):
            if piece.startswith("{") and piece.endswith("}"):
                pattern += f"(?P<p{len(pattern)}>[^/]+)"
            elif piece:
                pattern += re.escape(piece)
                literal += len(piece)
        self.names = re.findall(r"\{([^}]+)\}", template)
        self.regex = re.compile(f"^{pattern}$")
        self.literal = literal

    @property
    def label(self) -> str:
        return f"{self.method} {self.template}"

    def path_params(self, path: str) -> dict[str, str] | None:
        match = self.regex.match(path)
        if not match:
            return None
        return {n: urllib.parse.unquote(v) for n, v in zip(self.names, match.groups())}

    def parameters(self) -> list[dict]:
        """Path-item and operation parameters, resolved; the operation's win."""
        merged: dict[tuple[str, str], dict] = {}
        for p in list(self.shared) + list(self.op.get("parameters", [])):
            p = self.spec.resolve(p)
            merged[(p.get("in", ""), p.get("name", "").lower())] = p
        return list(merged.values())

    def responses(self) -> dict:
        return self.op.get("responses", {})

    def produces(self) -> list[str]:
        return self.op.get("produces") or self.spec.doc.get("produces") or []

    def consumes(self) -> list[str]:
        return self.op.get("consumes") or self.spec.doc.get("consumes") or []


class Specs:
    def __init__(self, folder: Path):
        if not folder.is_dir():
            raise SetupError(f"specs folder {folder} not found")
        for name in SPEC_FILES.values():
            if not (folder / name).is_file():
                raise SetupError(f"{folder / name} not found")
        self.by_key = {key: Spec(folder / name) for key, name in SPEC_FILES.items()}
        self.operations = [op for spec in self.by_key.values() for op in spec.operations]

    def find(self, method: str, path: str) -> Operation | None:
        """The operation whose template matches; the most literal template wins
        (`/v1/payments/pain.001-{payment-product}` over `/v1/payments/{payment-product}`)."""
        found = [op for op in self.operations if op.method == method and op.regex.match(path)]
        return max(found, key=lambda op: op.literal) if found else None


# --------------------------------------------------------------------------------------------
# Findings
# --------------------------------------------------------------------------------------------


@dataclass
class Violation:
    op: str  # "METHOD template"
    spec: str
    status: str  # the answer's status, or "request"
    pointer: str
    expected: str
    actual: str
    kind: str  # schema | status | content-type | body | header | request | behaviour | probe

    def key(self) -> tuple:
        general = re.sub(r"/\d+(?=/|$)", "/*", self.pointer)
        return (self.op, self.status, general, self.kind, self.expected)

    def render(self) -> str:
        pointer = self.pointer if self.pointer else '"" (document root)'
        return (
            f"{pointer}: expected {self.expected}; actual {self.actual}  "
            f"[{self.kind}; {self.op} -> {self.status}; {self.spec}]"
        )


def short(value: Any, limit: int = 90) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def schema_violations(validator: jsonschema.Draft4Validator, instance: Any, base: str = "") -> list[tuple[str, str, str]]:
    """(pointer, expected, actual) for every error, innermost first for combinators."""
    out = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        out.extend(_describe(error, base))
    return out


def _describe(error: jsonschema.ValidationError, base: str) -> list[tuple[str, str, str]]:
    pointer = base + json_pointer(error.absolute_path)
    kind, value = error.validator, error.validator_value
    if kind == "required":
        missing = [name for name in value if isinstance(error.instance, dict) and name not in error.instance]
        named = [n for n in missing if repr(n) in error.message] or missing[:1]
        has = ", ".join(sorted(error.instance)) if isinstance(error.instance, dict) else ""
        return [(f"{pointer}/{n}", "present (required)", f"absent (the object has: {has or 'nothing'})")
                for n in named]
    if kind in ("anyOf", "oneOf", "allOf") and error.context:
        inner = []
        for sub in error.context:
            inner.extend(_describe(sub, base))
        return inner
    if kind == "type":
        return [(pointer, f"type {value}", f"{short(error.instance)} ({type(error.instance).__name__})")]
    if kind == "enum":
        return [(pointer, f"one of {json.dumps(value)}", short(error.instance))]
    if kind == "format":
        return [(pointer, f"format {value}", short(error.instance))]
    if kind == "additionalProperties":
        return [(pointer, "no additional properties", error.message)]
    return [(pointer, f"{kind} {short(value, 60)}", short(error.instance))]


def media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


# --------------------------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------------------------


class Identity:
    """A TLS pair and a signing pair, as the sandbox wrote them."""

    def __init__(self, folder: Path, client_id: str):
        self.client_id = client_id
        self.tls_cert = folder / "example_client_tls.cer"
        self.tls_key = folder / "example_client_tls.key"
        signing_cert = folder / "example_client_signing.cer"
        signing_key = folder / "example_client_signing.key"
        for f in (self.tls_cert, self.tls_key, signing_cert, signing_key):
            if not f.is_file():
                raise SetupError(f"{f} not found (is the folder the sandbox's --pki DIR?)")
        try:
            self.cert = x509.load_pem_x509_certificate(signing_cert.read_bytes())
            self.key = serialization.load_pem_private_key(signing_key.read_bytes(), password=None)
        except ValueError as e:
            raise SetupError(f"cannot read the signing pair in {folder}: {e}") from e
        der = self.cert.public_bytes(serialization.Encoding.DER)
        self.serial_key_id = f"SN={self.cert.serial_number:X}"
        self.x5t_s256 = b64url(hashlib.sha256(der).digest())
        self.cert_header = base64.b64encode(der).decode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def body_bytes(prep: requests.PreparedRequest) -> bytes:
    body = prep.body or b""
    return body.encode() if isinstance(body, str) else body


def add_date_digest(prep: requests.PreparedRequest) -> None:
    prep.headers["Date"] = email.utils.formatdate(usegmt=True)
    prep.headers["Digest"] = "SHA-256=" + base64.b64encode(hashlib.sha256(body_bytes(prep)).digest()).decode()


def signed_lines(prep: requests.PreparedRequest, names: Iterable[str]) -> str:
    lines = []
    for name in names:
        if name == "(request-target)":
            lines.append(f"(request-target): {prep.method.lower()} {prep.path_url}")
        else:
            lines.append(f"{name}: {prep.headers[name]}")
    return "\n".join(lines)


def http_signature(identity: Identity, key_id: str, names: tuple = APP_SIGNED, in_authorization: bool = False,
                   tamper: bool = False) -> Callable[[requests.PreparedRequest], None]:
    """draft-cavage HTTP signature, rsa-sha256 (RSASSA-PKCS1-v1_5 with SHA-256)."""

    def sign(prep: requests.PreparedRequest) -> None:
        add_date_digest(prep)
        text = signed_lines(prep, names).encode()
        signature = identity.key.sign(text, padding.PKCS1v15(), hashes.SHA256())
        if tamper:
            signature = bytes([signature[0] ^ 0x01]) + signature[1:]
        value = (
            f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
            f'signature="{base64.b64encode(signature).decode()}"'
        )
        if in_authorization:
            prep.headers["Authorization"] = "Signature " + value
        else:
            prep.headers["Signature"] = value

    return sign


def detached_jws(identity: Identity, pars: tuple = ("(request-target)", "content-type", "digest"),
                 tamper: bool = False) -> Callable[[requests.PreparedRequest], None]:
    """Detached JWS with unencoded payload, PS256 with a 32-byte salt, `sigD` over HTTP headers."""

    def sign(prep: requests.PreparedRequest) -> None:
        add_date_digest(prep)
        header = {
            "b64": False,
            "x5t#S256": identity.x5t_s256,
            "crit": ["sigT", "sigD", "b64"],
            "sigT": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sigD": {"pars": list(pars), "mId": "http://uri.etsi.org/19182/HttpHeaders"},
            "alg": "PS256",
        }
        protected = b64url(json.dumps(header, separators=(",", ":")).encode())
        signing_input = f"{protected}.{signed_lines(prep, pars)}".encode()
        signature = identity.key.sign(
            signing_input, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
        )
        if tamper:
            signature = bytes([signature[0] ^ 0x01]) + signature[1:]
        prep.headers["X-JWS-Signature"] = f"{protected}..{b64url(signature)}"

    return sign


# --------------------------------------------------------------------------------------------
# HTML forms (the consent screen and the SCA page)
# --------------------------------------------------------------------------------------------


class FormReader(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": [], "radios": {}, "buttons": []})
        elif not self.forms:
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "radio":
                self.forms[-1]["radios"].setdefault(a.get("name", ""), []).append((a.get("value", ""), "checked" in a))
            elif kind in ("hidden", "text") and a.get("name"):
                self.forms[-1]["fields"].append((a["name"], a.get("value", "")))
        elif tag == "button" and a.get("name"):
            self.forms[-1]["buttons"].append((a["name"], a.get("value", "")))


def fill_form(page: str, choose: dict[str, str], submit: str) -> tuple[str, list[tuple[str, str]]]:
    """The first form's action and fields: hidden fields as given, radios as `choose` says (else
    the checked one), and the button whose value is `submit`."""
    reader = FormReader()
    reader.feed(page)
    if not reader.forms:
        raise ProbeError("the page has no form")
    form = reader.forms[0]
    fields = list(form["fields"])
    for name, options in form["radios"].items():
        values = [v for v, _ in options]
        if name in choose:
            if choose[name] not in values:
                raise ProbeError(f"the form offers no {name} {choose[name]!r} (offered: {values})")
            fields.append((name, choose[name]))
        else:
            checked = [v for v, c in options if c] or values[:1]
            fields.append((name, checked[0]))
    buttons = [b for b in form["buttons"] if b[1] == submit]
    if not buttons:
        raise ProbeError(f"the form has no {submit!r} button")
    fields.append(buttons[0])
    return form["action"], fields


def radio_values(page: str, name: str) -> list[str]:
    reader = FormReader()
    reader.feed(page)
    return [v for form in reader.forms for v, _ in form["radios"].get(name, [])]


class ProbeError(Exception):
    """The probe could not go on with a flow (the cause was already reported, or is named here)."""


# --------------------------------------------------------------------------------------------
# The probe
# --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    response: requests.Response
    op: Operation | None
    ok: bool

    def json(self) -> Any:
        try:
            return self.response.json()
        except ValueError:
            return None


@dataclass
class Probe:
    api: str
    consent: str
    pki: Path
    specs: Specs
    calls: int = 0
    operations: set = field(default_factory=set)
    violations: dict = field(default_factory=dict)  # key -> (number, Violation, count)
    not_served: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.origins = {origin(self.api), origin(self.consent)}
        ca = self.pki / "ca.pem"
        if not ca.is_file():
            raise SetupError(f"{ca} not found (is {self.pki} the sandbox's --pki DIR?)")
        self.psd2 = Identity(self.pki, PSD2_CLIENT_ID)
        self.premium = Identity(self.pki / "premium", PREMIUM_CLIENT_ID)
        self.bank = session(ca, self.psd2)
        self.premium_bank = session(ca, self.premium)
        self.browser = session(ca, None)
        self.browser.headers["Accept"] = "text/html"

    # ---- recording

    def violation(self, v: Violation) -> str:
        key = v.key()
        if key in self.violations:
            number, first, count = self.violations[key]
            self.violations[key] = (number, first, count + 1)
            return f"    = V{number} again: {v.pointer}"
        number = len(self.violations) + 1
        self.violations[key] = (number, v, 1)
        return f"    V{number} {v.render()}"

    def report_line(self, text: str) -> None:
        print(text, flush=True)

    # ---- one call

    def call(
        self,
        method: str,
        path: str,
        *,
        why: str,
        expect: Iterable[int],
        bank: requests.Session | None = None,
        headers: dict | None = None,
        body: bytes | str | None = None,
        sign: Callable[[requests.PreparedRequest], None] | None = None,
        deliberate: Iterable[str] = (),
        check: Callable[[requests.Response, Operation], list[Violation]] | None = None,
        served_check: bool = False,
    ) -> Outcome:
        """Sends one request to a spec operation and checks the request and the answer.
        `deliberate` names what the request gets wrong on purpose (parameter names, `body`);
        `check` adds the flow's own expectations about a documented answer; with `served_check`
        a 404 means the sandbox does not serve the operation: the answer is not validated."""
        url = self.api + path
        self.guard(url)
        request = requests.Request(method, url, headers=headers or {}, data=body)
        prep = (bank or self.bank).prepare_request(request)
        if sign:
            sign(prep)
        split = urllib.parse.urlsplit(prep.url)
        op = self.specs.find(method, split.path)
        found: list[Violation] = []
        if op is None:
            found.append(Violation(f"{method} {split.path}", "-", "request", "", "an operation of the specs",
                                   "no operation matches (probe bug)", "probe"))
        else:
            found.extend(check_request(op, prep, set(deliberate)))
        try:
            response = (bank or self.bank).send(prep, allow_redirects=False, timeout=30)
        except requests.RequestException as e:
            if self.calls == 0:
                raise SetupError(f"the sandbox does not answer at {self.api}: {e}") from e
            raise ProbeError(f"{method} {path}: {e}") from e
        self.calls += 1
        expected = set(expect)
        shown = split.path + (f"?{split.query}" if split.query else "")
        if len(shown) > 110:
            shown = shown[:109] + "…"
        if served_check and response.status_code == 404:
            self.report_line(f"SKIP {method} {shown} -> 404  ({why}: not served, the answer is not validated)")
            for v in found:
                self.report_line(self.violation(v))
            return Outcome(response, op, True)
        if op is not None:
            self.operations.add((op.spec.name, op.label))
            found.extend(check_response(op, response))
            status = str(response.status_code)
            documented = status in op.responses() or "default" in op.responses()
            if documented and response.status_code not in expected:
                found.append(Violation(op.label, op.spec.name, status, "(status)",
                                       f"{' or '.join(map(str, sorted(expected)))} ({why})",
                                       f"{status} {excerpt(response)}", "behaviour"))
            elif documented and check is not None:
                found.extend(check(response, op))
        verdict = "FAIL" if found else "PASS"
        self.report_line(f"{verdict} {method} {shown} -> {response.status_code}  ({why})")
        # One line per kind of violation in this answer (the same rule broken at /0, /1, … once).
        groups: dict[tuple, list[Violation]] = {}
        for v in found:
            groups.setdefault(v.key(), []).append(v)
        for same in groups.values():
            line = self.violation(same[0])
            if len(same) > 1:
                number, first, count = self.violations[same[0].key()]
                self.violations[same[0].key()] = (number, first, count + len(same) - 1)
                line += f"  (+{len(same) - 1} more like it in this answer)"
            self.report_line(line)
        return Outcome(response, op, response.status_code in expected)

    def guard(self, url: str) -> None:
        if origin(url) not in self.origins:
            raise ProbeError(f"refusing to contact {url}: not the sandbox's API or consent host")

    def note_not_served(self, label: str, status: int, why: str) -> None:
        self.not_served.append(f"{label} ({why}: {status})")

    # ---- browser steps (not spec operations)

    def browser_get(self, url: str) -> requests.Response:
        self.guard(url)
        r = self.browser.get(url, allow_redirects=False, timeout=30)
        self.report_line(f"STEP GET {urllib.parse.urlsplit(url).path} -> {r.status_code}  (browser, not in the specs)")
        return r

    def browser_post(self, url: str, fields: list[tuple[str, str]]) -> requests.Response:
        self.guard(url)
        r = self.browser.post(
            url, data=urllib.parse.urlencode(fields),
            headers={"Content-Type": "application/x-www-form-urlencoded"}, allow_redirects=False, timeout=30,
        )
        self.report_line(f"STEP POST {urllib.parse.urlsplit(url).path} -> {r.status_code}  (browser, not in the specs)")
        return r


def origin(url: str) -> str:
    s = urllib.parse.urlsplit(url)
    return f"{s.scheme}://{s.netloc}".lower()


def session(ca: Path, identity: Identity | None) -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # no proxies: the sandbox is on this machine
    s.verify = str(ca)
    if identity is not None:
        s.cert = (str(identity.tls_cert), str(identity.tls_key))
    s.headers["Accept"] = "application/json"
    return s


def excerpt(response: requests.Response, limit: int = 160) -> str:
    text = response.text.strip().replace("\n", " ")
    return (text[:limit] + "…") if len(text) > limit else text


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def header_value(prep: requests.PreparedRequest, name: str) -> str | None:
    for k, v in prep.headers.items():
        if k.lower() == name.lower():
            return v
    return None


def param_schema(spec: Spec, p: dict) -> dict:
    if spec.oas3:
        return spec.resolve(p.get("schema", {}))
    return {k: v for k, v in p.items() if k in PARAM_SCHEMA_KEYS}


def coerce(raw: str, schema: dict, p: dict) -> Any:
    """A query/header/path string as the value its schema describes (so that `type` checks mean
    something); left a string when it does not convert, which the type check then reports."""
    kind = schema.get("type")
    if kind == "integer":
        return int(raw) if re.fullmatch(r"[+-]?\d+", raw) else raw
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            return raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    if kind == "array":
        sep = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|"}.get(p.get("collectionFormat", "csv"), ",")
        item = schema.get("items", {})
        return [coerce(x, item, {}) for x in raw.split(sep)]
    return raw


def check_request(op: Operation, prep: requests.PreparedRequest, deliberate: set[str]) -> list[Violation]:
    """The probe's own request against the spec: required parameters present, values valid."""
    spec = op.spec
    out: list[Violation] = []
    split = urllib.parse.urlsplit(prep.url)
    query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
    path_values = op.path_params(split.path) or {}
    body = body_bytes(prep)
    ctype = media_type(header_value(prep, "Content-Type"))

    def bad(pointer: str, expected: str, actual: str) -> None:
        out.append(Violation(op.label, spec.name, "request", pointer, expected, actual + " (probe bug)", "request"))

    for p in op.parameters():
        where, name = p.get("in"), p.get("name", "")
        if name in deliberate or where in deliberate:
            continue
        if where == "body":
            if p.get("required") and not body:
                bad("(request body)", "a body (required)", "none")
            elif body:
                if media_type(ctype) not in [media_type(c) for c in op.consumes()] and op.consumes():
                    bad("(request Content-Type)", f"one of {op.consumes()}", ctype or "none")
                if ctype.endswith("json"):
                    try:
                        instance = json.loads(body)
                    except ValueError:
                        bad("(request body)", "JSON", "not JSON")
                        continue
                    for pointer, exp, act in schema_violations(spec.validator(p.get("schema", {})), instance):
                        bad(f"(request body){pointer}", exp, act)
            continue
        if where == "formData":
            continue  # multipart forms: only the served-check sends one, and deliberately bare
        if where == "header":
            raw = header_value(prep, name)
            values = [raw] if raw is not None else []
        elif where == "query":
            values = query.get(name, [])
        elif where == "path":
            values = [path_values[name]] if name in path_values else []
        else:
            continue
        if not values:
            if p.get("required"):
                bad(f"({where} {name})", "present (required)", "absent")
            continue
        schema = param_schema(spec, p)
        if where == "header" and name.lower() == "date":
            # The specs give Date `format: date-time` but describe it as an RFC 7231 HTTP date,
            # which is what HTTP and ING's guide send; the format is not checked.
            schema = {k: v for k, v in schema.items() if k != "format"}
        validator = spec.validator(schema)
        for value in values:
            for pointer, exp, act in schema_violations(validator, coerce(value, schema, p)):
                bad(f"({where} {name}){pointer}", exp, act)
    request_body = op.op.get("requestBody")
    if spec.oas3 and request_body and "body" not in deliberate:
        request_body = spec.resolve(request_body)
        content = request_body.get("content", {})
        if request_body.get("required") and not body:
            bad("(request body)", "a body (required)", "none")
        elif body:
            declared = {media_type(k): v for k, v in content.items()}
            if ctype not in declared:
                bad("(request Content-Type)", f"one of {sorted(declared)}", ctype or "none")
            else:
                schema = spec.resolve(declared[ctype].get("schema", {}))
                if ctype == "application/x-www-form-urlencoded":
                    instance: Any = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
                else:
                    instance = json.loads(body)
                for pointer, exp, act in schema_violations(spec.validator(schema), instance):
                    bad(f"(request body){pointer}", exp, act)
    return out


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def xml_as_json(element: ElementTree.Element, schema: dict, spec: Spec) -> Any:
    """An XML element as the JSON value `schema` describes, the Swagger 2 way: an object's
    properties are child elements, an array's items repeated elements of the property's name,
    scalars the element's text."""
    schema = spec.resolve(schema)
    if schema.get("type") == "object" or "properties" in schema:
        out: dict = {}
        properties = schema.get("properties", {})
        for child in element:
            name = local_name(child.tag)
            prop = spec.resolve(properties.get(name, {}))
            if prop.get("type") == "array":
                out.setdefault(name, []).append(xml_as_json(child, prop.get("items", {}), spec))
            else:
                out[name] = xml_as_json(child, prop, spec)
        return out
    text = (element.text or "").strip()
    kind = schema.get("type")
    if kind == "integer" and re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def xml_body_violations(spec: Spec, schema: dict, body: bytes) -> list[tuple[str, str, str, str]]:
    """An XML answer: well-formed; when its schema is an object (ING's TPPMessages), the
    document read the Swagger 2 way must validate against it; a `type: string` schema (a
    pain.001 or pain.002 document) is judged for well-formedness only."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as e:
        return [("(body)", "well-formed XML", str(e), "body")]
    resolved = spec.resolve(schema)
    if resolved.get("type") != "object" and "properties" not in resolved:
        return []
    instance = xml_as_json(root, resolved, spec)
    return [(f"(xml){pointer}", exp, act, "schema")
            for pointer, exp, act in schema_violations(spec.validator(schema), instance)]


def multipart_body_violations(spec: Spec, schema: dict, content_type: str,
                              body: bytes) -> list[tuple[str, str, str, str]]:
    """A multipart/form-data answer: a well-formed form (Python's email parser) whose parts are
    named; XML parts well-formed; when its schema is an object (ING's TPPMessages), the form
    read as that object (a part per property, JSON parts parsed) must validate against it."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    if not message.is_multipart():
        return [("(body)", "a multipart/form-data form", excerpt_bytes(body), "body")]
    out = []
    fields: dict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_content_disposition() != "form-data" or not name:
            out.append(("(body)", 'each part Content-Disposition: form-data; name="…"',
                        str(part.get("Content-Disposition")), "body"))
            continue
        data = part.get_payload(decode=True) or b""
        kind = part.get_content_type()
        if kind.endswith("xml"):
            try:
                ElementTree.fromstring(data)
            except ElementTree.ParseError as e:
                out.append((f"(part {name})", "well-formed XML", str(e), "body"))
        if kind.endswith("json"):
            try:
                fields[name] = json.loads(data)
            except ValueError:
                out.append((f"(part {name})", "JSON", excerpt_bytes(data), "body"))
        else:
            fields[name] = data.decode("utf-8", "replace")
    resolved = spec.resolve(schema)
    if resolved.get("type") == "object" or "properties" in resolved:
        out.extend((f"(form){pointer}", exp, act, "schema")
                   for pointer, exp, act in schema_violations(spec.validator(schema), fields))
    return out


def excerpt_bytes(data: bytes, limit: int = 80) -> str:
    text = data.decode("utf-8", "replace").strip().replace("\n", " ")
    return (text[:limit] + "…") if len(text) > limit else text


# Statuses ING's PSD2 guide documents where the specs do not: a signature or token fault on the
# OAuth endpoints is a 401 (the OAuth spec lists 200, 400, 500). The answer then has no schema to
# be judged against.
GUIDE_DOCUMENTED_STATUSES = {
    ("POST /oauth2/token", "401"),
    ("GET /oauth2/authorization-server-url", "401"),
    ("POST /oauth2/token/revoke", "401"),
}


def check_response(op: Operation, response: requests.Response) -> list[Violation]:
    spec = op.spec
    status = str(response.status_code)
    out: list[Violation] = []
    if (op.label, status) in GUIDE_DOCUMENTED_STATUSES:
        return out

    def bad(pointer: str, expected: str, actual: str, kind: str) -> None:
        out.append(Violation(op.label, spec.name, status, pointer, expected, actual, kind))

    responses = op.responses()
    documented = responses.get(status, responses.get("default"))
    if documented is None:
        bad("(status)", f"a documented status: {', '.join(sorted(responses))}",
            f"{status} {excerpt(response, 100)}", "status")
        return out
    documented = spec.resolve(documented)
    body = response.content
    actual_type = media_type(response.headers.get("Content-Type"))
    if spec.oas3:
        content = {media_type(k): v for k, v in documented.get("content", {}).items()}
        types = list(content)
        schema = spec.resolve(content[actual_type].get("schema")) if actual_type in content else None
        if schema is None and content and len(content) == 1:
            schema = spec.resolve(next(iter(content.values())).get("schema"))
    else:
        schema = documented.get("schema")
        types = [media_type(t) for t in op.produces()] if schema is not None else []
    if not types:
        if body:
            bad("(body)", "no body (the spec documents none for this status)",
                f"{len(body)} bytes of {actual_type or 'no content type'}", "body")
    elif not body:
        bad("(body)", f"a body of {', '.join(types)}", "empty", "body")
    else:
        if actual_type not in types:
            bad("(Content-Type)", f"one of {', '.join(types)}", actual_type or "none", "content-type")
        if schema is not None and (actual_type.endswith("json") or all(t.endswith("json") for t in types)):
            try:
                instance = json.loads(body)
            except ValueError:
                bad("(body)", "JSON", excerpt(response, 80), "body")
            else:
                for pointer, exp, act in schema_violations(spec.validator(schema), instance):
                    bad(pointer, exp, act, "schema")
        elif schema is not None and actual_type.endswith("xml"):
            for pointer, exp, act, kind in xml_body_violations(spec, schema, body):
                bad(pointer, exp, act, kind)
        elif schema is not None and actual_type == "multipart/form-data":
            content_type = response.headers.get("Content-Type", "")
            for pointer, exp, act, kind in multipart_body_violations(spec, schema, content_type, body):
                bad(pointer, exp, act, kind)
    for name, definition in documented.get("headers", {}).items():
        value = response.headers.get(name)
        definition = spec.resolve(definition)
        if value is None:
            if definition.get("required"):
                bad(f"(header {name})", "present (required)", "absent", "header")
            continue
        hschema = spec.resolve(definition.get("schema", {})) if spec.oas3 else {
            k: v for k, v in definition.items() if k in PARAM_SCHEMA_KEYS}
        for pointer, exp, act in schema_violations(spec.validator(hschema), coerce(value, hschema, definition)):
            bad(f"(header {name}){pointer}", exp, act, "header")
    return out


# --------------------------------------------------------------------------------------------
# Flows
# --------------------------------------------------------------------------------------------

FORM = "application/x-www-form-urlencoded"


def form(**fields: str) -> str:
    return urllib.parse.urlencode(fields, quote_via=urllib.parse.quote)


def href(link: Any) -> str | None:
    """A `_links` member: the spec's plain URI string, or the `{href}` object HAL uses."""
    if isinstance(link, str):
        return link
    if isinstance(link, dict) and isinstance(link.get("href"), str):
        return link["href"]
    return None


class Flows:
    def __init__(self, probe: Probe):
        self.p = probe
        self.psd2 = probe.psd2

    # ---- OAuth

    def app_token_signed(self, scope: str | None = None, why: str = "application token, HTTP signature") -> str:
        fields = {"grant_type": "client_credentials"}
        if scope:
            fields["scope"] = scope
        out = self.p.call("POST", "/oauth2/token", why=why, expect=[200],
                          headers={"Content-Type": FORM}, body=form(**fields),
                          sign=http_signature(self.psd2, self.psd2.serial_key_id, in_authorization=True))
        return token_of(out)

    def oauth(self) -> dict:
        p = self.p
        mtls = p.call("POST", "/oauth2/token", why="application token, mTLS only", expect=[200],
                      headers={"Content-Type": FORM},
                      body=form(grant_type="client_credentials", client_id=PSD2_CLIENT_ID))
        token_of(mtls)
        app = self.app_token_signed()
        p.call("POST", "/oauth2/token", why="unknown grant_type", expect=[400],
               headers={"Content-Type": FORM}, body=form(grant_type="password", client_id=PSD2_CLIENT_ID),
               deliberate={"body"})
        p.call("POST", "/oauth2/token", why="application token, signature does not verify", expect=[401],
               headers={"Content-Type": FORM}, body=form(grant_type="client_credentials"),
               sign=http_signature(self.psd2, self.psd2.serial_key_id, in_authorization=True, tamper=True))
        p.call("POST", "/oauth2/token", why="mTLS only, client_id unknown", expect=[401],
               headers={"Content-Type": FORM},
               body=form(grant_type="client_credentials", client_id=str(uuid.uuid4())))
        # authorization_code
        code = self.consent_code("NL", AIS_SCOPE, profile=None)
        p.call("POST", "/oauth2/token", why="authorization_code, code never issued", expect=[400],
               headers={"Content-Type": FORM, "Authorization": f"Bearer {app}"},
               body=form(grant_type="authorization_code", code="0" * 128, redirect_uri=REDIRECT_URI),
               sign=http_signature(self.psd2, PSD2_CLIENT_ID))
        p.call("POST", "/oauth2/token", why="authorization_code, signature does not verify", expect=[401],
               headers={"Content-Type": FORM, "Authorization": f"Bearer {app}"},
               body=form(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI),
               sign=http_signature(self.psd2, PSD2_CLIENT_ID, tamper=True))
        customer = self.exchange(app, code)
        # refresh_token
        refreshed = p.call("POST", "/oauth2/token", why="refresh_token", expect=[200],
                           headers={"Content-Type": FORM, "Authorization": f"Bearer {app}"},
                           body=form(grant_type="refresh_token", refresh_token=customer["refresh_token"]),
                           sign=http_signature(self.psd2, PSD2_CLIENT_ID))
        customer["access_token"] = token_of(refreshed)
        p.call("POST", "/oauth2/token", why="refresh_token unknown", expect=[400],
               headers={"Content-Type": FORM, "Authorization": f"Bearer {app}"},
               body=form(grant_type="refresh_token", refresh_token="unknown-refresh-token"),
               sign=http_signature(self.psd2, PSD2_CLIENT_ID))
        p.call("POST", "/oauth2/token", why="refresh_token without the application token", expect=[401],
               headers={"Content-Type": FORM},
               body=form(grant_type="refresh_token", refresh_token=customer["refresh_token"]),
               sign=http_signature(self.psd2, PSD2_CLIENT_ID))
        # authorization-server-url
        query = form(scope="payment-accounts:balances:view", redirect_uri=REDIRECT_URI, country_code="NL")
        asu = p.call("GET", f"/oauth2/authorization-server-url?{query}", why="old granting flow", expect=[200],
                     headers={"Authorization": f"Bearer {app}"}, sign=http_signature(self.psd2, PSD2_CLIENT_ID))
        location = (asu.json() or {}).get("location") if asu.ok else None
        if isinstance(location, str) and origin(location) in p.origins:
            page = p.browser_get(location + "?" + form(client_id=PSD2_CLIENT_ID, scope="payment-accounts:balances:view",
                                                       state="probe", redirect_uri=REDIRECT_URI, response_type="code"))
            if page.status_code != 200:
                p.notes.append(f"the old flow's location {location} did not open the consent screen ({page.status_code})")
        p.call("GET", "/oauth2/authorization-server-url?" + form(redirect_uri=REDIRECT_URI, country_code="NL"),
               why="scope missing (required query parameter)", expect=[400],
               headers={"Authorization": f"Bearer {app}"}, sign=http_signature(self.psd2, PSD2_CLIENT_ID),
               deliberate={"scope"})
        p.call("GET", f"/oauth2/authorization-server-url?{query}", why="no access token", expect=[401],
               sign=http_signature(self.psd2, PSD2_CLIENT_ID), deliberate={"Authorization"})
        return {"app": app, "customer": customer}

    def revoke(self, app: str) -> None:
        p = self.p
        code = self.consent_code("NL", "payment-accounts:balances:view", profile=None)
        customer = self.exchange(app, code)
        p.call("POST", "/oauth2/token/revoke", why="revoke a refresh token", expect=[200],
               headers={"Content-Type": FORM, "Authorization": f"Bearer {app}"},
               body=form(token=customer["refresh_token"], token_type_hint="refresh_token"),
               sign=http_signature(self.psd2, PSD2_CLIENT_ID))
        p.call("POST", "/oauth2/token", why="refresh with the revoked refresh token", expect=[400],
               headers={"Content-Type": FORM, "Authorization": f"Bearer {app}"},
               body=form(grant_type="refresh_token", refresh_token=customer["refresh_token"]),
               sign=http_signature(self.psd2, PSD2_CLIENT_ID))
        p.call("POST", "/oauth2/token/revoke", why="token missing (required form field)", expect=[400],
               headers={"Content-Type": FORM, "Authorization": f"Bearer {app}"},
               body=form(token_type_hint="refresh_token"), sign=http_signature(self.psd2, PSD2_CLIENT_ID),
               deliberate={"body"})
        p.call("POST", "/oauth2/token/revoke", why="signature does not verify", expect=[401],
               headers={"Content-Type": FORM, "Authorization": f"Bearer {app}"},
               body=form(token="whatever", token_type_hint="refresh_token"),
               sign=http_signature(self.psd2, PSD2_CLIENT_ID, tamper=True))

    def consent_code(self, country: str, scope: str, profile: str | None) -> str:
        """Drives the consent screen like a browser: GET the form, POST it with `profile` (else
        the preselected one) and Next, read the code from the 302's Location."""
        p = self.p
        state = "probe-" + uuid.uuid4().hex[:8]
        url = f"{p.consent}/authorize/v2/{country}?" + form(
            client_id=PSD2_CLIENT_ID, scope=scope, state=state, redirect_uri=REDIRECT_URI, response_type="code")
        page = p.browser_get(url)
        if page.status_code != 200:
            raise ProbeError(f"consent screen answered {page.status_code}: {excerpt(page)}")
        action, fields = fill_form(page.text, {"profile": profile} if profile else {}, "allow")
        answer = p.browser_post(urllib.parse.urljoin(url, action), fields)
        location = answer.headers.get("Location", "")
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        if answer.status_code != 302 or "code" not in params:
            raise ProbeError(f"consent answered {answer.status_code} Location {location!r}: no code")
        if params.get("state") != state:
            raise ProbeError(f"consent redirect carries state {params.get('state')!r}, not {state!r}")
        return params["code"]

    def consent_profiles(self, country: str, scope: str) -> list[str]:
        url = f"{self.p.consent}/authorize/v2/{country}?" + form(
            client_id=PSD2_CLIENT_ID, scope=scope, state="probe", redirect_uri=REDIRECT_URI, response_type="code")
        page = self.p.browser_get(url)
        return radio_values(page.text, "profile")

    def exchange(self, app: str, code: str) -> dict:
        out = self.p.call("POST", "/oauth2/token", why="authorization_code", expect=[200],
                          headers={"Content-Type": FORM, "Authorization": f"Bearer {app}"},
                          body=form(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI),
                          sign=http_signature(self.psd2, PSD2_CLIENT_ID))
        body = out.json() if out.ok else None
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise ProbeError("no customer token")
        return body

    def customer_token(self, app: str, scope: str, profile: str | None) -> str:
        return self.exchange(app, self.consent_code("NL", scope, profile))["access_token"]

    # ---- AIS

    def ais_get(self, path: str, token: str | None, why: str, expect: Iterable[int], *, tamper: bool = False,
                request_id: bool = True, deliberate: Iterable[str] = (), check=None,
                served_check: bool = False) -> Outcome:
        headers = {}
        names = RESOURCE_SIGNED
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if request_id:
            headers["X-Request-ID"] = str(uuid.uuid4())
        else:
            names = APP_SIGNED
        return self.p.call("GET", path, why=why, expect=expect, headers=headers,
                           sign=http_signature(self.psd2, PSD2_CLIENT_ID, names, tamper=tamper),
                           deliberate=deliberate, check=check, served_check=served_check)

    def ais(self, app: str, customer: str) -> None:
        p = self.p
        accounts = self.ais_get("/v3/accounts", customer, "accounts of the consent", [200])
        listed = (accounts.json() or {}).get("accounts") if accounts.ok else None
        if not isinstance(listed, list) or not listed:
            raise ProbeError("GET /v3/accounts listed no accounts: AIS cannot go on")
        payment = [a for a in listed if isinstance(a, dict) and a.get("iban") and a.get("resourceId")]
        cards = [a for a in listed if isinstance(a, dict) and a.get("maskedPan") and a.get("resourceId")]
        self.ais_get("/v3/accounts", customer, "X-Request-ID missing (required header)", [400],
                     request_id=False, deliberate={"X-Request-ID"})
        self.ais_get("/v3/accounts", None, "no access token", [401], deliberate={"Authorization"})
        self.ais_get("/v3/accounts", customer, "signature does not verify", [401], tamper=True)
        card_only = self.customer_token(app, "card-accounts:transactions:view", profile=None)
        self.ais_get("/v3/accounts", card_only, "consent without payment accounts (the spec: 404 when none granted)",
                     [200, 404])

        # An account of another test profile: outside this consent.
        profiles = self.consent_profiles("NL", "payment-accounts:balances:view")
        outsider = None
        if len(profiles) > 1:
            other = self.customer_token(app, "payment-accounts:balances:view payment-accounts:transactions:view",
                                        profile=profiles[-1])
            theirs = self.ais_get("/v3/accounts", other, "accounts of another profile", [200])
            ids = {a["resourceId"] for a in listed}
            for a in ((theirs.json() or {}).get("accounts") or []):
                if isinstance(a, dict) and a.get("resourceId") not in ids:
                    outsider = a.get("resourceId")
                    break
        if outsider is None:
            p.notes.append("no account outside the consent found: the AIS 403 (account not granted) was not probed")

        balances_only = self.customer_token(app, "payment-accounts:balances:view", profile=None)
        unknown = str(uuid.uuid4())
        for account in payment[:1]:
            aid = account["resourceId"]
            base = f"/v3/accounts/{aid}"
            self.ais_get(f"{base}/balances", customer, "balances, default types", [200])
            link = href(((account.get("_links") or {}).get("balances")))
            if link:
                self.follow(link, customer, "balances, the account's own link")
            self.ais_get(f"{base}/balances?" + form(balanceTypes="interimBooked,closingBooked", currency=account.get("currency", "EUR")),
                         customer, "balances, two types and currency", [200])
            self.ais_get(f"{base}/balances?balanceTypes=notAType", customer, "unknown balance type", [400])
            self.ais_get(f"{base}/balances?currency=euro", customer, "currency not 3 capitals", [400],
                         deliberate={"currency"})
            self.ais_get(f"{base}/balances", None, "no access token", [401], deliberate={"Authorization"})
            self.ais_get(f"{base}/balances", customer, "signature does not verify", [401], tamper=True)
            if outsider:
                self.ais_get(f"/v3/accounts/{outsider}/balances", customer, "account outside the consent", [403, 404])
            self.ais_get(f"/v3/accounts/{unknown}/balances", customer, "unknown account id", [404])

            self.transactions(f"{base}/transactions", customer, "transactions", "Transactions")
            self.ais_get(f"{base}/transactions?" + form(dateFrom="2024-03-01T00:00:00Z", dateTo="2024-03-10T00:00:00Z",
                                                         fieldsToOmit="debtorName,creditorName"),
                         customer, "fieldsToOmit (a documented query parameter)", [200])
            self.ais_get(f"{base}/transactions?limit=zero", customer, "limit not an integer", [400],
                         deliberate={"limit"})
            self.ais_get(f"{base}/transactions", None, "no access token", [401], deliberate={"Authorization"})
            self.ais_get(f"{base}/transactions", customer, "signature does not verify", [401], tamper=True)
            self.ais_get(f"{base}/transactions", balances_only, "consent without the transactions scope", [403, 404])
            if outsider:
                self.ais_get(f"/v3/accounts/{outsider}/transactions", customer, "account outside the consent", [403, 404])
            self.ais_get(f"/v3/accounts/{unknown}/transactions", customer, "unknown account id", [404])

        if not payment:
            p.notes.append("the consent held no payment account: balances and transactions were not probed")

        for card in cards[:1]:
            cid = card["resourceId"]
            base = f"/v1/card-accounts/{cid}/transactions"
            self.transactions(base, customer, "card transactions", "CardTransactions")
            self.ais_get(f"{base}?limit=zero", customer, "limit not an integer", [400], deliberate={"limit"})
            self.ais_get(base, None, "no access token", [401], deliberate={"Authorization"})
            self.ais_get(base, customer, "signature does not verify", [401], tamper=True)
            self.ais_get(base, balances_only, "consent without the card scope", [403, 404])
            if outsider:
                self.ais_get(f"/v1/card-accounts/{outsider}/transactions", customer, "account outside the consent", [403, 404])
            self.ais_get(f"/v1/card-accounts/{unknown}/transactions", customer, "unknown account id", [404])
        if not cards:
            p.notes.append("the consent held no card account: card transactions were not probed")

    def follow(self, link: str, token: str, why: str) -> Outcome:
        target = urllib.parse.urljoin(self.p.api + "/", link)
        if origin(target) != origin(self.p.api):
            raise ProbeError(f"link {link} leaves the API host")
        split = urllib.parse.urlsplit(target)
        return self.ais_get(split.path + (f"?{split.query}" if split.query else ""), token, why, [200])

    def transactions(self, path: str, token: str, what: str, container_schema: str) -> None:
        """One range in full, then the same range page by page along the spec's next link
        (`<container>._links.next.href`): every entry must come exactly once."""
        p = self.p
        container = "transactions" if container_schema == "Transactions" else "cardTransactions"
        lists = ("booked", "pending", "info") if container == "transactions" else ("booked", "pending")
        iso = {"dateFrom": "2024-03-01T00:00:00Z", "dateTo": "2024-03-10T00:00:00Z"}
        self.ais_get(f"{path}?" + form(**iso, limit="1000"), token, f"{what}, date-time range", [200])
        # The parameter descriptions also allow a date without a time; the sandbox's own form.
        dates = {"dateFrom": "2024-03-01", "dateTo": "2024-03-10"}
        full = self.ais_get(f"{path}?" + form(**dates, limit="1000"), token,
                            f"{what}, date-only range (the description allows it)", [200],
                            deliberate={"dateFrom", "dateTo"})
        everything = entry_ids(full.json(), container, lists)
        if not full.ok or not everything:
            p.notes.append(f"{what}: no entries in 2024-03-01..10, paging not probed")
            return
        limit = max(1, min(7, len(everything) // 3 or 1))
        url: str | None = f"{path}?" + form(**dates, limit=str(limit))
        seen: list[str] = []
        pages = 0
        def next_link(response: requests.Response, op: Operation) -> list[Violation]:
            """While entries remain, the page must link the next one where the schema puts it."""
            try:
                body = response.json()
            except ValueError:
                return []
            delivered = len(seen) + len(entry_ids(body, container, lists))
            inner = href((((body.get(container) or {}).get("_links") or {}).get("next")))
            if inner is not None or delivered >= len(everything):
                return []
            outer = href(((body.get("_links") or {}).get("next")))
            return [Violation(op.label, op.spec.name, "200", f"/{container}/_links/next/href",
                              f"the next-page link ({container_schema}._links: LinksNext) while entries remain",
                              "absent; the link is at /_links/next, where the schema has no such member" if outer
                              else "absent, no next link at all", "behaviour")]

        while url and pages < 200:
            pages += 1
            page = self.ais_get(url, token, f"{what}, page {pages} of at most {limit}", [200],
                                deliberate={"dateFrom", "dateTo"} if pages == 1 else set(), check=next_link)
            body = page.json()
            if not page.ok or not isinstance(body, dict):
                return
            seen.extend(entry_ids(body, container, lists))
            inner = href((((body.get(container) or {}).get("_links") or {}).get("next")))
            outer = href(((body.get("_links") or {}).get("next")))
            # Follow the spec's link; where only the misplaced one exists, follow that so that
            # paging itself is still checked.
            nxt = inner or outer
            url = None
            if nxt:
                target = urllib.parse.urljoin(p.api + "/", nxt)
                if origin(target) != origin(p.api):
                    raise ProbeError(f"next link {nxt} leaves the API host")
                split = urllib.parse.urlsplit(target)
                url = split.path + (f"?{split.query}" if split.query else "")
        if sorted(seen) != sorted(everything):
            missing = len(set(everything) - set(seen))
            doubled = len(seen) - len(set(seen))
            p.report_line(f"FAIL paging {what}: {len(seen)} entries over {pages} pages")
            p.report_line(p.violation(Violation(
                full.op.label if full.op else f"GET {path}", full.op.spec.name if full.op else "-", "200",
                f"/{container}", f"the {len(everything)} entries of the range, each once, over the pages",
                f"{len(seen)} delivered over {pages} pages ({missing} missing, {doubled} repeated)", "behaviour")))
        else:
            p.report_line(f"INFO {what}: {len(seen)} entries over {pages} pages of {limit}, each exactly once")

    # ---- PIS

    def pis_call(self, method: str, path: str, token: str | None, why: str, expect: Iterable[int], *,
                 body: Any = None, tamper: bool = False, request_id: bool = True,
                 deliberate: Iterable[str] = (), check=None) -> Outcome:
        headers = {}
        names = RESOURCE_SIGNED if request_id else APP_SIGNED
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if request_id:
            headers["X-Request-ID"] = str(uuid.uuid4())
        data = None
        if method == "POST":
            headers["TPP-Redirect-URI"] = REDIRECT_URI
            headers["PSU-IP-Address"] = PSU_IP
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        return self.p.call(method, path, why=why, expect=expect, headers=headers, body=data,
                           sign=http_signature(self.psd2, PSD2_CLIENT_ID, names, tamper=tamper),
                           deliberate=deliberate, check=check)

    def pis(self, app: str) -> None:
        p = self.p
        product = "sepa-credit-transfers"
        order = {
            "instructedAmount": {"amount": "12.34", "currency": "EUR"},
            "creditorAccount": {"iban": "AT861921125678901234"},
            "creditorName": "Laura Musterfrau",
            "remittanceInformationUnstructured": "contract probe",
        }
        start = (dt.date.today() + dt.timedelta(days=30))
        standing = dict(order, startDate=start.isoformat(), endDate=(start + dt.timedelta(days=365)).isoformat(),
                        frequency="MNTH", dayOfExecution=f"{start.day:02d}")
        limited = self.app_token_signed("payment-accounts:balances:view",
                                        why="application token without payment-accounts:orders:create")
        # After approval a payment is ACTC, and the sandbox's clock moves it on to ACSP and ACSC;
        # a standing order is ACTV.
        for service, body, approved in (("payments", order, ("ACTC", "ACSP", "ACSC")),
                                        ("periodic-payments", standing, ("ACTV",))):
            base = f"/v1/{service}/{product}"
            created = self.pis_call("POST", base, app, f"initiate ({service})", [201], body=body)
            pid = (created.json() or {}).get("paymentId") if created.ok else None
            if not isinstance(pid, str):
                p.notes.append(f"{service}: no payment was created, its GET/status/DELETE were not probed")
                continue
            self.pis_call("GET", f"{base}/{pid}", app, "the payment", [200])
            self.pis_call("GET", f"{base}/{pid}/status", app, "status RCVD", [200])
            links = (created.json() or {}).get("_links") or {}
            sca = href(links.get("scaRedirect"))
            if sca:
                self.approve(sca)
                self.pis_call("GET", f"{base}/{pid}/status", app, f"status after SCA approval", [200],
                              check=field_is("/transactionStatus", "transactionStatus", approved,
                                             "once the customer approved"))
            else:
                p.notes.append(f"{service}: no scaRedirect link, SCA not driven")
            # The errors of each operation.
            bad_amount = dict(body, instructedAmount={"amount": "12,34", "currency": "EUR"})
            self.pis_call("POST", base, app, "amount not a decimal string", [400], body=bad_amount,
                          deliberate={"body"})
            if service == "periodic-payments":
                self.pis_call("POST", base, app, "frequency not one of the codes", [400],
                              body=dict(body, frequency="FORTNIGHTLY"), deliberate={"body"})
                self.pis_call("POST", base, app, "startDate in the past", [400],
                              body=dict(body, startDate="2020-01-01", endDate="2020-12-31"))
            self.pis_call("POST", base, None, "no access token", [401], body=body, deliberate={"Authorization"})
            self.pis_call("POST", base, app, "signature does not verify", [401], body=body, tamper=True)
            self.pis_call("POST", base, limited, "token without payment-accounts:orders:create", [403], body=body)
            self.pis_call("POST", f"/v1/{service}/instant-credit-transfers", app, "unknown payment product", [404],
                          body=body, deliberate={"payment-product"})
            unknown = str(uuid.uuid4())
            for suffix, what in (("", "the payment"), ("/status", "the status")):
                self.pis_call("GET", f"{base}/{pid}{suffix}", app, "X-Request-ID missing (required header)", [400, 401],
                              request_id=False, deliberate={"X-Request-ID"})
                self.pis_call("GET", f"{base}/{pid}{suffix}", None, "no access token", [401],
                              deliberate={"Authorization"})
                self.pis_call("GET", f"{base}/{pid}{suffix}", app, "signature does not verify", [401], tamper=True)
                self.pis_call("GET", f"{base}/{pid}{suffix}", limited, "token without payment-accounts:orders:create", [403])
                self.pis_call("GET", f"{base}/{unknown}{suffix}", app, f"{what} of an unknown paymentId", [404])
            # DELETE: a fresh order while it is still RCVD, then again once cancelled.
            fresh = self.pis_call("POST", base, app, f"initiate ({service}) to cancel", [201], body=body)
            fid = (fresh.json() or {}).get("paymentId") if fresh.ok else None
            if isinstance(fid, str):
                self.pis_call("DELETE", f"{base}/{fid}", None, "no access token", [401], deliberate={"Authorization"})
                self.pis_call("DELETE", f"{base}/{fid}", app, "signature does not verify", [401], tamper=True)
                self.pis_call("DELETE", f"{base}/{fid}", limited, "token without payment-accounts:orders:create", [403])
                self.pis_call("DELETE", f"{base}/{fid}", app, "X-Request-ID missing (required header)", [400, 401],
                              request_id=False, deliberate={"X-Request-ID"})
                self.pis_call("DELETE", f"{base}/{fid}", app, "cancel while RCVD", [204])
                self.pis_call("GET", f"{base}/{fid}/status", app, "status after cancelling", [200],
                              check=field_is("/transactionStatus", "transactionStatus", "CANC", "once cancelled"))
                self.pis_call("DELETE", f"{base}/{fid}", app, "cancel again: no longer cancellable", [400])
            self.pis_call("DELETE", f"{base}/{unknown}", app, "unknown paymentId", [404])

    def approve(self, sca_url: str) -> None:
        p = self.p
        target = urllib.parse.urljoin(p.consent + "/", sca_url)
        page = p.browser_get(target)
        if page.status_code != 200:
            raise ProbeError(f"SCA page answered {page.status_code}")
        action, fields = fill_form(page.text, {}, "approve")
        answer = p.browser_post(urllib.parse.urljoin(target, action), fields)
        location = answer.headers.get("Location", "")
        if answer.status_code != 302 or not location.startswith(REDIRECT_URI):
            raise ProbeError(f"SCA approval answered {answer.status_code} Location {location!r}")

    # ---- AIS v2 transactions (deprecated in the spec)

    def ais_v2(self, app: str, customer: str) -> None:
        """GET /v2/accounts/{account-id}/transactions: a range in full and paged along its next
        link, then its 400, 401, 403/404 and 404 refusals."""
        p = self.p
        accounts = self.ais_get("/v3/accounts", customer, "accounts, for the v2 transactions", [200])
        listed = (accounts.json() or {}).get("accounts") if accounts.ok else None
        ids = [a["resourceId"] for a in listed or [] if isinstance(a, dict) and a.get("iban") and a.get("resourceId")]
        if not ids:
            raise ProbeError("no payment account to read v2 transactions of")
        base = f"/v2/accounts/{ids[0]}/transactions"
        iso = form(dateFrom="2024-03-01T00:00:00Z", dateTo="2024-03-10T23:59:59Z")
        full = self.ais_get(f"{base}?{iso}&limit=1000", customer, "v2 transactions, date-time range", [200])
        everything = entry_ids(full.json(), "transactions", ("booked", "pending", "info"))
        url: str | None = f"{base}?{iso}&limit=5"
        seen: list[str] = []
        pages = 0
        while url and pages < 100:
            pages += 1
            page = self.ais_get(url, customer, f"v2 transactions, page {pages} of at most 5", [200])
            body = page.json() if page.ok else None
            if not isinstance(body, dict):
                break
            seen.extend(entry_ids(body, "transactions", ("booked", "pending", "info")))
            nxt = href((((body.get("transactions") or {}).get("_links") or {}).get("next")))
            url = None
            if nxt:
                if not nxt.startswith("/v2/"):
                    p.report_line(p.violation(Violation(
                        page.op.label if page.op else base, "Account-Information-API.json", "200",
                        "/transactions/_links/next/href", "a next link on /v2", nxt, "behaviour")))
                url = nxt
        if sorted(seen) != sorted(everything):
            p.report_line(p.violation(Violation(
                f"GET {base}", "Account-Information-API.json", "200", "/transactions",
                f"the {len(everything)} entries of the range, each once", f"{len(seen)} over {pages} pages",
                "behaviour")))
        else:
            p.report_line(f"INFO v2 transactions: {len(seen)} entries over {pages} pages of 5, each exactly once")
        self.ais_get(f"{base}?limit=zero", customer, "limit not an integer", [400], deliberate={"limit"})
        self.ais_get(f"{base}?fieldsToOmit=debtorName", customer, "fieldsToOmit: not a parameter of v2", [400])
        self.ais_get(base, customer, "X-Request-ID missing (required header)", [400],
                     request_id=False, deliberate={"X-Request-ID"})
        self.ais_get(base, None, "no access token", [401], deliberate={"Authorization"})
        self.ais_get(base, customer, "signature does not verify", [401], tamper=True)
        balances_only = self.customer_token(app, "payment-accounts:balances:view", profile=None)
        self.ais_get(base, balances_only, "consent without the transactions scope", [403, 404])
        self.ais_get(f"/v2/accounts/{uuid.uuid4()}/transactions", customer, "unknown account id", [404])

    # ---- PIS in XML and bulk

    def pis_raw(self, method: str, path: str, token: str | None, why: str, expect: Iterable[int], *,
                body: bytes | None = None, content_type: str | None = None, accept: str = "application/json",
                tamper: bool = False, request_id: bool = True, deliberate: Iterable[str] = (),
                check=None) -> Outcome:
        """A PIS call with a body of any content type (XML, a form, JSON bytes)."""
        headers = {"Accept": accept}
        names = RESOURCE_SIGNED if request_id else APP_SIGNED
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if request_id:
            headers["X-Request-ID"] = str(uuid.uuid4())
        if method == "POST":
            headers["TPP-Redirect-URI"] = REDIRECT_URI
            headers["PSU-IP-Address"] = PSU_IP
        if content_type is not None:
            headers["Content-Type"] = content_type
        return self.p.call(method, path, why=why, expect=expect, headers=headers, body=body,
                           sign=http_signature(self.psd2, PSD2_CLIENT_ID, names, tamper=tamper),
                           deliberate=deliberate, check=check)

    def reads_refused(self, path: str, app: str, limited: str, accept: str) -> None:
        """The refusals of a read: 400 (X-Request-ID), 401 (no token, bad signature), 403 (scope)."""
        self.pis_raw("GET", path, app, "X-Request-ID missing (required header)", [400, 401], accept=accept,
                     request_id=False, deliberate={"X-Request-ID"})
        self.pis_raw("GET", path, None, "no access token", [401], accept=accept, deliberate={"Authorization"})
        self.pis_raw("GET", path, app, "signature does not verify", [401], accept=accept, tamper=True)
        self.pis_raw("GET", path, limited, "token without payment-accounts:orders:create", [403], accept=accept)

    def initiations_refused(self, path: str, app: str, limited: str, body: bytes, content_type: str,
                            bad: bytes, bad_why: str, bad_type: str | None = None) -> None:
        """The refusals of an initiation: 400 (a body fault), 401, 403, 404 (product)."""
        self.pis_raw("POST", path, app, bad_why, [400], body=bad, content_type=bad_type or content_type,
                     deliberate={"body"})
        self.pis_raw("POST", path, None, "no access token", [401], body=body, content_type=content_type,
                     deliberate={"Authorization"})
        self.pis_raw("POST", path, app, "signature does not verify", [401], body=body, content_type=content_type,
                     tamper=True)
        self.pis_raw("POST", path, limited, "token without payment-accounts:orders:create", [403], body=body,
                     content_type=content_type)
        unknown_product = re.sub(r"(sepa|cross-border|domestic)-credit-transfers", "instant-credit-transfers", path)
        self.pis_raw("POST", unknown_product, app, "unknown payment product", [404], body=body,
                     content_type=content_type, deliberate={"payment-product"})

    def pis_xml(self, app: str) -> None:
        """pain.001 payments: initiation (XML in, JSON out), the document read back, the
        pain.002.001.03 and .11 reports through SCA approval and a cancellation, and each
        operation's 400/401/403/404 refusals (in XML where the operation produces XML)."""
        p = self.p
        base = "/v1/payments/pain.001-sepa-credit-transfers"
        base_v2 = "/v2/payments/pain.001-sepa-credit-transfers"
        limited = self.app_token_signed("payment-accounts:balances:view",
                                        why="application token without payment-accounts:orders:create")
        document = PAIN_001.replace("{today}", dt.date.today().isoformat()).encode()
        created = self.pis_raw("POST", base, app, "initiate a pain.001 payment", [201], body=document,
                               content_type="application/xml")
        pid = (created.json() or {}).get("paymentId") if created.ok else None
        if not isinstance(pid, str):
            raise ProbeError("no pain.001 payment was created")

        def same_document(response: requests.Response, op: Operation) -> list[Violation]:
            if response.content == document:
                return []
            return [Violation(op.label, op.spec.name, "200", "(body)", "the pain.001 as initiated",
                              excerpt(response, 80), "behaviour")]

        def report(version: str, statuses: tuple) -> Callable:
            def check(response: requests.Response, op: Operation) -> list[Violation]:
                try:
                    root = ElementTree.fromstring(response.content)
                except ElementTree.ParseError:
                    return []
                found = [e.text for e in root.iter() if local_name(e.tag) == "PmtInfSts"]
                ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
                if ns.endswith(version) and found and found[0] in statuses:
                    return []
                return [Violation(op.label, op.spec.name, "200", "(PmtInfSts)",
                                  f"a {version} report with {' or '.join(statuses)}",
                                  f"{ns or 'no namespace'}: {found}", "behaviour")]
            return check

        self.pis_raw("GET", f"{base}/{pid}", app, "the pain.001 payment", [200], accept="application/xml",
                     check=same_document)
        self.pis_raw("GET", f"{base}/{pid}/status", app, "pain.002.001.03 report, RCVD", [200],
                     accept="application/xml", check=report("pain.002.001.03", ("RCVD",)))
        self.pis_raw("GET", f"{base_v2}/{pid}/status", app, "pain.002.001.11 report, RCVD", [200],
                     accept="application/xml", check=report("pain.002.001.11", ("RCVD",)))
        sca = href(((created.json() or {}).get("_links") or {}).get("scaRedirect"))
        if sca:
            self.approve(sca)
            self.pis_raw("GET", f"{base}/{pid}/status", app, "pain.002.001.03 report after SCA approval", [200],
                         accept="application/xml", check=report("pain.002.001.03", ("ACTC", "ACSP", "ACSC")))
        fresh = self.pis_raw("POST", base, app, "initiate a pain.001 payment to cancel", [201], body=document,
                             content_type="application/xml")
        fid = (fresh.json() or {}).get("paymentId") if fresh.ok else None
        if isinstance(fid, str):
            self.pis_call("DELETE", f"/v1/payments/sepa-credit-transfers/{fid}", app,
                          "cancel it (the JSON DELETE; the spec has none on the pain.001 path)", [204])
            self.pis_raw("GET", f"{base}/{fid}/status", app, "pain.002.001.03 once cancelled: RJCT (no CANC in .03)",
                         [200], accept="application/xml", check=report("pain.002.001.03", ("RJCT",)))
            self.pis_raw("GET", f"{base_v2}/{fid}/status", app, "pain.002.001.11 once cancelled: CANC", [200],
                         accept="application/xml", check=report("pain.002.001.11", ("CANC",)))
        missing = re.sub(rb"<CdtrAcct>.*?</CdtrAcct>", b"", document, flags=re.S)
        self.initiations_refused(base, app, limited, document, "application/xml", missing,
                                 "a pain.001 without CdtrAcct")
        self.pis_raw("POST", base, app, "not well-formed XML", [400], body=document[:-20],
                     content_type="application/xml", deliberate={"body"})
        unknown = str(uuid.uuid4())
        for path in (f"{base}/{pid}", f"{base}/{pid}/status", f"{base_v2}/{pid}/status"):
            self.reads_refused(path, app, limited, "application/xml")
            self.pis_raw("GET", path.replace(pid, unknown), app, "unknown paymentId", [404], accept="application/xml")

    def pis_xml_periodic(self, app: str) -> None:
        """pain.001 standing orders: initiation from the spec's multipart form, the form read
        back, the status where its link points, and the 400/401/403/404 refusals."""
        p = self.p
        base = "/v1/periodic-payments/pain.001-sepa-credit-transfers"
        limited = self.app_token_signed("payment-accounts:balances:view",
                                        why="application token without payment-accounts:orders:create")
        start = dt.date.today() + dt.timedelta(days=30)
        document = PAIN_001.replace("{today}", start.isoformat()).encode()
        boundary = "probe" + uuid.uuid4().hex
        content_type = f"multipart/form-data; boundary={boundary}"
        schedule = {"startDate": start.isoformat(), "endDate": (start + dt.timedelta(days=365)).isoformat(),
                    "frequency": "MNTH", "dayOfExecution": "01"}
        body = multipart(boundary, schedule, ("xml_sct", "sct.xml", document))
        created = self.pis_raw("POST", base, app, "initiate a pain.001 standing order (multipart form)", [201],
                               body=body, content_type=content_type)
        pid = (created.json() or {}).get("paymentId") if created.ok else None
        if not isinstance(pid, str):
            raise ProbeError("no pain.001 standing order was created")

        def the_form(response: requests.Response, op: Operation) -> list[Violation]:
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {response.headers.get('Content-Type', '')}\r\n\r\n".encode() + response.content)
            parts = {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
                     for part in message.iter_parts()} if message.is_multipart() else {}
            wanted = {"xml_sct": document, **{k: v.encode() for k, v in schedule.items()}}
            if parts == wanted:
                return []
            return [Violation(op.label, op.spec.name, "200", "(form)", f"the parts {sorted(wanted)} as initiated",
                              str(sorted(parts)), "behaviour")]

        self.pis_raw("GET", f"{base}/{pid}", app, "the standing order, as its form", [200],
                     accept="multipart/form-data", check=the_form)
        status = href(((created.json() or {}).get("_links") or {}).get("status"))
        if status:
            self.pis_call("GET", status, app, "its status, where _links.status points", [200],
                          check=field_is("/transactionStatus", "transactionStatus", "RCVD", "before SCA"))
        else:
            p.notes.append("pain.001 standing order: no status link")
        no_file = multipart(boundary, schedule, ("other", "x.txt", b"x"))
        self.initiations_refused(base, app, limited, body, content_type, no_file, "the form without xml_sct")
        bad_frequency = multipart(boundary, dict(schedule, frequency="FORTNIGHTLY"), ("xml_sct", "sct.xml", document))
        self.pis_raw("POST", base, app, "frequency not one of the codes", [400], body=bad_frequency,
                     content_type=content_type, deliberate={"body"})
        self.reads_refused(f"{base}/{pid}", app, limited, "multipart/form-data")
        self.pis_raw("GET", f"{base}/{uuid.uuid4()}", app, "unknown paymentId", [404], accept="multipart/form-data")

    def pis_bulk(self, app: str) -> None:
        """Bulk payments v1 (initiate, read, status, SCA, DELETE) and v2 (initiate, read), each
        with its 400/401/403/404 refusals."""
        p = self.p
        limited = self.app_token_signed("payment-accounts:balances:view",
                                        why="application token without payment-accounts:orders:create")
        payment = {"instructedAmount": {"amount": "1.00", "currency": "EUR"},
                   "creditorAccount": {"iban": "AT861921125678901234"}, "creditorName": "Laura Musterfrau"}
        v1_body = {"debtorAccount": {"iban": "NL69INGB0123456789"}, "batchBookingPreferred": True,
                   "payments": [payment, dict(payment, endToEndIdentification="probe-2",
                                              instructedAmount={"amount": "2.50", "currency": "EUR"})]}
        v2_payment = dict(payment, instructedAmount={"amount": "3", "currency": "USD"},
                          creditorLEI="3TK20IVIUJ8J3ZU0QE75",
                          creditorAddress={"townName": "Wien", "country": "AT"},
                          remittanceInformationStructured={"reference": "RF18539007547034",
                                                           "type": {"codeOrProprietary": {"code": "SCOR"}}})
        v2_body = {"uetr": str(uuid.uuid4()), "payments": [v2_payment]}
        unknown = str(uuid.uuid4())
        for version, product, body in (("v1", "sepa-credit-transfers", v1_body),
                                       ("v2", "cross-border-credit-transfers", v2_body)):
            base = f"/{version}/bulk-payments/{product}"
            data = json.dumps(body).encode()
            created = self.pis_raw("POST", base, app, f"initiate a bulk ({version})", [201], body=data,
                                   content_type="application/json")
            pid = (created.json() or {}).get("paymentId") if created.ok else None
            self.initiations_refused(base, app, limited, data, "application/json",
                                     json.dumps(dict(body, payments=[])).encode(), "an empty bulk")
            self.pis_raw("GET", f"{base}/{unknown}", app, "unknown paymentId", [404])
            if not isinstance(pid, str):
                p.notes.append(f"bulk {version}: none was created, its reads were not probed")
                continue

            def same_body(response: requests.Response, op: Operation, sent: dict = body) -> list[Violation]:
                try:
                    got = response.json()
                except ValueError:
                    return []
                if got == sent:
                    return []
                return [Violation(op.label, op.spec.name, "200", "", "the bulk as initiated", short(got),
                                  "behaviour")]

            self.pis_raw("GET", f"{base}/{pid}", app, f"the bulk ({version})", [200], check=same_body)
            self.reads_refused(f"{base}/{pid}", app, limited, "application/json")
            status = f"/v1/bulk-payments/{product}/{pid}/status"
            self.pis_call("GET", status, app, "its status (v1: the spec's only bulk status)", [200],
                          check=field_is("/transactionStatus", "transactionStatus", "RCVD", "before SCA"))
            if version != "v1":
                continue
            self.reads_refused(status, app, limited, "application/json")
            self.pis_call("GET", f"/v1/bulk-payments/{product}/{unknown}/status", app, "unknown paymentId", [404])
            sca = href(((created.json() or {}).get("_links") or {}).get("scaRedirect"))
            if sca:
                self.approve(sca)
                self.pis_call("GET", status, app, "status after SCA approval", [200],
                              check=field_is("/transactionStatus", "transactionStatus", ("ACTC", "ACSP", "ACSC"),
                                             "once the customer approved"))
            fresh = self.pis_raw("POST", base, app, "initiate a bulk to cancel", [201], body=data,
                                 content_type="application/json")
            fid = (fresh.json() or {}).get("paymentId") if fresh.ok else None
            if isinstance(fid, str):
                path = f"{base}/{fid}"
                self.pis_call("DELETE", path, None, "no access token", [401], deliberate={"Authorization"})
                self.pis_call("DELETE", path, app, "signature does not verify", [401], tamper=True)
                self.pis_call("DELETE", path, limited, "token without payment-accounts:orders:create", [403])
                self.pis_call("DELETE", path, app, "X-Request-ID missing (required header)", [400, 401],
                              request_id=False, deliberate={"X-Request-ID"})
                self.pis_call("DELETE", path, app, "cancel while RCVD", [204])
                self.pis_call("GET", f"{path}/status", app, "status after cancelling", [200],
                              check=field_is("/transactionStatus", "transactionStatus", "CANC", "once cancelled"))
                self.pis_call("DELETE", path, app, "cancel again: no longer cancellable", [400])
            self.pis_call("DELETE", f"{base}/{unknown}", app, "unknown paymentId", [404])

    # ---- Showcase

    def showcase(self) -> None:
        p = self.p
        premium = p.premium
        bank = p.premium_bank
        signed = p.call("POST", "/oauth2/token", why="premium application token, HTTP signature keyId=client_id",
                        expect=[200], bank=bank, headers={"Content-Type": FORM},
                        body=form(grant_type="client_credentials"),
                        sign=http_signature(premium, PREMIUM_CLIENT_ID, in_authorization=True))
        mtls = p.call("POST", "/oauth2/token", why="premium application token, mTLS only", expect=[200], bank=bank,
                      headers={"Content-Type": FORM},
                      body=form(grant_type="client_credentials", client_id=PREMIUM_CLIENT_ID))
        http_token, mtls_token = token_of(signed), token_of(mtls)

        def greet(path: str, token: str | None, why: str, expect: Iterable[int], sign=None, headers=None,
                  deliberate: Iterable[str] = ()) -> Outcome:
            h = dict(headers or {})
            if token is not None:
                h["Authorization"] = f"Bearer {token}"
            return p.call("GET", path, why=why, expect=expect, bank=bank, headers=h, sign=sign,
                          deliberate=deliberate)

        hs = lambda **kw: http_signature(premium, PREMIUM_CLIENT_ID, **kw)  # noqa: E731
        greet("/greetings/single", http_token, "greeting, HTTP signature", [200], sign=hs())
        greet("/greetings/single", http_token, "greeting, legacy x-ing-reqid signature", [200],
              headers={"X-ING-ReqID": str(uuid.uuid4())},
              sign=hs(names=("(request-target)", "date", "digest", "x-ing-reqid")))
        greet("/greetings/single", http_token, "Digest missing (required header)", [400, 401],
              sign=lambda prep: (hs()(prep), prep.headers.pop("Digest")), deliberate={"Digest"})
        greet("/greetings/single", None, "no access token", [401], sign=hs(), deliberate={"Authorization"})
        greet("/greetings/single", http_token, "signature does not verify", [401], sign=hs(tamper=True))

        greet("/mtls-only/greetings", mtls_token, "greeting, mTLS-only token", [200])
        greet("/mtls-only/greetings", None, "no access token", [401], deliberate={"Authorization"})
        greet("/mtls-only/greetings", http_token, "token of the other signing mode", [401])

        jws_headers = {"Content-Type": "application/json"}
        greet("/signed/greetings", mtls_token, "greeting, detached JWS", [200], headers=jws_headers,
              sign=detached_jws(premium))
        greet("/signed/greetings", mtls_token, "Content-Type missing (required header)", [400, 401],
              sign=lambda prep: (prep.headers.__setitem__("Content-Type", "application/json"),
                                 detached_jws(premium)(prep), prep.headers.pop("Content-Type")),
              deliberate={"Content-Type"})
        greet("/signed/greetings", None, "no access token", [401], headers=jws_headers, sign=detached_jws(premium),
              deliberate={"Authorization"})
        greet("/signed/greetings", mtls_token, "JWS does not verify", [401], headers=jws_headers,
              sign=detached_jws(premium, tamper=True))
        p.notes.append("Showcase: no 404 probed (the operations address no resource); the 400s accept 401 too "
                       "(a missing Digest/Content-Type also breaks the signature)")


def field_is(pointer: str, name: str, wanted: str | tuple, when: str):
    allowed = (wanted,) if isinstance(wanted, str) else tuple(wanted)

    def check(response: requests.Response, op: Operation) -> list[Violation]:
        try:
            got = response.json().get(name)
        except (ValueError, AttributeError):
            return []
        if got in allowed:
            return []
        return [Violation(op.label, op.spec.name, str(response.status_code), pointer,
                          f"{' or '.join(allowed)} {when}", short(got), "behaviour")]

    return check


def token_of(out: Outcome) -> str:
    body = out.json()
    token = body.get("access_token") if isinstance(body, dict) and out.ok else None
    if not isinstance(token, str):
        raise ProbeError("no access token in the answer")
    return token


def entry_ids(body: Any, container: str, lists: tuple) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get(container), dict):
        return []
    ids = []
    for name in lists:
        for entry in body[container].get(name) or []:
            if isinstance(entry, dict):
                ids.append(f"{name}:{entry.get('transactionId') or entry.get('cardTransactionId') or json.dumps(entry, sort_keys=True)}")
    return ids


def multipart(boundary: str, fields: dict[str, str], upload: tuple[str, str, bytes]) -> bytes:
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    name, filename, content = upload
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: application/xml\r\n\r\n".encode() + content + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


PAIN_001 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">
 <CstmrCdtTrfInitn>
  <GrpHdr><MsgId>probe-1</MsgId><CreDtTm>{today}T09:00:00</CreDtTm><NbOfTxs>1</NbOfTxs><CtrlSum>1.00</CtrlSum>
   <InitgPty><Nm>Probe</Nm></InitgPty></GrpHdr>
  <PmtInf><PmtInfId>probe-1</PmtInfId><PmtMtd>TRF</PmtMtd><NbOfTxs>1</NbOfTxs><CtrlSum>1.00</CtrlSum>
   <PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf><ReqdExctnDt>{today}</ReqdExctnDt>
   <Dbtr><Nm>Probe</Nm></Dbtr><DbtrAcct><Id><IBAN>NL69INGB0123456789</IBAN></Id></DbtrAcct>
   <DbtrAgt><FinInstnId><BIC>INGBNL2A</BIC></FinInstnId></DbtrAgt>
   <CdtTrfTxInf><PmtId><EndToEndId>probe-1</EndToEndId></PmtId><Amt><InstdAmt Ccy="EUR">1.00</InstdAmt></Amt>
    <Cdtr><Nm>Laura Musterfrau</Nm></Cdtr><CdtrAcct><Id><IBAN>AT861921125678901234</IBAN></Id></CdtrAcct>
   </CdtTrfTxInf>
  </PmtInf>
 </CstmrCdtTrfInitn>
</Document>
"""


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", required=True, help="the sandbox's API base URL (stdout's first line)")
    parser.add_argument("--consent", required=True, help="the consent host's base URL")
    parser.add_argument("--pki", required=True, type=Path, help="the folder `obconform sandbox --pki` wrote")
    parser.add_argument("--specs", required=True, type=Path, help="the folder of ING's published specs")
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    try:
        for name, url in (("--api", args.api), ("--consent", args.consent)):
            if not url.startswith("https://") or not loopback(url):
                raise SetupError(f"{name} {url}: the probe only talks to an https sandbox on this machine")
        specs = Specs(args.specs)
        consent = urllib.parse.urlsplit(args.consent)
        probe = Probe(api=args.api.rstrip("/"), consent=f"{consent.scheme}://{consent.netloc}", pki=args.pki,
                      specs=specs)
        flows = Flows(probe)
        sections: list[tuple[str, Callable[[], Any]]] = []
        state: dict = {}

        def oauth() -> None:
            state.update(flows.oauth())

        sections.append(("OAuth 2.0", oauth))
        sections.append(("AIS", lambda: flows.ais(state["app"], state["customer"]["access_token"])))
        sections.append(("PIS", lambda: flows.pis(state["app"])))
        sections.append(("AIS v2 transactions (deprecated)",
                         lambda: flows.ais_v2(state["app"], state["customer"]["access_token"])))
        sections.append(("PIS pain.001 payments", lambda: flows.pis_xml(state["app"])))
        sections.append(("PIS pain.001 standing orders", lambda: flows.pis_xml_periodic(state["app"])))
        sections.append(("PIS bulk payments", lambda: flows.pis_bulk(state["app"])))
        sections.append(("OAuth 2.0 revoke", lambda: flows.revoke(state["app"])))
        sections.append(("Showcase", flows.showcase))
        sections.append(("Payment Request", lambda: __import__("ing_payment_request_probe").run(probe, args.specs)))
        for title, run in sections:
            print(f"== {title}", flush=True)
            try:
                run()
            except SetupError:
                raise
            except KeyError as e:
                probe.report_line(probe.violation(Violation(title, "-", "-", "", "an earlier section to succeed",
                                                            f"skipped: {e} unavailable", "probe")))
            except ProbeError as e:
                probe.report_line(probe.violation(Violation(title, "-", "-", "", "the flow to go on",
                                                            f"stopped: {e}", "probe")))
            except Exception as e:  # a probe bug: show it, count it
                traceback.print_exc()
                probe.report_line(probe.violation(Violation(title, "-", "-", "", "no exception",
                                                            f"{type(e).__name__}: {e}", "probe")))
    except SetupError as e:
        print(f"probe: setup error: {e}", file=sys.stderr)
        return 2

    ops_total = len(specs.operations)
    print()
    if probe.violations:
        print("== violations by operation")
        by_op: dict[str, list] = {}
        for number, v, count in sorted(probe.violations.values(), key=lambda t: t[0]):
            by_op.setdefault(f"{v.op} ({v.spec})", []).append((number, v, count))
        for op, items in by_op.items():
            print(op)
            for number, v, count in items:
                times = f" (x{count})" if count > 1 else ""
                print(f"  V{number}{times} [{v.status}] {v.pointer or '(root)'}: expected {v.expected}; actual {v.actual}")
    if probe.not_served:
        print("== spec operations the sandbox does not serve (not counted as violations)")
        for line in probe.not_served:
            print(f"  {line}")
    if probe.notes:
        print("== notes")
        for line in probe.notes:
            print(f"  {line}")
    print(f"(the four specs have {ops_total} operations)")
    print(f"probe: {probe.calls} calls, {len(probe.operations)} operations, {len(probe.violations)} violations")
    return 0 if not probe.violations else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
