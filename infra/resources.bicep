// Everything the bridge needs, in one resource group. main.bicep deploys this for azd; it can
// also be deployed on its own into an existing group (`az deployment group create`).
//
//   ADT ──(identity endpoint, route made by scripts/adt-routes.sh)──▶ twins hub
//   twins hub ──(consumer group bridge)──▶ Function App (custom handler) ──▶ records hub
//   records hub ──(consumer group adx)──▶ Data Explorer (optional) / TSI / Eventhouse
targetScope = 'resourceGroup'

@description('Azure region for every resource.')
param location string = resourceGroup().location

@description('Suffix that makes the global resource names unique.')
param resourceToken string = toLower(uniqueString(resourceGroup().id))

@description('Tags for every resource.')
param tags object = {}

@description('Object id of the deploying principal (ADT Data Owner for the route hook; ADX Viewer). Empty: none.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@allowed([
  'FC1'
  'EP1'
  'Y1'
])
@description('Function App plan: Flex Consumption FC1, Elastic Premium EP1 or Linux Consumption Y1 (retires 30 September 2028).')
param hostingPlan string = 'FC1'

@allowed([
  512
  2048
  4096
])
@description('FC1 only: memory of each instance, in MB.')
param instanceMemoryMB int = 512

@minValue(40)
@maxValue(1000)
@description('FC1 only: most instances the app scales out to.')
param maximumInstanceCount int = 100

@allowed([
  'tsi'
  'data-history'
])
param recordFormat string = 'tsi'

@allowed([
  'nested'
  'dotted'
])
param tsiKeys string = 'nested'

@allowed([
  'double'
  'as-is'
])
param numbers string = 'double'

param eventTypes string = 'all'

@minValue(65536)
param maxRequestBytes int = 134217728

@minValue(0)
@maxValue(64)
param workers int = 0

@allowed([
  'off'
  'adt'
  'eventhub'
])
param simulatorMode string = 'off'

param simulatorSchedule string = '*/5 * * * * *'

param simulatorSeed string = '42'

param rustLog string = 'info'

@description('Route telemetry and lifecycle events too, not only twin updates.')
param routeTelemetryAndLifecycle bool = false

param enableEventGrid bool = false

@allowed([
  'EventGridSchema'
  'CloudEventSchemaV1_0'
])
param eventGridInputSchema string = 'EventGridSchema'

@description('Also provision a Service Bus topic, an ADT endpoint to it and the bridge\'s subscription; the route is made by the azd hook.')
param enableServiceBus bool = false

param deployDataExplorer bool = false

@minValue(1)
@maxValue(32)
param eventHubPartitionCount int = 4

@minValue(1)
@maxValue(7)
param eventHubRetentionDays int = 1

param eventHubsDisableLocalAuth bool = true

var names = {
  eventHubs: 'evhns-${resourceToken}'
  storage: 'st${resourceToken}'
  logAnalytics: 'log-${resourceToken}'
  appInsights: 'appi-${resourceToken}'
  // One plan and one app per plan kind: switching hostingPlan creates a new plan and app (ARM
  // cannot turn a Dynamic plan into an ElasticPremium one, and no app moves in or out of Flex
  // Consumption); the old ones stay until deleted (docs/deploy.md).
  plan: 'plan-${toLower(hostingPlan)}-${resourceToken}'
  functionApp: 'func-${toLower(hostingPlan)}-${resourceToken}'
  digitalTwins: 'dt-${resourceToken}'
  eventGridTopic: 'evgt-${resourceToken}'
  serviceBus: 'sbns-${resourceToken}'
  dataExplorer: take('adx${resourceToken}', 22)
}

var hubs = {
  twins: 'twins'
  records: 'records'
  deadLetter: 'deadletter'
}

var consumerGroups = {
  bridge: 'bridge'
  adx: 'adx'
  deadLetter: 'inspect'
}

var adtEndpoints = {
  eventHub: 'twins-hub'
  eventGrid: 'twins-grid'
  serviceBus: 'twins-topic'
}

var adtRoutes = {
  eventHub: 'to-bridge-hub'
  eventGrid: 'to-bridge-grid'
  serviceBus: 'to-bridge-topic'
}

// The Service Bus path. The handler keeps retrying a failed records send for holdSeconds, which
// stays under the lock (an invocation must end before its batch's lock does); a failed invocation
// is redelivered at once, so maxDeliveryCount is far above the default 10.
var serviceBus = {
  topic: 'twins'
  subscription: 'bridge'
  lockDuration: 'PT1M'
  holdSeconds: 45
  maxDeliveryCount: 100
  messageTimeToLive: 'P1D'
}

var deadLetterContainerName = 'eventgrid-deadletter'

// Event types the ADT route lets through. The bridge skips what it cannot use, so the wide
// set costs only Event Hubs traffic.
var twinUpdates = [
  'Microsoft.DigitalTwins.Twin.Update'
]

var telemetryAndLifecycle = [
  'microsoft.iot.telemetry'
  'Microsoft.DigitalTwins.Twin.Create'
  'Microsoft.DigitalTwins.Twin.Delete'
  'Microsoft.DigitalTwins.Relationship.Create'
  'Microsoft.DigitalTwins.Relationship.Update'
  'Microsoft.DigitalTwins.Relationship.Delete'
]

var routedEventTypes = routeTelemetryAndLifecycle ? concat(twinUpdates, telemetryAndLifecycle) : twinUpdates

var routeFilter = join(map(routedEventTypes, eventType => 'type = \'${eventType}\''), ' OR ')

var roles = {
  eventHubsDataSender: '2b629674-e913-4c01-ae53-ef4638d8f975'
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'
  digitalTwinsDataOwner: 'bcd981a7-7f74-457b-83e1-cceb9e632ffe'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
}

module monitoring './modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    tags: tags
    logAnalyticsName: names.logAnalytics
    appInsightsName: names.appInsights
  }
}

module eventHubs './modules/eventhubs.bicep' = {
  name: 'eventhubs'
  params: {
    name: names.eventHubs
    location: location
    tags: tags
    partitionCount: eventHubPartitionCount
    retentionDays: eventHubRetentionDays
    disableLocalAuth: eventHubsDisableLocalAuth
    twinsHubName: hubs.twins
    recordsHubName: hubs.records
    deadLetterHubName: hubs.deadLetter
    bridgeConsumerGroup: consumerGroups.bridge
    adxConsumerGroup: consumerGroups.adx
    deadLetterConsumerGroup: consumerGroups.deadLetter
  }
}

module storage './modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: names.storage
    location: location
    tags: tags
    deadLetterContainerName: enableEventGrid ? deadLetterContainerName : ''
  }
}

module eventGrid './modules/eventgrid.bicep' = if (enableEventGrid) {
  name: 'eventgrid'
  params: {
    name: names.eventGridTopic
    location: location
    tags: tags
    inputSchema: eventGridInputSchema
  }
}

module digitalTwins './modules/digitaltwins.bicep' = {
  name: 'digitaltwins'
  params: {
    name: names.digitalTwins
    location: location
    tags: tags
    eventHubsNamespaceName: eventHubs.outputs.namespaceName
    eventHubsFullyQualifiedNamespace: eventHubs.outputs.fullyQualifiedNamespace
    twinsHubName: eventHubs.outputs.twinsHubName
    eventHubEndpointName: adtEndpoints.eventHub
  }
}

module digitalTwinsEventGrid './modules/digitaltwins-eventgrid.bicep' = if (enableEventGrid) {
  name: 'digitaltwins-eventgrid'
  params: {
    digitalTwinsName: digitalTwins.outputs.name
    topicName: enableEventGrid ? eventGrid.outputs.name : ''
    endpointName: adtEndpoints.eventGrid
  }
}

module serviceBusTopic './modules/servicebus.bicep' = if (enableServiceBus) {
  name: 'servicebus'
  params: {
    name: names.serviceBus
    location: location
    tags: tags
    topicName: serviceBus.topic
    subscriptionName: serviceBus.subscription
    lockDuration: serviceBus.lockDuration
    maxDeliveryCount: serviceBus.maxDeliveryCount
    messageTimeToLive: serviceBus.messageTimeToLive
  }
}

module digitalTwinsServiceBus './modules/digitaltwins-servicebus.bicep' = if (enableServiceBus) {
  name: 'digitaltwins-servicebus'
  params: {
    digitalTwinsName: digitalTwins.outputs.name
    digitalTwinsPrincipalId: digitalTwins.outputs.principalId
    namespaceName: enableServiceBus ? serviceBusTopic.outputs.namespaceName : ''
    fullyQualifiedNamespace: enableServiceBus ? serviceBusTopic.outputs.fullyQualifiedNamespace : ''
    topicName: serviceBus.topic
    endpointName: adtEndpoints.serviceBus
  }
}

module functionApp './modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: union(tags, { 'azd-service-name': 'bridge' })
    hostingPlan: hostingPlan
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    storageAccountName: storage.outputs.name
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    eventHubsFullyQualifiedNamespace: eventHubs.outputs.fullyQualifiedNamespace
    twinsHubName: eventHubs.outputs.twinsHubName
    twinsConsumerGroup: consumerGroups.bridge
    recordsHubName: eventHubs.outputs.recordsHubName
    deadLetterHubName: eventHubs.outputs.deadLetterHubName
    adtHostName: digitalTwins.outputs.hostName
    enableServiceBus: enableServiceBus
    serviceBusFullyQualifiedNamespace: enableServiceBus ? serviceBusTopic.outputs.fullyQualifiedNamespace : ''
    serviceBusTopicName: serviceBus.topic
    serviceBusSubscriptionName: serviceBus.subscription
    serviceBusHoldSeconds: serviceBus.holdSeconds
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
  }
}

// The bridge reads the twins hub, and writes to it only in simulator mode `eventhub`.
module bridgeReadsTwins './modules/eventhub-role.bicep' = {
  name: 'role-bridge-twins-receiver'
  params: {
    namespaceName: eventHubs.outputs.namespaceName
    eventHubName: eventHubs.outputs.twinsHubName
    principalId: functionApp.outputs.principalId
    roleDefinitionId: roles.eventHubsDataReceiver
  }
}

module bridgeSimulatesIntoTwins './modules/eventhub-role.bicep' = if (simulatorMode == 'eventhub') {
  name: 'role-bridge-twins-sender'
  params: {
    namespaceName: eventHubs.outputs.namespaceName
    eventHubName: eventHubs.outputs.twinsHubName
    principalId: functionApp.outputs.principalId
    roleDefinitionId: roles.eventHubsDataSender
  }
}

module bridgeWritesRecords './modules/eventhub-role.bicep' = {
  name: 'role-bridge-records-sender'
  params: {
    namespaceName: eventHubs.outputs.namespaceName
    eventHubName: eventHubs.outputs.recordsHubName
    principalId: functionApp.outputs.principalId
    roleDefinitionId: roles.eventHubsDataSender
  }
}

module bridgeWritesDeadLetters './modules/eventhub-role.bicep' = {
  name: 'role-bridge-deadletter-sender'
  params: {
    namespaceName: eventHubs.outputs.namespaceName
    eventHubName: eventHubs.outputs.deadLetterHubName
    principalId: functionApp.outputs.principalId
    roleDefinitionId: roles.eventHubsDataSender
  }
}

// The bridge's trigger reads its subscription (rights on the topic alone are not enough).
module bridgeReadsSubscription './modules/servicebus-role.bicep' = if (enableServiceBus) {
  name: 'role-bridge-subscription-receiver'
  params: {
    namespaceName: enableServiceBus ? serviceBusTopic.outputs.namespaceName : ''
    topicName: serviceBus.topic
    subscriptionName: serviceBus.subscription
    principalId: functionApp.outputs.principalId
    roleDefinitionId: roles.serviceBusDataReceiver
  }
}

// The simulator patches twins only in mode `adt`.
module bridgeOwnsTwins './modules/digitaltwins-role.bicep' = if (simulatorMode == 'adt') {
  name: 'role-bridge-adt-owner'
  params: {
    digitalTwinsName: digitalTwins.outputs.name
    principalId: functionApp.outputs.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: roles.digitalTwinsDataOwner
  }
}

// The deploying principal creates the event routes (a data-plane call) in the postprovision hook.
module deployerOwnsTwins './modules/digitaltwins-role.bicep' = if (!empty(principalId)) {
  name: 'role-deployer-adt-owner'
  params: {
    digitalTwinsName: digitalTwins.outputs.name
    principalId: principalId
    principalType: principalType
    roleDefinitionId: roles.digitalTwinsDataOwner
  }
}

// FC1 and EP1 reach host storage (and FC1 its deployment container) with the app's identity.
module hostStorageRoles './modules/storage-roles.bicep' = if (hostingPlan != 'Y1') {
  name: 'role-bridge-host-storage'
  params: {
    storageAccountName: storage.outputs.name
    principalId: functionApp.outputs.principalId
  }
}

module dataExplorer './modules/dataexplorer.bicep' = if (deployDataExplorer) {
  name: 'dataexplorer'
  params: {
    clusterName: names.dataExplorer
    databaseName: 'twins'
    location: location
    tags: tags
    eventHubsNamespaceName: eventHubs.outputs.namespaceName
    recordsHubName: eventHubs.outputs.recordsHubName
    consumerGroup: consumerGroups.adx
    recordFormat: recordFormat
    viewerPrincipalId: principalId
    viewerPrincipalType: principalType
  }
}

output functionAppName string = functionApp.outputs.name
output functionAppId string = functionApp.outputs.id
output adtName string = digitalTwins.outputs.name
output adtHostName string = digitalTwins.outputs.hostName
output adtEventHubEndpointName string = digitalTwins.outputs.eventHubEndpointName
output adtRouteName string = adtRoutes.eventHub
output adtRouteFilter string = routeFilter
output adtEventGridEndpointName string = enableEventGrid ? digitalTwinsEventGrid.outputs.name : ''
output adtEventGridRouteName string = enableEventGrid ? adtRoutes.eventGrid : ''
output eventHubsNamespace string = eventHubs.outputs.namespaceName
output eventHubsFullyQualifiedNamespace string = eventHubs.outputs.fullyQualifiedNamespace
output twinsHubName string = eventHubs.outputs.twinsHubName
output recordsHubName string = eventHubs.outputs.recordsHubName
output deadLetterHubName string = eventHubs.outputs.deadLetterHubName
output adtServiceBusEndpointName string = enableServiceBus ? digitalTwinsServiceBus.outputs.name : ''
output adtServiceBusRouteName string = enableServiceBus ? adtRoutes.serviceBus : ''
output serviceBusNamespace string = enableServiceBus ? serviceBusTopic.outputs.namespaceName : ''
output serviceBusTopicName string = enableServiceBus ? serviceBusTopic.outputs.topicName : ''
output serviceBusSubscriptionName string = enableServiceBus ? serviceBusTopic.outputs.subscriptionName : ''
output eventGridTopicId string = enableEventGrid ? eventGrid.outputs.id : ''
output storageAccountId string = storage.outputs.id
output deadLetterContainerName string = enableEventGrid ? deadLetterContainerName : ''
output adxClusterUri string = deployDataExplorer ? dataExplorer.outputs.clusterUri : ''
output adxDatabaseName string = deployDataExplorer ? dataExplorer.outputs.databaseName : ''
