// Entry point for `azd up` / `azd provision`: creates the resource group and deploys
// resources.bicep into it. To deploy into an existing resource group without azd, deploy
// resources.bicep directly (`az deployment group create`, see docs/deploy.md).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds resource names.')
param environmentName string

@minLength(1)
@description('Azure region for every resource.')
param location string

@description('Object id of the person or pipeline running the deployment (azd fills in AZURE_PRINCIPAL_ID). It gets Azure Digital Twins Data Owner, needed to create the event routes, and Viewer on the Data Explorer database. Empty: no such assignments.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
@description('Kind of principal principalId names.')
param principalType string = 'User'

@allowed([
  'FC1'
  'EP1'
  'Y1'
])
@description('Function App plan: Flex Consumption FC1 (default: scales to zero, billed per execution, identity-based host storage), Elastic Premium EP1 (always one warm instance) or Linux Consumption Y1 (host storage by key; retires 30 September 2028). Each plan kind has its own plan and app names, so a switch creates a new app (docs/deploy.md).')
param hostingPlan string = 'FC1'

@allowed([
  512
  2048
  4096
])
@description('FC1 only: memory of each instance, in MB. The handler peaks at about 25 MB.')
param instanceMemoryMB int = 512

@minValue(40)
@maxValue(1000)
@description('FC1 only: most instances the app scales out to.')
param maximumInstanceCount int = 100

@allowed([
  'tsi'
  'data-history'
])
@description('BRIDGE_RECORD_FORMAT: the shape of the records sent to the records hub.')
param recordFormat string = 'tsi'

@allowed([
  'nested'
  'dotted'
])
@description('BRIDGE_TSI_KEYS: key style of tsi records.')
param tsiKeys string = 'nested'

@allowed([
  'double'
  'as-is'
])
@description('BRIDGE_NUMBERS: number handling of tsi records.')
param numbers string = 'double'

@description('BRIDGE_EVENT_TYPES: comma-separated event kinds that produce records, or all.')
param eventTypes string = 'all'

@minValue(65536)
@description('BRIDGE_MAX_REQUEST_BYTES: largest invocation body the handler reads.')
param maxRequestBytes int = 134217728

@minValue(0)
@maxValue(64)
@description('BRIDGE_WORKERS: threads serving invocations, each with its own Event Hubs connection; 0 for one per core.')
param workers int = 0

@allowed([
  'off'
  'adt'
  'eventhub'
])
@description('SIMULATOR_MODE: what each FactorySimulator tick does.')
param simulatorMode string = 'off'

@description('SIMULATOR_SCHEDULE: six-field NCRONTAB schedule of the FactorySimulator timer.')
param simulatorSchedule string = '*/5 * * * * *'

@description('SIMULATOR_SEED: seed of the simulated readings.')
param simulatorSeed string = '42'

@description('RUST_LOG filter of the handler.')
param rustLog string = 'info'

@description('Also route telemetry and lifecycle events (twin create/delete, relationship changes) to the bridge, not only twin updates.')
param routeTelemetryAndLifecycle bool = false

@description('Also provision an Event Grid topic, an ADT endpoint to it and a dead-letter container; the route and the subscription to TwinUpdatesEventGrid are made by the azd hooks.')
param enableEventGrid bool = false

@allowed([
  'EventGridSchema'
  'CloudEventSchemaV1_0'
])
@description('Input schema of the Event Grid topic (only with enableEventGrid).')
param eventGridInputSchema string = 'EventGridSchema'

@description('Also provision a Standard Service Bus namespace with a topic, an ADT endpoint to it and the bridge\'s subscription (function TwinUpdatesServiceBus); the route is made by the azd hook. Off: the function is switched off (AzureWebJobs.TwinUpdatesServiceBus.Disabled).')
param enableServiceBus bool = false

@description('Provision an Azure Data Explorer dev cluster that ingests the records hub.')
param deployDataExplorer bool = false

@minValue(1)
@maxValue(32)
@description('Partitions of each Event Hub.')
param eventHubPartitionCount int = 4

@minValue(1)
@maxValue(7)
@description('Retention of each Event Hub, in days.')
param eventHubRetentionDays int = 1

@description('Refuse SAS keys on the Event Hubs namespace (everything here authenticates with Entra ID). Set false to attach a TSI Gen2 environment, which reads with a key.')
param eventHubsDisableLocalAuth bool = true

var tags = {
  'azd-env-name': environmentName
  workload: 'adt-bridge'
}

resource group 'Microsoft.Resources/resourceGroups@2022-09-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module resources './resources.bicep' = {
  name: 'adt-bridge-resources'
  scope: group
  params: {
    location: location
    resourceToken: toLower(uniqueString(subscription().id, environmentName, location))
    tags: tags
    principalId: principalId
    principalType: principalType
    hostingPlan: hostingPlan
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    recordFormat: recordFormat
    tsiKeys: tsiKeys
    numbers: numbers
    eventTypes: eventTypes
    maxRequestBytes: maxRequestBytes
    workers: workers
    simulatorMode: simulatorMode
    simulatorSchedule: simulatorSchedule
    simulatorSeed: simulatorSeed
    rustLog: rustLog
    routeTelemetryAndLifecycle: routeTelemetryAndLifecycle
    enableEventGrid: enableEventGrid
    eventGridInputSchema: eventGridInputSchema
    enableServiceBus: enableServiceBus
    deployDataExplorer: deployDataExplorer
    eventHubPartitionCount: eventHubPartitionCount
    eventHubRetentionDays: eventHubRetentionDays
    eventHubsDisableLocalAuth: eventHubsDisableLocalAuth
  }
}

// azd stores every output in the environment (.azure/<env>/.env); the hooks read them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = group.name
output AZURE_FUNCTION_APP_NAME string = resources.outputs.functionAppName
output AZURE_FUNCTION_APP_ID string = resources.outputs.functionAppId
output ADT_INSTANCE_NAME string = resources.outputs.adtName
output ADT_HOST_NAME string = resources.outputs.adtHostName
output ADT_EVENTHUB_ENDPOINT_NAME string = resources.outputs.adtEventHubEndpointName
output ADT_ROUTE_NAME string = resources.outputs.adtRouteName
output ADT_ROUTE_FILTER string = resources.outputs.adtRouteFilter
output EVENTHUBS_NAMESPACE string = resources.outputs.eventHubsNamespace
output EVENTHUBS_FQDN string = resources.outputs.eventHubsFullyQualifiedNamespace
output TWINS_EVENTHUB_NAME string = resources.outputs.twinsHubName
output TSI_EVENTHUB_NAME string = resources.outputs.recordsHubName
output BRIDGE_DEADLETTER_EVENTHUB_NAME string = resources.outputs.deadLetterHubName
output ENABLE_EVENT_GRID bool = enableEventGrid
output EVENTGRID_TOPIC_ID string = resources.outputs.eventGridTopicId
output EVENTGRID_INPUT_SCHEMA string = eventGridInputSchema
output ADT_EVENTGRID_ENDPOINT_NAME string = resources.outputs.adtEventGridEndpointName
output ADT_EVENTGRID_ROUTE_NAME string = resources.outputs.adtEventGridRouteName
output ENABLE_SERVICE_BUS bool = enableServiceBus
output ADT_SERVICEBUS_ENDPOINT_NAME string = resources.outputs.adtServiceBusEndpointName
output ADT_SERVICEBUS_ROUTE_NAME string = resources.outputs.adtServiceBusRouteName
output SERVICEBUS_NAMESPACE string = resources.outputs.serviceBusNamespace
output TWINS_SERVICEBUS_TOPIC_NAME string = resources.outputs.serviceBusTopicName
output TWINS_SERVICEBUS_SUBSCRIPTION_NAME string = resources.outputs.serviceBusSubscriptionName
output DEADLETTER_STORAGE_ID string = resources.outputs.storageAccountId
output DEADLETTER_CONTAINER_NAME string = resources.outputs.deadLetterContainerName
output ADX_CLUSTER_URI string = resources.outputs.adxClusterUri
output ADX_DATABASE_NAME string = resources.outputs.adxDatabaseName
