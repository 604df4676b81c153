#!/bin/bash
# Guide step 2: an mTLS-only application access token, then GET /oauth2/applications/me.
set -u
certPath="${certPath}"
clientId="5ca1ab1e-c0ca-c01a-cafe-154deadbea75"

reqPath="/oauth2/token"
payload="grant_type=client_credentials&client_id=${clientId}"
response=$(curl -k -X POST "${httpHost}${reqPath}" \
-H 'Accept: application/json' \
-H 'Content-Type: application/x-www-form-urlencoded' \
-d "${payload}" \
--cert "${certPath}example_client_tls.cer" \
--key "${certPath}example_client_tls.key")
accessToken=$(echo "$response" | jq -r '.access_token')

reqPath="/oauth2/applications/me"
curl -k -i -X GET "${httpHost}${reqPath}" \
-H 'Accept: application/json' \
-H "Authorization: Bearer ${accessToken}" \
--cert "${certPath}example_client_tls.cer" \
--key "${certPath}example_client_tls.key"
