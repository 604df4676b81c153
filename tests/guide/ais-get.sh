#!/bin/bash
# Step 4, AIS with the customer access token, in the shape of ING's downloadable AIS scripts
# (the guide links them; it does not print them): GET with an empty-body Digest, a Signature over
# "(request-target) date digest" with keyId = client_id, and an X-Request-ID.
# Inputs: accessToken, reqPath (with its query, e.g. /v3/accounts).
set -u
keyId="5ca1ab1e-c0ca-c01a-cafe-154deadbea75"

payloadDigest=`echo -n "" | openssl dgst -binary -sha256 | openssl base64`
digest=SHA-256=$payloadDigest
reqDate=$(LC_TIME=en_US.UTF-8 date -u "+%a, %d %b %Y %H:%M:%S GMT")
reqId=$(cat /proc/sys/kernel/random/uuid)

httpMethod="get"
signingString="(request-target): $httpMethod $reqPath
date: $reqDate
digest: $digest"
signature=`printf %s "$signingString" | openssl dgst -sha256 -sign "${certPath}example_client_signing.key" -passin "pass:changeit" | openssl base64 -A`

curl -k -i -X GET "${httpHost}${reqPath}" \
-H "Accept: application/json" \
-H "Digest: ${digest}" \
-H "Date: ${reqDate}" \
-H "X-Request-ID: ${reqId}" \
-H "Authorization: Bearer ${accessToken}" \
-H "Signature: keyId=\"${keyId}\",algorithm=\"rsa-sha256\",headers=\"(request-target) date digest\",signature=\"${signature}\"" \
--cert "${certPath}example_client_tls.cer" \
--key "${certPath}example_client_tls.key"
