#!/usr/bin/env bash
# azd postdeploy hook: subscribes the TwinUpdatesEventGrid function to the Event Grid topic ADT
# routes to, with a storage dead-letter container. Does nothing unless ENABLE_EVENT_GRID=true.
#
# It runs after the deploy because Event Grid checks that the destination function exists when
# the subscription is created. The delivery schema equals the topic's input schema: Event Grid
# cannot turn CloudEvents into its own schema, and the handler reads both.
#
# Reads (Bicep outputs): EVENTGRID_TOPIC_ID, AZURE_FUNCTION_APP_ID, DEADLETTER_STORAGE_ID,
# DEADLETTER_CONTAINER_NAME, EVENTGRID_INPUT_SCHEMA. The same by hand:
#   az eventgrid event-subscription create --name twins-to-bridge \
#     --source-resource-id "$EVENTGRID_TOPIC_ID" --endpoint-type azurefunction \
#     --endpoint "$AZURE_FUNCTION_APP_ID/functions/TwinUpdatesEventGrid" \
#     --deadletter-endpoint "$DEADLETTER_STORAGE_ID/blobServices/default/containers/eventgrid-deadletter"
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/azure-rest.sh
. "$here/lib/azure-rest.sh"

if [[ ${ENABLE_EVENT_GRID:-false} != true ]]; then
  echo "Event Grid path is off (ENABLE_EVENT_GRID is not true): no subscription to create."
  exit 0
fi

require_env EVENTGRID_TOPIC_ID AZURE_FUNCTION_APP_ID DEADLETTER_STORAGE_ID DEADLETTER_CONTAINER_NAME
subscription=${EVENTGRID_SUBSCRIPTION_NAME:-twins-to-bridge}
function_name=${EVENTGRID_FUNCTION_NAME:-TwinUpdatesEventGrid}
schema=${EVENTGRID_INPUT_SCHEMA:-EventGridSchema}
arm=${AZURE_RESOURCE_MANAGER_ENDPOINT:-https://management.azure.com}
arm=${arm%/}

body=$(
  cat <<JSON
{"properties": {
  "destination": {"endpointType": "AzureFunction", "properties": {
    "resourceId": $(json_string "$AZURE_FUNCTION_APP_ID/functions/$function_name"),
    "maxEventsPerBatch": 1}},
  "eventDeliverySchema": $(json_string "$schema"),
  "retryPolicy": {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440},
  "deadLetterDestination": {"endpointType": "StorageBlob", "properties": {
    "resourceId": $(json_string "$DEADLETTER_STORAGE_ID"),
    "blobContainerName": $(json_string "$DEADLETTER_CONTAINER_NAME")}}}}
JSON
)

token=$(azure_token "$arm")
echo "Event Grid subscription $subscription -> $function_name ($schema), dead letters to $DEADLETTER_CONTAINER_NAME"
azure_put "$arm$EVENTGRID_TOPIC_ID/providers/Microsoft.EventGrid/eventSubscriptions/$subscription?api-version=2022-06-15" \
  "$token" "$body"
echo "Event Grid subscription is in place."
