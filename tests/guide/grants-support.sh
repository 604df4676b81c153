#!/bin/bash
# The sandbox's automated consent in the shape of ING's open-banking CLI's PSD2 step "request
# authorisation code": no browser. GET /grantssupport/accounts with the application token, strip
# the 6-character `)]}',` prefix, pick the RO profile "Popescu Corina" whose first scope is
# payment-accounts:balances:view, then POST /grantssupport/{referenceId}/auth-code with a fixed
# XSRF pair of the client's own (header and cookie), the profile's id and scopes. referenceId is
# the second-last path segment of the location authorization-server-url answered.
# Inputs: myAccountHost, accessToken, location, certPath. The last response goes to stdout
# (`curl -i`); the accounts answer and the chosen profile to stderr.
set -u
referenceId=$(printf %s "$location" | jq -Rr 'split("/") | map(select(length > 0)) | .[-2]')

accountsResponse=$(curl -k -s -X GET "${myAccountHost}/grantssupport/accounts" \
-H 'Content-Type: application/json' \
-H "Authorization: Bearer ${accessToken}")
echo "accounts: ${accountsResponse}" >&2

cleanedAccounts=${accountsResponse:6}
selectedProfile=$(printf %s "$cleanedAccounts" | jq '.accounts[] | select((.name == "Popescu Corina") and (.scopes[0] == "payment-accounts:balances:view") and (.country_code == "RO"))')
echo "profile: ${selectedProfile}" >&2
profileId=$(printf %s "$selectedProfile" | jq -r '.id')
profileScopes=$(printf %s "$selectedProfile" | jq -r '.scopes | join(" ")')

xsrf="${xsrfToken:-Xq3bT9LmR2vK8wP1sN6dF4hJ7gC0zY5a}"
curl -k -i -X POST "${myAccountHost}/grantssupport/${referenceId}/auth-code" \
-H "host: api.myaccount.sandbox.ing.com" \
-H "Authorization: Bearer ${accessToken}" \
-H 'Content-Type: application/json' \
-H "X-XSRF-Token: ${xsrf}" \
-H "Cookie: XSRF-TOKEN=${xsrfCookie:-$xsrf}" \
-d '{
    "id": "'"$profileId"'",
    "client_id": "5ca1ab1e-c0ca-c01a-cafe-154deadbea75",
    "scopes": "'"$profileScopes"'",
    "state": "ANY_ARBITRARY_VALUE",
    "redirectURL": "https://example.com"
}' \
--cert "${certPath}example_client_tls.cer" \
--key "${certPath}example_client_tls.key"
