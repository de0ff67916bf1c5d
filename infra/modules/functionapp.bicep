// The Linux Function App that runs the Rust custom handler, and its plan.
//
// Every setting the handler reads (src/config/names.rs) and every %SETTING% the function.json
// files name is set in appSettings below; scripts/check-infra.py checks that against the code,
// once per hosting plan. Connections use the identity form (`<Connection>__fullyQualifiedNamespace`):
// the app's system-assigned identity gets its roles in resources.bicep. The optional alternatives
// (`__clientId` for a user-assigned identity, `__secondary` for a second connection string)
// are left out on purpose.
//
// Three plans, one site definition:
//   FC1  Flex Consumption (default): `functionAppConfig` holds the runtime (custom 1.0), the scale
//        limits and the deployment container; the platform refuses FUNCTIONS_WORKER_RUNTIME,
//        FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE and WEBSITE_CONTENT* there.
//   EP1  Elastic Premium: the runtime named in app settings, the package on the content share.
//   Y1   Linux Consumption (retires 30 September 2028): as EP1, but host storage by key.

param name string
param planName string
param location string
param tags object

@allowed([
  'FC1'
  'EP1'
  'Y1'
])
param hostingPlan string

@allowed([
  512
  2048
  4096
])
@description('Flex Consumption only: memory of each instance, in MB.')
param instanceMemoryMB int = 512

@minValue(40)
@maxValue(1000)
@description('Flex Consumption only: most instances the app scales out to.')
param maximumInstanceCount int = 100

param storageAccountName string
param appInsightsConnectionString string

param eventHubsFullyQualifiedNamespace string
param twinsHubName string
param twinsConsumerGroup string
param recordsHubName string
param deadLetterHubName string
param adtHostName string

@description('Whether the Service Bus path is deployed; off, TwinUpdatesServiceBus is switched off.')
param enableServiceBus bool
@description('Host name of the Service Bus namespace; empty when Service Bus is off.')
param serviceBusFullyQualifiedNamespace string
param serviceBusTopicName string
param serviceBusSubscriptionName string
param serviceBusHoldSeconds int

param recordFormat string
param tsiKeys string
param numbers string
param eventTypes string
param maxRequestBytes int
param workers int
param simulatorMode string
param simulatorSchedule string
param simulatorSeed string
param rustLog string

var flex = hostingPlan == 'FC1'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

var storageConnectionString = 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}'

var plans = {
  FC1: {
    kind: 'functionapp'
    sku: {
      name: 'FC1'
      tier: 'FlexConsumption'
    }
  }
  EP1: {
    kind: 'elastic'
    sku: {
      name: 'EP1'
      tier: 'ElasticPremium'
    }
  }
  Y1: {
    kind: 'functionapp'
    sku: {
      name: 'Y1'
      tier: 'Dynamic'
    }
  }
}

// planName differs per plan kind (resources.bicep), so a switch creates a new plan instead of
// asking ARM to turn one kind of plan into another.
resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: planName
  location: location
  tags: tags
  kind: plans[hostingPlan].kind
  sku: plans[hostingPlan].sku
  properties: {
    reserved: true
    maximumElasticWorkerCount: hostingPlan == 'EP1' ? 20 : null
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

// Flex Consumption deploys from a blob container: `azd deploy`, `func azure functionapp publish`
// and `az functionapp deployment source config-zip` upload the zip there, and the app reads it
// with its own identity (Storage Blob Data Owner on the account, storage-roles.bicep).
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = if (flex) {
  parent: blobs
  name: take('app-package-${name}', 63)
  properties: {
    publicAccess: 'None'
  }
}

var flexConfig = {
  deployment: {
    storage: {
      type: 'blobContainer'
      value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
      authentication: {
        type: 'SystemAssignedIdentity'
      }
    }
  }
  // The platform's stack data lists the custom handler for FC1 as runtime custom 1.0.
  runtime: {
    name: 'custom'
    version: '1.0'
  }
  scaleAndConcurrency: {
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
  }
}

var commonSettings = [
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: appInsightsConnectionString
  }
  {
    name: 'RUST_LOG'
    value: rustLog
  }
]

// Flex Consumption takes the runtime and the host version from functionAppConfig and refuses
// these two; the other plans need them.
var runtimeSettings = [
  {
    name: 'FUNCTIONS_EXTENSION_VERSION'
    value: '~4'
  }
  {
    name: 'FUNCTIONS_WORKER_RUNTIME'
    value: 'custom'
  }
]

// Host storage per plan.
//   FC1: by identity (roles in storage-roles.bicep); the package comes from the deployment
//        container, so no content share and no WEBSITE_RUN_FROM_PACKAGE.
//   EP1: by identity; the content share is Azure Files, which only takes a key; the package azd or
//        `func ... publish` uploads is mounted read-only with its file modes.
//   Y1:  zip deployment uploads the package with the AzureWebJobsStorage key and sets
//        WEBSITE_RUN_FROM_PACKAGE to its URL itself, so the key form is used and the setting is not.
var hostStorageSettings = {
  FC1: [
    {
      name: 'AzureWebJobsStorage__accountName'
      value: storage.name
    }
  ]
  EP1: [
    {
      name: 'AzureWebJobsStorage__accountName'
      value: storage.name
    }
    {
      name: 'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING'
      value: storageConnectionString
    }
    {
      name: 'WEBSITE_RUN_FROM_PACKAGE'
      value: '1'
    }
  ]
  Y1: [
    {
      name: 'AzureWebJobsStorage'
      value: storageConnectionString
    }
  ]
}

var platformSettings = concat(commonSettings, flex ? [] : runtimeSettings, hostStorageSettings[hostingPlan])

var bridgeSettings = [
  {
    name: 'BRIDGE_RECORD_FORMAT'
    value: recordFormat
  }
  {
    name: 'BRIDGE_TSI_KEYS'
    value: tsiKeys
  }
  {
    name: 'BRIDGE_NUMBERS'
    value: numbers
  }
  {
    name: 'BRIDGE_EVENT_TYPES'
    value: eventTypes
  }
  {
    name: 'BRIDGE_MAX_REQUEST_BYTES'
    value: string(maxRequestBytes)
  }
  {
    name: 'BRIDGE_WORKERS'
    value: string(workers)
  }
  {
    name: 'BRIDGE_DEADLETTER_EVENTHUB_NAME'
    value: deadLetterHubName
  }
  {
    name: 'BRIDGE_DEADLETTER_ATTEMPTS'
    value: '5'
  }
  {
    name: 'BRIDGE_PACKING'
    value: 'array'
  }
  {
    name: 'BRIDGE_PACKED_EVENT_BYTES'
    value: '65536'
  }
  {
    name: 'TsiEventHubConnection__fullyQualifiedNamespace'
    value: eventHubsFullyQualifiedNamespace
  }
  {
    name: 'TSI_EVENTHUB_NAME'
    value: recordsHubName
  }
  {
    name: 'TwinsEventHubConnection__fullyQualifiedNamespace'
    value: eventHubsFullyQualifiedNamespace
  }
  {
    name: 'TWINS_EVENTHUB_NAME'
    value: twinsHubName
  }
  {
    name: 'TWINS_EVENTHUB_CONSUMER_GROUP'
    value: twinsConsumerGroup
  }
  {
    name: 'SIMULATOR_MODE'
    value: simulatorMode
  }
  {
    name: 'SIMULATOR_SCHEDULE'
    value: simulatorSchedule
  }
  {
    name: 'SIMULATOR_SEED'
    value: simulatorSeed
  }
  {
    name: 'ADT_INSTANCE_URL'
    value: 'https://${adtHostName}'
  }
]

// The Service Bus trigger's names are set even when Service Bus is off: the host resolves a
// trigger's %SETTING% names when it indexes the function, switched off or not. Its connection is
// set only when there is a namespace to reach.
var serviceBusConnection = enableServiceBus ? [
  {
    name: 'TwinsServiceBusConnection__fullyQualifiedNamespace'
    value: serviceBusFullyQualifiedNamespace
  }
] : []

var serviceBusSettings = concat([
  {
    name: 'TWINS_SERVICEBUS_TOPIC_NAME'
    value: serviceBusTopicName
  }
  {
    name: 'TWINS_SERVICEBUS_SUBSCRIPTION_NAME'
    value: serviceBusSubscriptionName
  }
  {
    name: 'BRIDGE_SERVICEBUS_HOLD'
    value: string(serviceBusHoldSeconds)
  }
], serviceBusConnection)

// Functions with nothing to do are switched off, so their triggers neither run nor bill: the
// simulator's timer with SIMULATOR_MODE=off (it would fire every 5 s for nothing), the Service Bus
// trigger without Service Bus.
var functionSwitches = [
  {
    name: 'AzureWebJobs.FactorySimulator.Disabled'
    value: simulatorMode == 'off' ? 'true' : 'false'
  }
  {
    name: 'AzureWebJobs.TwinUpdatesServiceBus.Disabled'
    value: enableServiceBus ? 'false' : 'true'
  }
]

resource site 'Microsoft.Web/sites@2023-12-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    reserved: true
    httpsOnly: true
    clientAffinityEnabled: false
    functionAppConfig: flex ? flexConfig : null
    siteConfig: {
      // A custom handler brings its own executable: no language stack image is named. Flex
      // Consumption takes no linuxFxVersion at all.
      linuxFxVersion: flex ? null : ''
      ftpsState: 'Disabled'
      minTlsVersion: '1.2'
      appSettings: concat(platformSettings, bridgeSettings, serviceBusSettings, functionSwitches)
    }
  }
}

output name string = site.name
output id string = site.id
output principalId string = site.identity.principalId
output defaultHostName string = site.properties.defaultHostName
