#!/usr/bin/env python3
"""The Open Banking client of seed 004 ("ING API with python"), as the blog builds it.

What differs from the blog, and only this:
- `cryptography` instead of pycryptodome (same algorithms: SHA-256 digest, PKCS#1 v1.5
  RSA-SHA256 signature), and `http.client`/`ssl` instead of `requests`;
- the host, the certificate folder and the CA come from the environment (`OB_HOST`,
  `OB_CERTS`, `OB_CA`); `OB_SIGN_KEY` may name another signing key (a negative test);
- the server certificate is checked against `OB_CA` (the sandbox's test CA);
- it prints the greeting's body on stdout, or the refused response on stderr (never the token).

Flow: POST /oauth2/token (`grant_type=client_credentials`, `Authorization: Signature
keyId="<client_id>"` over `(request-target) date digest x-ing-reqid`), then GET
/greetings/single with `Authorization: Bearer <token>` and a `Signature` header over the same
header set.
"""

import http.client
import json
import os
import ssl
import sys
import uuid
from base64 import b64encode
from datetime import datetime, timezone
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

host = os.environ["OB_HOST"]
cert_dir = os.environ["OB_CERTS"]
ca_file = os.environ["OB_CA"]
client_id = os.environ.get("OB_CLIENT_ID", "e77d776b-90af-4684-bebc-521e5b2614dd")
sign_key = os.environ.get("OB_SIGN_KEY", os.path.join(cert_dir, "example_client_signing.key"))
tls_cert = os.path.join(cert_dir, "example_client_tls.cer")
tls_key = os.path.join(cert_dir, "example_client_tls.key")


def encode_sha256(text, sign=False):
    """digest a text with SHA256 (and sign the digest with the signing key)"""
    if sign:
        with open(sign_key, "rb") as file:
            private_key = serialization.load_pem_private_key(file.read(), password=None)
        out = private_key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    else:
        digest = hashes.Hash(hashes.SHA256())
        digest.update(text.encode())
        out = digest.finalize()
    return b64encode(out).decode()


def get_signature(method, endpoint, mdate, digest, req_id):
    text = [
        f"(request-target): {method.lower()} {endpoint}",
        f"date: {mdate}",
        f"digest: SHA-256={digest}",
        f"x-ing-reqid: {req_id}",
    ]
    signature_digest = encode_sha256("\n".join(text), True)
    signature = [
        f'keyId="{client_id}"',
        'algorithm="rsa-sha256"',
        'headers="(request-target) date digest x-ing-reqid"',
        f'signature="{signature_digest}"',
    ]
    return ",".join(signature)


def request(method, endpoint, body="", token=None):
    mdate = datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
    digest = encode_sha256(body)  # Without signing
    req_id = str(uuid.uuid4())
    headers = {
        "Date": mdate,
        "Digest": f"SHA-256={digest}",
        "X-ING-ReqID": req_id,
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }
    signature = get_signature(method, endpoint, mdate, digest, req_id)
    if token:
        headers.update({"Authorization": f"Bearer {token}", "Signature": signature})
    else:
        headers.update({"Authorization": f"Signature {signature}"})

    context = ssl.create_default_context(cafile=ca_file)
    context.load_cert_chain(tls_cert, tls_key)
    url = urlsplit(host)
    connection = http.client.HTTPSConnection(url.hostname, url.port, context=context, timeout=20)
    try:
        connection.request(method.upper(), endpoint, body=body.encode(), headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("x-obconform-diagnosis"), response.read().decode()
    finally:
        connection.close()


def refused(step, status, diagnosis, body):
    print(f"{step}: HTTP {status}, diagnosis {diagnosis}: {body}", file=sys.stderr)
    sys.exit(1)


status, diagnosis, body = request("POST", "/oauth2/token", "grant_type=client_credentials")
if status != 200:
    refused("token", status, diagnosis, body)
token = json.loads(body)["access_token"]

status, diagnosis, body = request("GET", "/greetings/single", token=token)
if status != 200:
    refused("greeting", status, diagnosis, body)
print(body)
