#!/bin/bash
# Guide step 3d: the authorization code exchanged for a customer access token. The application
# token (step 3c) is the Bearer token; the Signature header's keyId is the fixed client_id.
# Inputs: accessToken, code.
set -u
keyId="5ca1ab1e-c0ca-c01a-cafe-154deadbea75"

payload="grant_type=authorization_code&code=${code}"
payloadDigest=`echo -n "$payload" | openssl dgst -binary -sha256 | openssl base64`
digest=SHA-256=$payloadDigest
reqDate=$(LC_TIME=en_US.UTF-8 date -u "+%a, %d %b %Y %H:%M:%S GMT")

httpMethod="post"
reqPath="/oauth2/token"
signingString="(request-target): $httpMethod $reqPath
date: $reqDate
digest: $digest"
signature=`printf %s "$signingString" | openssl dgst -sha256 -sign "${certPath}example_client_signing.key" -passin "pass:changeit" | openssl base64 -A`

curl -k -i -X POST "${httpHost}${reqPath}" \
-H "Accept: application/json" \
-H "Content-Type: application/x-www-form-urlencoded" \
-H "Digest: ${digest}" \
-H "Date: ${reqDate}" \
-H "Authorization: Bearer ${accessToken}" \
-H "Signature: keyId=\"${keyId}\",algorithm=\"rsa-sha256\",headers=\"(request-target) date digest\",signature=\"${signature}\"" \
-d "${payload}" \
--cert "${certPath}example_client_tls.cer" \
--key "${certPath}example_client_tls.key"
