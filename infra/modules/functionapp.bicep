// The Linux Function App that runs the Rust custom handler, and its plan.
//
// Every setting the handler reads (src/config/names.rs) and every %SETTING% the function.json
// files name is set in appSettings below; scripts/check-infra.py checks that against the code.
// Connections use the identity form (`<Connection>__fullyQualifiedNamespace`): the app's
// system-assigned identity gets its roles in resources.bicep. The optional alternatives
// (`__clientId` for a user-assigned identity, `__secondary` for a second connection string)
// are left out on purpose.

param name string
param planName string
param location string
param tags object

@allowed([
  'EP1'
  'Y1'
])
param hostingPlan string

param storageAccountName string
param appInsightsConnectionString string

param eventHubsFullyQualifiedNamespace string
param twinsHubName string
param twinsConsumerGroup string
param recordsHubName string
param deadLetterHubName string
param adtHostName string

param recordFormat string
param tsiKeys string
param numbers string
param eventTypes string
param maxRequestBytes int
param simulatorMode string
param simulatorSchedule string
param simulatorSeed string
param rustLog string

var elasticPremium = hostingPlan == 'EP1'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

var storageConnectionString = 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}'

var elasticPremiumSku = {
  name: 'EP1'
  tier: 'ElasticPremium'
}

var consumptionSku = {
  name: 'Y1'
  tier: 'Dynamic'
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: planName
  location: location
  tags: tags
  kind: elasticPremium ? 'elastic' : 'functionapp'
  sku: elasticPremium ? elasticPremiumSku : consumptionSku
  properties: {
    reserved: true
    maximumElasticWorkerCount: elasticPremium ? 20 : null
  }
}

var platformSettings = [
  {
    name: 'FUNCTIONS_EXTENSION_VERSION'
    value: '~4'
  }
  {
    name: 'FUNCTIONS_WORKER_RUNTIME'
    value: 'custom'
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: appInsightsConnectionString
  }
  {
    name: 'RUST_LOG'
    value: rustLog
  }
]

// Elastic Premium: the host reaches its storage with the app's identity (roles in
// storage-roles.bicep); the content share is Azure Files, which only takes a key; the package
// azd or `func ... publish` uploads is mounted read-only with its file modes. Linux Consumption:
// zip deployment uploads the package with the AzureWebJobsStorage key and sets
// WEBSITE_RUN_FROM_PACKAGE to its URL itself, so the key form is used and the setting is not.
var elasticPremiumStorageSettings = [
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

var consumptionStorageSettings = [
  {
    name: 'AzureWebJobsStorage'
    value: storageConnectionString
  }
]

var hostStorageSettings = elasticPremium ? elasticPremiumStorageSettings : consumptionStorageSettings

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
    siteConfig: {
      // A custom handler brings its own executable: no language stack image is named.
      linuxFxVersion: ''
      ftpsState: 'Disabled'
      minTlsVersion: '1.2'
      appSettings: concat(platformSettings, hostStorageSettings, bridgeSettings)
    }
  }
}

output name string = site.name
output id string = site.id
output principalId string = site.identity.principalId
output defaultHostName string = site.properties.defaultHostName
