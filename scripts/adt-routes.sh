#!/usr/bin/env bash
# azd postprovision hook: creates (or replaces) the Azure Digital Twins event routes.
#
# Routes live in ADT's data plane; ARM, and so Bicep, cannot create them. The endpoints they
# point at are created by infra/modules/digitaltwins.bicep. The caller needs the Azure Digital
# Twins Data Owner role on the instance (infra/ gives it to AZURE_PRINCIPAL_ID); right after
# provisioning that role can take a few minutes to apply, so each PUT is retried.
#
# Reads (azd sets them from the Bicep outputs): ADT_HOST_NAME, ADT_EVENTHUB_ENDPOINT_NAME,
# ADT_ROUTE_NAME, ADT_ROUTE_FILTER; with ENABLE_EVENT_GRID=true also ADT_EVENTGRID_ENDPOINT_NAME
# and ADT_EVENTGRID_ROUTE_NAME; with ENABLE_SERVICE_BUS=true also ADT_SERVICEBUS_ENDPOINT_NAME and
# ADT_SERVICEBUS_ROUTE_NAME. Every route carries the same filter. The same routes by hand:
#   az dt route create -n <instance> --route-name to-bridge-hub --endpoint-name twins-hub \
#     --filter "type = 'Microsoft.DigitalTwins.Twin.Update'"
#   az dt route create -n <instance> --route-name to-bridge-topic --endpoint-name twins-topic \
#     --filter "type = 'Microsoft.DigitalTwins.Twin.Update'"
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/azure-rest.sh
. "$here/lib/azure-rest.sh"

api_version=2023-10-31

put_route() {
  local route=$1 endpoint=$2 filter=$3
  local body
  body="{\"endpointName\":$(json_string "$endpoint"),\"filter\":$(json_string "$filter")}"
  echo "ADT route $route -> endpoint $endpoint, filter: $filter"
  azure_put "https://$ADT_HOST_NAME/eventroutes/$route?api-version=$api_version" "$token" "$body"
}

require_env ADT_HOST_NAME ADT_EVENTHUB_ENDPOINT_NAME ADT_ROUTE_NAME ADT_ROUTE_FILTER
token=$(azure_token https://digitaltwins.azure.net)

put_route "$ADT_ROUTE_NAME" "$ADT_EVENTHUB_ENDPOINT_NAME" "$ADT_ROUTE_FILTER"

if [[ ${ENABLE_EVENT_GRID:-false} == true ]]; then
  require_env ADT_EVENTGRID_ENDPOINT_NAME ADT_EVENTGRID_ROUTE_NAME
  put_route "$ADT_EVENTGRID_ROUTE_NAME" "$ADT_EVENTGRID_ENDPOINT_NAME" "$ADT_ROUTE_FILTER"
fi
if [[ ${ENABLE_SERVICE_BUS:-false} == true ]]; then
  require_env ADT_SERVICEBUS_ENDPOINT_NAME ADT_SERVICEBUS_ROUTE_NAME
  put_route "$ADT_SERVICEBUS_ROUTE_NAME" "$ADT_SERVICEBUS_ENDPOINT_NAME" "$ADT_ROUTE_FILTER"
fi
echo "ADT routes are in place."
