#!/bin/bash
# Guide step 2b: mTLS-only token, then PUT /oauth2/applications/{id} signed with a detached JWS.
set -u
extraSigopt="${extraSigopt:-}"
client_id="5ca1ab1e-c0ca-c01a-cafe-154deadbea75"
signCertificate="${certPath}example_client_signing.cer"
signKey="${certPath}example_client_signing.key"
tlsCertificate="${certPath}example_client_tls.cer"
tlsKey="${certPath}example_client_tls.key"

# 1. REQUEST APPLICATION ACCESS TOKEN (MTLS)
httpMethod="POST"
reqPath="/oauth2/token"
tokenPayload="grant_type=client_credentials&client_id=${client_id}"
response=$(curl -k -X "$httpMethod" "${httpHost}${reqPath}" \
    -H 'Accept: application/json' \
    -H 'Content-Type: application/x-www-form-urlencoded' \
    -d "${tokenPayload}" \
    --cert $tlsCertificate \
    --key $tlsKey)
access_token=`echo $response | jq -r '.access_token'`

# 2. GENERATE JWS SIGNATURE
httpMethod="PUT"
reqPath="/oauth2/applications/"$client_id
updatePayload="{ \"contact\": \"test@ingsandbox.com\", \"redirect_uris\":[ \"https://example.com\", \"https://another-example.com\"]}"
base64UrlFingerprint=$(openssl x509 -noout -fingerprint -sha256 -inform pem -in $signCertificate | cut -d'=' -f2 | sed s/://g | xxd -r -p | base64 | tr -d '=' | tr '/+' '_-' | tr -d '\n')
sigT=$(date -u +"%Y-%m-%dT%H:%M:%SZ")
jwsHeader='{ "b64":false, "x5t#S256":"'"$base64UrlFingerprint"'","crit":[ "sigT", "sigD", "b64"], "sigT":"'"$sigT"'","sigD":{"pars":[ "(request-target)", "digest", "content-type" ], "mId":"http://uri.etsi.org/19182/HttpHeaders"},"alg":"PS256"}'
jwsHeaderBase64URL=$(echo -n "$jwsHeader" | openssl base64 -e -A | tr -d '=' | tr '/+' '_-' | tr -d '\n')
digest="SHA-256=$(echo -n "$updatePayload" | openssl dgst -binary -sha256 | openssl base64)"
lowerCaseHttpMethod=`echo $httpMethod | tr [:upper:] [:lower:]`
signingString="(request-target): $lowerCaseHttpMethod $reqPath
digest: $digest
content-type: application/json"
inputForSignatureValueComputation="$jwsHeaderBase64URL.$signingString"
jwsSignatureValue=$(printf %s "$inputForSignatureValueComputation" | openssl dgst -sha256 -sign $signKey -sigopt rsa_padding_mode:pss $extraSigopt | openssl base64 -A | tr -d '=' | tr '/+' '_-' | tr -d '\n')
jwsSignature=$jwsHeaderBase64URL..$jwsSignatureValue

# 3. UPDATE
curl -k -i -X "$httpMethod" "${httpHost}${reqPath}" \
    -H 'Accept: application/json' \
    -H 'Content-Type: application/json' \
    -H "Digest: $digest" \
    -H "Authorization: Bearer ${access_token}" \
    -H "x-jws-signature: $jwsSignature" \
    -H "TPP-Signature-Certificate: $(tr -d "\n\r" < $signCertificate)" \
    -d "$updatePayload" \
    --cert $tlsCertificate \
    --key $tlsKey
