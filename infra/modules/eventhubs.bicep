// The Event Hubs namespace and its three hubs, each with the consumer group of its reader:
//   twins      ADT -> bridge             (consumer group: the bridge's trigger)
//   records    bridge -> time-series     (consumer group: Data Explorer / Eventhouse / TSI)
//   deadletter bridge -> whoever inspects unusable input

param name string
param location string
param tags object
param partitionCount int
param retentionDays int
param disableLocalAuth bool
param twinsHubName string
param recordsHubName string
param deadLetterHubName string
param bridgeConsumerGroup string
param adxConsumerGroup string
param deadLetterConsumerGroup string

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: 1
  }
  properties: {
    minimumTlsVersion: '1.2'
    disableLocalAuth: disableLocalAuth
    isAutoInflateEnabled: false
  }
}

resource twins 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: twinsHubName
  properties: {
    partitionCount: partitionCount
    messageRetentionInDays: retentionDays
  }
}

resource twinsBridge 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: twins
  name: bridgeConsumerGroup
  properties: {
    userMetadata: 'Read by the bridge Function App (TWINS_EVENTHUB_CONSUMER_GROUP).'
  }
}

resource records 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: recordsHubName
  properties: {
    partitionCount: partitionCount
    messageRetentionInDays: retentionDays
  }
}

resource recordsAdx 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: records
  name: adxConsumerGroup
  properties: {
    userMetadata: 'Read by the time-series store (Data Explorer, Eventhouse or TSI).'
  }
}

resource deadLetter 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: deadLetterHubName
  properties: {
    partitionCount: 1
    messageRetentionInDays: retentionDays
  }
}

resource deadLetterInspect 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: deadLetter
  name: deadLetterConsumerGroup
  properties: {
    userMetadata: 'For whoever inspects unusable input.'
  }
}

output namespaceName string = namespace.name
output namespaceId string = namespace.id
// serviceBusEndpoint is https://<name>.<suffix>:443/ ; the SDKs and the Functions host want the bare host name.
output fullyQualifiedNamespace string = replace(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':443/', '')
output twinsHubName string = twins.name
output recordsHubName string = records.name
output deadLetterHubName string = deadLetter.name
