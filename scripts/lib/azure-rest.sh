# shellcheck shell=bash
# Small helpers for the azd hooks: an access token from azd (or the Azure CLI), and a PUT with
# retries. Sourced, not run. Needs curl.

# Prints an Entra ID access token for RESOURCE (e.g. https://digitaltwins.azure.net).
# azd is tried first (the hooks run under azd, which is logged in), then the Azure CLI.
azure_token() {
  local resource=${1%/} output token tenant_args=()
  if [[ -n ${AZURE_TENANT_ID:-} ]]; then tenant_args=(--tenant-id "$AZURE_TENANT_ID"); fi
  if command -v azd >/dev/null 2>&1 &&
    output=$(azd auth token --scope "$resource/.default" --output json "${tenant_args[@]}" 2>/dev/null); then
    token=$(sed -n 's/.*"token"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' <<<"$output")
    if [[ -n $token ]]; then printf '%s\n' "$token"; return 0; fi
  fi
  if command -v az >/dev/null 2>&1 &&
    token=$(az account get-access-token --resource "$resource" --query accessToken --output tsv 2>/dev/null) &&
    [[ -n $token ]]; then
    printf '%s\n' "$token"
    return 0
  fi
  echo "no access token for $resource: log in with 'azd auth login' or 'az login'" >&2
  return 1
}

# Escapes a value for use inside a JSON string.
json_string() {
  local value=$1
  value=${value//\\/\\\\}
  value=${value//\"/\\\"}
  value=${value//$'\n'/\\n}
  value=${value//$'\t'/\\t}
  printf '"%s"' "$value"
}

# azure_put URL TOKEN BODY: PUT a JSON body, retrying while the answer is not 2xx (a role
# assignment made seconds ago, or an endpoint still provisioning, answers 4xx for a while).
# Attempts and delay: AZURE_PUT_ATTEMPTS (default 12), AZURE_PUT_DELAY seconds (default 20).
azure_put() {
  local url=$1 token=$2 body=$3
  local attempts=${AZURE_PUT_ATTEMPTS:-12} delay=${AZURE_PUT_DELAY:-20}
  local workdir status attempt
  workdir=$(mktemp -d)
  # The token goes through a header file, not the command line other users can see.
  (umask 077 && printf 'Authorization: Bearer %s\n' "$token" >"$workdir/auth")
  for ((attempt = 1; attempt <= attempts; attempt++)); do
    status=$(curl --silent --show-error --output "$workdir/answer" --write-out '%{http_code}' \
      --request PUT --header @"$workdir/auth" --header 'Content-Type: application/json' \
      --data "$body" "$url") || status=000
    if [[ $status == 2?? ]]; then
      rm -rf "$workdir"
      return 0
    fi
    echo "PUT ${url%%\?*}: HTTP $status (attempt $attempt of $attempts): $(head -c 300 "$workdir/answer" 2>/dev/null)" >&2
    if ((attempt < attempts)); then sleep "$delay"; fi
  done
  rm -rf "$workdir"
  return 1
}

# Fails with a clear message when a variable the hook needs is unset.
require_env() {
  local name missing=0
  for name in "$@"; do
    if [[ -z ${!name:-} ]]; then
      echo "missing $name (an output of infra/main.bicep; run 'azd provision' first, or export it)" >&2
      missing=1
    fi
  done
  return "$missing"
}
